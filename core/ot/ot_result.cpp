#include "ot/ot_result.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.h"

namespace tl {

const char* methodName(OtMethod m) {
    switch (m) {
        case OtMethod::Exact: return "exact";
        case OtMethod::Sinkhorn: return "sinkhorn";
        case OtMethod::Gaussian: return "gaussian";
    }
    return "?";
}

const char* statusName(OtStatus s) {
    switch (s) {
        case OtStatus::Optimal: return "optimal";
        case OtStatus::Converged: return "converged";
        case OtStatus::MaxIterations: return "max_iterations";
        case OtStatus::Cancelled: return "cancelled";
        case OtStatus::Infeasible: return "infeasible";
        case OtStatus::NumericalError: return "numerical_error";
    }
    return "?";
}

OtMethod parseOtMethod(const std::string& s) {
    if (s == "exact") return OtMethod::Exact;
    if (s == "sinkhorn") return OtMethod::Sinkhorn;
    if (s == "gaussian") return OtMethod::Gaussian;
    throw Error("unknown OT method '" + s + "' (expected exact, sinkhorn or gaussian)");
}

void checkTransportPair(const PointCloud& source, const PointCloud& target) {
    source.validate("source");
    target.validate("target");
    if (source.dim != target.dim)
        throw Error("dimension mismatch: source is " + std::to_string(source.dim) + "-D, target is " + std::to_string(target.dim) + "-D");
}

double jointSquaredDiameter(const PointCloud& x, const PointCloud& y) {
    double s = 0;
    for (int k = 0; k < x.dim; ++k) {
        double lo = std::numeric_limits<double>::max(), hi = -lo;
        for (std::size_t i = 0; i < x.size(); ++i) lo = std::min(lo, x.point(i)[k]), hi = std::max(hi, x.point(i)[k]);
        for (std::size_t j = 0; j < y.size(); ++j) lo = std::min(lo, y.point(j)[k]), hi = std::max(hi, y.point(j)[k]);
        s += (hi - lo) * (hi - lo);
    }
    return s;
}

double sqDist(const PointCloud& x, std::size_t i, const PointCloud& y, std::size_t j) {
    double c = 0;
    for (int k = 0; k < x.dim; ++k) {
        const double d = x.point(i)[k] - y.point(j)[k];
        c += d * d;
    }
    return c;
}

double planCost(const std::vector<PlanEntry>& plan, const PointCloud& x, const PointCloud& y) {
    long double c = 0;
    for (const auto& e : plan) c += static_cast<long double>(e.mass) * sqDist(x, e.i, y, e.j);
    return static_cast<double>(c);
}

double planMarginalError(const std::vector<PlanEntry>& plan, const PointCloud& x, const PointCloud& y) {
    std::vector<long double> r(x.size(), 0.0L), c(y.size(), 0.0L);
    for (const auto& e : plan) {
        r[e.i] += e.mass;
        c[e.j] += e.mass;
    }
    long double er = 0, ec = 0;
    for (std::size_t i = 0; i < r.size(); ++i) er += std::fabs(r[i] - x.weights[i]);
    for (std::size_t j = 0; j < c.size(); ++j) ec += std::fabs(c[j] - y.weights[j]);
    return static_cast<double>(std::max(er, ec));
}

}  // namespace tl
