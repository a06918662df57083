// Self-attention between tokens as a kernel reduction (science.md §6, survey §7, (26)-(29)): the averages
// sum_j P_ij x_j with P_ij = exp(<x_i, A x_j>) / sum_k exp(<x_i, A x_k>) (A = Q^T K), or with the
// Sinkformer's doubly stochastic normalisation of the same kernel. <x, A y> goes through the engine's
// squared-distance kernel: <u, y> = -|u - y|^2/2 + |u|^2/2 + |y|^2/2 with u = A^T x (the |u|^2 term
// cancels in a row softmax), so memory stays O(N) and the SIMD engine does the work.
#pragma once
#include <Eigen/Dense>
#include <vector>

namespace tl::tokens {

struct AttentionResult {
    Eigen::MatrixXd average;  // n x d: row i = sum_j P_ij x_j
    std::vector<double> f, g; // log scalings: P_ij = exp(<x_i, A x_j> + f_i + g_j)
};

// sum_j P_ij x_j with the row-softmax P_ij of (26)–(27) (science.md §6); times V, row i is the token velocity
// of (28), the field v[mu](x_i) of (29) for the empirical token measure mu.
// X: n x d tokens (d = 1..3), A: d x d. sinkhornIterations = 0: row softmax; k > 0: k rounds of
// (row, column) log-domain normalisation followed by a last row normalisation (rows sum to 1 exactly,
// columns to the Sinkhorn tolerance reached).
// singlePrecision: the pair sums in float (the engine's float kernel, ~2x faster), scalings f, g and
// the averages returned in double; relative error ~1e-6 for tokens of moderate norm.
AttentionResult attention(const Eigen::MatrixXd& X, const Eigen::MatrixXd& A, int sinkhornIterations, int threads,
                          bool singlePrecision = false);

namespace reference {
// The dense n x n matrix P (scalar, for tests).
Eigen::MatrixXd attentionMatrix(const Eigen::MatrixXd& X, const Eigen::MatrixXd& A, int sinkhornIterations);
}  // namespace reference

}  // namespace tl::tokens
