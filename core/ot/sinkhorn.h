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
    // Called once per iteration with (iteration, marginal error); return false to cancel.
    std::function<bool(int, double)> progress;
};

struct SinkhornResult : OtResult {
    // T(x_i) = sum_j pi_ij y_j / sum_j pi_ij (the conditional mean; = sum_j pi_ij y_j / a_i at convergence).
    std::vector<double> barycentricMap;
};

SinkhornResult sinkhorn(const PointCloud& x, const PointCloud& y, const SinkhornOptions& opt = {});

// OT_eps(a, a) by the symmetric fixed point f <- (f + T_eps f)/2; returns sum 2 a_i f_i.
double symmetricEntropicOt(const PointCloud& x, const SinkhornOptions& opt);

// Debiased Sinkhorn divergence (>= 0, = 0 iff the measures agree), eps as in opt. A solve that hits
// the iteration cap still gives an estimate; a cancel (opt.progress) or a blow-up throws tl::Error.
double sinkhornDivergence(const PointCloud& x, const PointCloud& y, const SinkhornOptions& opt = {});

}  // namespace tl
