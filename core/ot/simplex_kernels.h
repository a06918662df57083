// The network simplex's pricing kernels (network_simplex.cpp), SIMD through Highway's dynamic
// dispatch like the kernel engine (util/simd.h: TL_SIMD caps the target).
//
// Exact costs: c_ij = round(|x_i - y_j|^2) of scaled points, evaluated as d_0 = x_0 - y_0, s = d_0 d_0,
// s = s + d_k d_k (k = 1 .. D-1), then (s + 2^52) - 2^52, every operation separately rounded (no
// FMA; this file and network_simplex.cpp are compiled with -ffp-contract=off): the same value in
// every lane width and in the scalar sqCost, so exact pricing is bit-identical on every target.
//
// Approximate reduced costs: t_ij = W_{n+j} + sum_k (2 x^_ik) y^_jk, a chain of D multiply-adds.
// On targets with FMA (AVX2, AVX3) and in the scalar tail (std::fma) each is one rounding; on SSE4,
// SSSE3 and EMU128 Highway's MulAdd rounds twice. The simplex's error bound covers both, and every
// optimum is certified by exact pricing, so the certified optimum is the same on every target.
#pragma once
#include <cstddef>

namespace tl::simplex_kernels {

constexpr double kRound = 0x1p52;  // (x + 2^52) - 2^52 rounds 0 <= x < 2^51 to the nearest integer
constexpr int kTileRows = 4;       // rows of one approximate-pricing tile (share every load of y^, W)

// Scalar exact cost of source row xi (D coordinates) and target j of ys (D x m, one row per coordinate).
template <int D>
inline double sqCost(const double* xi, const double* ys, std::size_t m, std::size_t j) {
    double d = xi[0] - ys[j];
    double s = d * d;
    for (int k = 1; k < D; ++k) {
        d = xi[k] - ys[k * m + j];
        s = s + d * d;
    }
    return (s + kRound) - kRound;
}

// Scalar approximate t_ij: wt = pi of the targets, st = their signed squared norms.
template <int D>
double approxT(const double* a, const double* yh, std::size_t m, const double* wt, const double* st, std::size_t j);

// min_j (row[j] - p[j]) over [j0, j1) of a dense cost row; when it is < thr, *arg = the first j attaining it.
double minReducedDense(const double* row, const double* p, std::size_t j0, std::size_t j1, double thr, std::size_t* arg);

// The same for the point cost of dimension D (1..3) and source row xi.
double minReducedPoints(int D, const double* xi, const double* ys, std::size_t m, const double* p, std::size_t j0, std::size_t j1,
                        double thr, std::size_t* arg);
// out[j] = c_ij for j < m.
void costRow(int D, const double* xi, const double* ys, std::size_t m, double* out);
// out[r] = max_j t_{r, j} over [j0, j1) for the kTileRows rows whose 2 x^ start at a (row-major, D each).
void maxTile(int D, const double* a, const double* yh, std::size_t m, const double* wt, const double* st, std::size_t j0,
             std::size_t j1, double* out);
// The first j in [j0, j1) with t_j == target for the row whose 2 x^ is a (target came from maxTile
// over the same range, so it is found).
std::size_t argT(int D, const double* a, const double* yh, std::size_t m, const double* wt, const double* st, std::size_t j0,
                 std::size_t j1, double target);

}  // namespace tl::simplex_kernels
