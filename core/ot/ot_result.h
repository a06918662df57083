// The one result type of every OT solver (science.md §3, survey §4, Kantorovich problem (10)):
// a sparse plan and/or dual potentials, the transport cost <pi, C> with C_ij = |x_i - y_j|^2,
// the L1 marginal error, iterations, status and timing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "measure/point_cloud.h"

namespace tl {

enum class OtMethod { Exact, Sinkhorn, Gaussian };
enum class OtStatus { Optimal, Converged, MaxIterations, Cancelled, Infeasible, NumericalError };

const char* methodName(OtMethod m);
const char* statusName(OtStatus s);
// Parses "exact" | "sinkhorn" | "gaussian"; throws tl::Error otherwise.
OtMethod parseOtMethod(const std::string& s);

struct PlanEntry {
    std::uint32_t i, j;
    double mass;  // pi_ij
};

struct OtResult {
    OtMethod method = OtMethod::Exact;
    OtStatus status = OtStatus::Optimal;
    std::string message;           // filled when status is not Optimal/Converged
    double cost = 0;               // sum pi_ij |x_i - y_j|^2 (gaussian: Bures W2^2)
    double marginalError = 0;      // max(|pi 1 - a|_1, |pi^T 1 - b|_1)
    int iterations = 0;
    double seconds = 0;            // solver time, no I/O
    double epsilon = 0;            // Sinkhorn only
    double dualObjective = 0;      // sum a f + sum b g (exact: = cost; Sinkhorn: OT_eps)
    std::vector<PlanEntry> plan;   // sparse plan (may be empty if not requested)
    std::vector<double> f, g;      // dual potentials (empty for gaussian)

    bool ok() const { return status == OtStatus::Optimal || status == OtStatus::Converged; }
};

// sum_k mass_k |x_i - y_j|^2 over the entries of a sparse plan.
double planCost(const std::vector<PlanEntry>& plan, const PointCloud& x, const PointCloud& y);
// max of the L1 row and column residuals of a sparse plan against the weights.
double planMarginalError(const std::vector<PlanEntry>& plan, const PointCloud& x, const PointCloud& y);
// Validates both measures ("source", "target") and that their dimensions agree; throws tl::Error.
void checkTransportPair(const PointCloud& source, const PointCloud& target);
// Squared diameter of the joint bounding box: an upper bound of every C_ij = |x_i - y_j|^2.
double jointSquaredDiameter(const PointCloud& x, const PointCloud& y);
// |x_i - y_j|^2.
double sqDist(const PointCloud& x, std::size_t i, const PointCloud& y, std::size_t j);

}  // namespace tl
