// Entropic OT by log-domain Sinkhorn (science.md §3): min <pi, C> + eps KL(pi | a (x) b),
// f_i = -eps log sum_j b_j exp((g_j - C_ij)/eps), g_j = -eps log sum_i a_i exp((f_i - C_ij)/eps),
// pi_ij = a_i b_j exp((f_i + g_j - C_ij)/eps). Online (O(N + M) memory) through the kernel engine,
// eps-scaling, warm start, stops on the L1 marginal error. Also the barycentric map and the
// debiased Sinkhorn divergence S_eps(a, b) = OT_eps(a, b) - OT_eps(a, a)/2 - OT_eps(b, b)/2.
#pragma once
#include <functional>
#include <vector>

#include "ot/ot_result.h"

namespace tl {

// Arithmetic of the O(N M) log-sum-exp passes. Potentials, residuals and every reported value are
// double in all modes; the float kernel is about twice as fast per pair. Auto runs the float
// kernel where an estimate of its floor (2^-24 (diam^2 / (4 eps) + 1), a few times the L1 marginal
// error at which float iterations stop improving) is below what is asked (the tolerance at the
// target eps, 1e-3 during eps-scaling), double elsewhere; it switches to double when the float
// iterations stall, and a float claim of convergence is always re-checked with a double pass, so
// status Converged means a double-precision marginal error below the tolerance. Float uses the
// float kernel whatever the estimate says (with the same hand-over to double); Double never uses it.
enum class SinkhornPrecision { Auto, Double, Float };

struct SinkhornOptions {
    double epsilon = 0.01;         // absolute, in units of the squared-distance cost
    double tolerance = 1e-6;       // stop when the L1 marginal error is below this
    int maxIterations = 100000;    // one iteration = one f update + one g update
    bool epsilonScaling = true;    // start at eps ~ max cost and shrink by scalingFactor
    double scalingFactor = 0.5;
    int threads = 0;               // 0 = all cores
    bool computePlan = false;      // fill OtResult::plan with entries pi_ij >= planThreshold * a_i
    double planThreshold = 1e-8;
    std::size_t maxPlanEntries = 20'000'000;
    bool computeBarycentricMap = false;  // fill barycentricMap (n * dim)
    std::vector<double> initialF, initialG;  // warm start (both sizes must match; disables scaling)
    // Warm start of the symmetric terms OT_eps(a, a), OT_eps(b, b) of sinkhornDivergence (and of
    // symmetricEntropicOt: initialSymmetricX); empty = cold start, else the size must match.
    std::vector<double> initialSymmetricX, initialSymmetricY;
    SinkhornPrecision precision = SinkhornPrecision::Auto;
    // Called once per iteration with (iteration, marginal error); return false to cancel.
    std::function<bool(int, double)> progress;
};

struct SinkhornResult : OtResult {
    // T(x_i) = sum_j pi_ij y_j / sum_j pi_ij (the conditional mean; = sum_j pi_ij y_j / a_i at convergence).
    std::vector<double> barycentricMap;
    int floatIterations = 0;  // iterations (of `iterations`) run with the float kernel
};

// The debiased divergence with its three solves, and their potentials for a warm start.
struct SinkhornDivergenceResult {
    double divergence = 0;                // S_eps = otXY - otXX / 2 - otYY / 2
    double otXY = 0, otXX = 0, otYY = 0;  // OT_eps(a, b), OT_eps(a, a), OT_eps(b, b) (dual values)
    int iterationsXY = 0, iterationsXX = 0, iterationsYY = 0;
    int floatIterations = 0;              // of all three solves
    double marginalError = 0;             // max of the three solves' L1 marginal errors
    OtStatus status = OtStatus::Converged;  // Converged, or MaxIterations if a solve hit the cap
    // Pass back as initialF, initialG, initialSymmetricX, initialSymmetricY to warm-start the next
    // call (e.g. the next frame against the same target: same sizes, nearby points).
    std::vector<double> f, g, symmetricX, symmetricY;
    int iterations() const { return iterationsXY + iterationsXX + iterationsYY; }
};

SinkhornResult sinkhorn(const PointCloud& x, const PointCloud& y, const SinkhornOptions& opt = {});

// OT_eps(a, a) by the symmetric fixed point f <- (f + T_eps f)/2; returns sum 2 a_i f_i.
// opt.initialSymmetricX (if not empty) is the starting f (then no eps-scaling); `potential`
// (optional) receives the final f and `iterations` (optional) the iteration count.
double symmetricEntropicOt(const PointCloud& x, const SinkhornOptions& opt, std::vector<double>* potential = nullptr,
                           int* iterations = nullptr, int* floatIterations = nullptr);

// Debiased Sinkhorn divergence (>= 0, = 0 iff the measures agree), eps as in opt. A solve that hits
// the iteration cap still gives an estimate; a cancel (opt.progress) or a blow-up throws tl::Error.
double sinkhornDivergence(const PointCloud& x, const PointCloud& y, const SinkhornOptions& opt = {});
// The same with the three solves' potentials and counts. Warm start: opt.initialF / initialG
// (the (a, b) solve) and opt.initialSymmetricX / initialSymmetricY (the symmetric ones), each
// optional, e.g. the previous frame's result.f, .g, .symmetricX, .symmetricY.
SinkhornDivergenceResult solveSinkhornDivergence(const PointCloud& x, const PointCloud& y, const SinkhornOptions& opt = {});

}  // namespace tl
