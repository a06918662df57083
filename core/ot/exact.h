// Exact optimal transport (science.md §3, Kantorovich (10), squared Euclidean cost, no 1/2):
// network simplex on the bipartite transportation LP (LEMON), any N != M and any weights; in 1-D
// the monotone rearrangement (Brenier: sort both clouds, north-west corner on the sorted orders).
#pragma once
#include "ot/ot_result.h"

namespace tl {

struct ExactOptions {
    int threads = 0;                      // cost-matrix construction
    bool allowSorting1d = true;           // use the O(N log N) monotone plan when dim == 1
    std::size_t maxPairs = 25'000'000;    // N * M above this is refused (memory ~50 B per pair)
};

// Solves min <pi, C> exactly. Fills plan, cost, marginalError, f and g (duals, f_i + g_j <= C_ij).
OtResult solveExact(const PointCloud& x, const PointCloud& y, const ExactOptions& opt = {});
// The 1-D monotone rearrangement (x.dim == y.dim == 1), with duals from the staircase basis.
OtResult solveSorted1d(const PointCloud& x, const PointCloud& y);
// Network simplex regardless of dimension and weights.
OtResult solveNetworkSimplex(const PointCloud& x, const PointCloud& y, const ExactOptions& opt = {});

}  // namespace tl
