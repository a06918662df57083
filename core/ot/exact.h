// Exact optimal transport (science.md §3, Kantorovich (10), squared Euclidean cost, no 1/2):
// network simplex on the implicit complete bipartite transportation LP (ot/network_simplex.h),
// any N != M and any weights; in 1-D the monotone rearrangement (Brenier: sort both clouds,
// north-west corner on the sorted orders).
#pragma once
#include <stop_token>

#include "ot/ot_result.h"

namespace tl {

struct ExactOptions {
    int threads = 0;                      // unused: the simplex is sequential, costs computed on the fly
    bool allowSorting1d = true;           // use the O(N log N) monotone plan when dim == 1
    std::size_t maxPairs = 25'000'000;    // N * M above this is refused (time; memory is O(N + M))
    std::stop_token stop{};               // polled during the simplex; a stop gives status Cancelled
};

// Solves min <pi, C> exactly. Fills plan, cost, marginalError, f and g (duals, f_i + g_j <= C_ij,
// equality on the plan's support) and iterations (simplex pivots; 1 for the sorted 1-D plan).
// A stop requested on opt.stop ends the simplex early with status Cancelled and no plan.
OtResult solveExact(const PointCloud& x, const PointCloud& y, const ExactOptions& opt = {});
// The 1-D monotone rearrangement (x.dim == y.dim == 1), with duals from the staircase basis.
OtResult solveSorted1d(const PointCloud& x, const PointCloud& y);
// Network simplex regardless of dimension and weights.
OtResult solveNetworkSimplex(const PointCloud& x, const PointCloud& y, const ExactOptions& opt = {});

}  // namespace tl
