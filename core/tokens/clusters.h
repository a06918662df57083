// Token statistics for the clustering view (science.md §6): clusters as connected components of the
// graph linking tokens closer than a tolerance (grid hashing, near-linear), the minimum pairwise
// cosine on the sphere, and the interaction energy E_beta = (1/(2 beta n^2)) sum_ij exp(beta <x_i, x_j>).
#pragma once
#include <cstddef>
#include <vector>

namespace tl::tokens {

// Connected components of {|x_i - x_j| < tolerance}; x row-major n x dim (dim 1..3). labels (optional)
// receives a component index per token, components numbered by first appearance.
int countClusters(const double* x, std::size_t n, int dim, double tolerance, std::vector<int>* labels = nullptr);

// min over i < j of <x_i, x_j> / (|x_i| |x_j|) (1 when n < 2). Parallel over i.
double minCosine(const double* x, std::size_t n, int dim, int threads);

// (1/(2 beta n^2)) sum_ij exp(beta <x_i, x_j>), through the kernel engine (log-sum-exp); beta > 0.
double attentionEnergy(const double* x, std::size_t n, int dim, double beta, int threads);

}  // namespace tl::tokens
