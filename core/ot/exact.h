// Exact optimal transport (science.md §3, Kantorovich (10), squared Euclidean cost, no 1/2):
// network simplex on the implicit complete bipartite transportation LP (ot/network_simplex.h),
// any N != M and any weights; in 1-D the monotone rearrangement (Brenier, Thm 4.1: sort both clouds,
// north-west corner on the sorted orders).
#pragma once
#include <functional>
#include <stop_token>
#include <string>

#include "ot/ot_result.h"

namespace tl {

struct ExactOptions {
    // Network simplex: threads for the initial basis and the long pricing scans near the end
    // (problems of at least 2^22 pairs; 0 = all cores). The pivots, plan and duals do not depend on it.
    int threads = 0;
    bool allowSorting1d = true;           // use the O(N log N) monotone plan when dim == 1
    // Network simplex: more points than this on either side is refused (the time, ~N^2.2, not
    // the memory, which is O(N + M), is the limit: ~2 s of CPU at 1e4 points, ~45 s at 4e4).
    std::size_t maxPoints = 40'000;
    // Polled inside the simplex (initial basis, pricing scans, pivots) at least every ~2^20 arcs
    // priced or tree nodes visited (well under 10 ms); a stop gives status Cancelled.
    std::stop_token stop{};
    // Network simplex: called from the calling thread about every 0.1 s with a fraction done (0..1, a
    // monotone estimate: the basis, then the pivots, then the exact-pricing certification) and what
    // it is doing, e.g. "exact OT: 41200 pivots (pivoting)".
    std::function<void(double fraction, const std::string& stage)> progress{};
    double progressInterval = 0.1;  // seconds between progress calls (0: at every poll; for tests)
};

// Solves Kantorovich (10) (science.md §3), min <pi, C>, exactly. Fills plan, cost, marginalError, f and g
// (duals, f_i + g_j <= C_ij, equality on the plan's support) and iterations (simplex pivots; 1 for the sorted 1-D plan).
// A stop requested on opt.stop ends the simplex early with status Cancelled and no plan.
OtResult solveExact(const PointCloud& x, const PointCloud& y, const ExactOptions& opt = {});
// The 1-D monotone rearrangement (x.dim == y.dim == 1), with duals from the staircase basis: the optimal
// plan of (10), and for equal uniform weights the Monge map (9) of Brenier's theorem (science.md §3, Thm 4.1).
OtResult solveSorted1d(const PointCloud& x, const PointCloud& y);
// Network simplex regardless of dimension and weights.
OtResult solveNetworkSimplex(const PointCloud& x, const PointCloud& y, const ExactOptions& opt = {});

}  // namespace tl
