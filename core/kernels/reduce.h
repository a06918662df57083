// The kernel-reduction engine (architecture.md, "the hot path"): for every i, an online
// log-sum-exp over j of s_ij = h_j - scale * |x_i - y_j|^2, and the softmax-weighted sum
// sum_j softmax_j(s_i.) v_j. Sinkhorn (science.md §3), the closed-form flow-matching field and
// the Tweedie score (§2) are all this computation. Fused, O(N + M) memory, SIMD via Highway with
// dynamic dispatch, parallel over i; a scalar reference lives beside it (reference::).
#pragma once
#include <cstddef>
#include <string>

namespace tl::kernels {

template <class T>
struct PairSet {
    int dim = 2;              // 1..3
    const T* x = nullptr;     // n * dim, row-major
    std::size_t n = 0;
    const T* y = nullptr;     // m * dim, row-major
    std::size_t m = 0;
    const T* h = nullptr;     // m offsets h_j (nullptr = all 0; -inf = excluded)
    T scale = 1;              // s_ij = h_j - scale * |x_i - y_j|^2
};

// out[i] = log sum_j exp(s_ij)  (-inf when every h_j is -inf).
void logSumExp(const PairSet<double>& p, double* out, int threads = 0);
void logSumExp(const PairSet<float>& p, float* out, int threads = 0);

// out[i*vdim + k] = sum_j exp(s_ij - lse_i) * values[j*vdim + k], vdim in 1..4;
// lse (optional, may be nullptr) receives lse_i as logSumExp would.
void softmaxWeightedSum(const PairSet<double>& p, const double* values, int vdim, double* out, double* lse, int threads = 0);
void softmaxWeightedSum(const PairSet<float>& p, const float* values, int vdim, float* out, float* lse, int threads = 0);

// The SIMD target these kernels run on now, lower case ("avx3", "avx2", "sse4", "emu128"; util/simd.h).
std::string simdTargetName();

namespace reference {
// Plain scalar two-pass implementations (exact max, then sum), single-threaded.
void logSumExp(const PairSet<double>& p, double* out);
void logSumExp(const PairSet<float>& p, float* out);
void softmaxWeightedSum(const PairSet<double>& p, const double* values, int vdim, double* out, double* lse);
void softmaxWeightedSum(const PairSet<float>& p, const float* values, int vdim, float* out, float* lse);
}  // namespace reference

}  // namespace tl::kernels
