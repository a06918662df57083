#include "tokens/attention_kernel.h"

#include <cmath>

#include "kernels/reduce.h"
#include "util/error.h"

namespace tl::tokens {


namespace {

// The passes in precision T (double or float): the same algebra, the engine's kernel of that type.
template <class T>
AttentionResult attentionT(const Eigen::MatrixXd& X, const Eigen::MatrixXd& A, int sinkhornIterations, int threads) {
    const auto n = static_cast<std::size_t>(X.rows());
    const int d = static_cast<int>(X.cols());
    const Eigen::MatrixXd U = X * A;              // row i: (A^T x_i)^T  (queries for the row pass)
    const Eigen::MatrixXd W = X * A.transpose();  // row j: (A x_j)^T  (queries for the column pass)
    auto rowsT = [&](const Eigen::MatrixXd& M) {
        std::vector<T> v(n * d);
        for (std::size_t i = 0; i < n; ++i)
            for (int k = 0; k < d; ++k) v[i * d + k] = static_cast<T>(M(static_cast<Eigen::Index>(i), k));
        return v;
    };
    const std::vector<T> x = rowsT(X), u = rowsT(U), w = rowsT(W);
    std::vector<double> half(n), uHalf(n), wHalf(n);
    for (std::size_t i = 0; i < n; ++i) {
        half[i] = 0.5 * X.row(static_cast<Eigen::Index>(i)).squaredNorm();
        uHalf[i] = 0.5 * U.row(static_cast<Eigen::Index>(i)).squaredNorm();
        wHalf[i] = 0.5 * W.row(static_cast<Eigen::Index>(i)).squaredNorm();
    }
    AttentionResult r;
    r.f.assign(n, 0.0);
    r.g.assign(n, 0.0);
    std::vector<T> h(n), lse(n);
    // engine: lse_i = log sum_j exp(h_j - |q_i - y_j|^2 / 2); with h_j = |y_j|^2/2 + offset_j this is
    // log sum_j exp(<q_i, y_j> + offset_j) - |q_i|^2 / 2.
    auto rowPass = [&] {  // f_i = -log sum_j exp(<x_i, A x_j> + g_j)
        for (std::size_t j = 0; j < n; ++j) h[j] = static_cast<T>(half[j] + r.g[j]);
        kernels::logSumExp(kernels::PairSet<T>{d, u.data(), n, x.data(), n, h.data(), T(0.5)}, lse.data(), threads);
        for (std::size_t i = 0; i < n; ++i) r.f[i] = -(static_cast<double>(lse[i]) + uHalf[i]);
    };
    auto colPass = [&] {  // g_j = -log sum_i exp(<x_i, A x_j> + f_i)
        for (std::size_t i = 0; i < n; ++i) h[i] = static_cast<T>(half[i] + r.f[i]);
        kernels::logSumExp(kernels::PairSet<T>{d, w.data(), n, x.data(), n, h.data(), T(0.5)}, lse.data(), threads);
        for (std::size_t j = 0; j < n; ++j) r.g[j] = -(static_cast<double>(lse[j]) + wHalf[j]);
    };
    for (int it = 0; it < sinkhornIterations; ++it) {
        rowPass();
        colPass();
    }
    // The averages: a row softmax with offsets g (rows sum to 1 exactly; f from its lse).
    for (std::size_t j = 0; j < n; ++j) h[j] = static_cast<T>(half[j] + r.g[j]);
    std::vector<T> out(n * d);
    kernels::softmaxWeightedSum(kernels::PairSet<T>{d, u.data(), n, x.data(), n, h.data(), T(0.5)}, x.data(), d, out.data(), lse.data(),
                                threads);
    for (std::size_t i = 0; i < n; ++i) r.f[i] = -(static_cast<double>(lse[i]) + uHalf[i]);
    r.average.resize(static_cast<Eigen::Index>(n), d);
    for (std::size_t i = 0; i < n; ++i)
        for (int k = 0; k < d; ++k) r.average(static_cast<Eigen::Index>(i), k) = out[i * d + k];
    return r;
}

}  // namespace

AttentionResult attention(const Eigen::MatrixXd& X, const Eigen::MatrixXd& A, int sinkhornIterations, int threads, bool singlePrecision) {
    const int d = static_cast<int>(X.cols());
    if (d < 1 || d > 3 || A.rows() != d || A.cols() != d) throw Error("attention: A must be d x d for d-dimensional tokens (d = 1..3)");
    return singlePrecision ? attentionT<float>(X, A, sinkhornIterations, threads) : attentionT<double>(X, A, sinkhornIterations, threads);
}

namespace reference {

Eigen::MatrixXd attentionMatrix(const Eigen::MatrixXd& X, const Eigen::MatrixXd& A, int sinkhornIterations) {
    const Eigen::MatrixXd S = X * A * X.transpose();  // S_ij = <x_i, A x_j>
    const Eigen::Index n = S.rows();
    Eigen::VectorXd f = Eigen::VectorXd::Zero(n), g = Eigen::VectorXd::Zero(n);
    auto lseRow = [&](Eigen::Index i, const Eigen::VectorXd& off) {
        double m = -INFINITY;
        for (Eigen::Index j = 0; j < n; ++j) m = std::max(m, S(i, j) + off[j]);
        double s = 0;
        for (Eigen::Index j = 0; j < n; ++j) s += std::exp(S(i, j) + off[j] - m);
        return m + std::log(s);
    };
    auto lseCol = [&](Eigen::Index j, const Eigen::VectorXd& off) {
        double m = -INFINITY;
        for (Eigen::Index i = 0; i < n; ++i) m = std::max(m, S(i, j) + off[i]);
        double s = 0;
        for (Eigen::Index i = 0; i < n; ++i) s += std::exp(S(i, j) + off[i] - m);
        return m + std::log(s);
    };
    for (int it = 0; it < sinkhornIterations; ++it) {
        for (Eigen::Index i = 0; i < n; ++i) f[i] = -lseRow(i, g);
        for (Eigen::Index j = 0; j < n; ++j) g[j] = -lseCol(j, f);
    }
    for (Eigen::Index i = 0; i < n; ++i) f[i] = -lseRow(i, g);
    Eigen::MatrixXd P(n, n);
    for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = 0; j < n; ++j) P(i, j) = std::exp(S(i, j) + f[i] + g[j]);
    return P;
}

}  // namespace reference

}  // namespace tl::tokens
