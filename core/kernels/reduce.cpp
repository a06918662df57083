// SIMD implementation of the kernel-reduction engine (see reduce.h). One pass over j with a
// per-lane running reference M: e_ij = exp(s_ij - M) is accumulated, and M is raised (with a
// rescale of the accumulators) only when some s_ij exceeds M by more than a threshold, which
// after the first few columns almost never happens. One exp per pair, no N x M storage.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/reduce.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include <cctype>
#include <cmath>
#include <limits>

#include "kernels/prepared.h"

HWY_BEFORE_NAMESPACE();
namespace tl::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using detail::Prepared;

template <class T>
constexpr T kSlack = sizeof(T) == 4 ? T(16) : T(64);  // e <= exp(kSlack): no overflow for any m
template <class T>
constexpr T kStartRef = sizeof(T) == 4 ? T(-1e37) : T(-1e300);


// exp for the reduction: x is clamped to [lo, hi] (lo: far below anything that matters next to
// the dominant term, which is >= 1). Range reduction x = (k/N) ln 2 + r with a table of 2^(j/N)
// held in one register (N = lanes, capped), |r| <= ln2/(2N), then a Taylor polynomial whose
// degree is chosen for N so the truncation error stays below one ulp. No int32 demotion, no
// cross-lane conversions: about 20 simple ops per vector.
template <class T>
constexpr int ExpDegree(std::size_t N) {
    if constexpr (sizeof(T) == 8) return N >= 8 ? 8 : N >= 4 ? 10 : N >= 2 ? 11 : 13;
    return N >= 16 ? 3 : N >= 8 ? 4 : N >= 4 ? 5 : 7;
}

template <class D>
struct ExpConsts {
    using T = hn::TFromD<D>;
    static constexpr std::size_t kLanes = hn::MaxLanes(D());
    static constexpr std::size_t N = kLanes >= (sizeof(T) == 8 ? 8 : 16) ? (sizeof(T) == 8 ? 8 : 16) : kLanes;
    static constexpr int kLog2N = N >= 16 ? 4 : N >= 8 ? 3 : N >= 4 ? 2 : N >= 2 ? 1 : 0;
    static constexpr int kDeg = ExpDegree<T>(N);
    hn::Vec<D> table;
    T coef[kDeg + 1];  // 1/k!
    explicit ExpConsts(D d) {
        alignas(64) T t[kLanes];
        for (std::size_t j = 0; j < kLanes; ++j) t[j] = static_cast<T>(std::exp2(static_cast<double>(j % N) / N));
        table = hn::Load(d, t);
        double c = 1;
        for (int k = 0; k <= kDeg; ++k) {
            if (k > 1) c /= k;
            coef[k] = static_cast<T>(c);
        }
    }
};

template <class D>
HWY_INLINE hn::Vec<D> FastExp(D d, const ExpConsts<D>& K, hn::Vec<D> x) {
    using T = hn::TFromD<D>;
    using V = hn::Vec<D>;
    using C = ExpConsts<D>;
    const hn::RebindToSigned<D> di;
    using TI = hn::TFromD<decltype(di)>;
    constexpr int kMantissa = sizeof(T) == 8 ? 52 : 23;
    constexpr double kLn2 = 0.693147180559945309417232121458;
    constexpr double kLn2Hi = sizeof(T) == 8 ? 0.6931471805596629565116018 : 0.693145751953125;
    constexpr double kLn2Lo = kLn2 - kLn2Hi;
    // Callers guarantee x <= kSlack; below the clamp the result is ~0 (and no exponent wraps).
    x = hn::Max(x, hn::Set(d, T(sizeof(T) == 8 ? -700.0 : -87.0)));
    const V shifter = hn::Set(d, T(1.5 * (sizeof(T) == 8 ? 4503599627370496.0 : 8388608.0)));
    V kd = hn::MulAdd(x, hn::Set(d, T(C::N / kLn2)), shifter);
    const auto ki = hn::BitCast(di, kd);
    kd = hn::Sub(kd, shifter);
    V r = hn::NegMulAdd(kd, hn::Set(d, T(kLn2Hi / C::N)), x);
    r = hn::NegMulAdd(kd, hn::Set(d, T(kLn2Lo / C::N)), r);
    V p = hn::Set(d, K.coef[C::kDeg]);
    for (int k = C::kDeg - 1; k >= 0; --k) p = hn::MulAdd(p, r, hn::Set(d, K.coef[k]));
    if constexpr (C::N > 1) {
        const auto idx = hn::And(ki, hn::Set(di, static_cast<TI>(C::N - 1)));
        p = hn::Mul(p, hn::TableLookupLanes(K.table, hn::IndicesFromVec(d, idx)));
    }
    const auto e = hn::ShiftLeft<kMantissa - C::kLog2N>(hn::And(ki, hn::Set(di, static_cast<TI>(~(C::N - 1)))));
    return hn::BitCast(d, hn::Add(hn::BitCast(di, p), e));
}

template <class T, int D, int V, int R>
HWY_NOINLINE void Rows(const Prepared<T>& P, std::size_t i0, T* HWY_RESTRICT out, T* HWY_RESTRICT lse) {
    const hn::ScalableTag<T> d;
    using VT = hn::Vec<decltype(d)>;
    constexpr int VA = V > 0 ? V : 1;
    const std::size_t N = hn::Lanes(d);
    const VT vscale = hn::Set(d, P.scale);
    const VT vslack = hn::Set(d, kSlack<T>);
    const ExpConsts<hn::ScalableTag<T>> K(d);
    // Double: expanded form s_ij = h'_j + sum_k (2 scale (x_ik - c_k)) y'_jk + rowOff_i with
    // y' = y - c and h'_j = h_j - scale |y'_j|^2 precomputed (2 FMAs per pair in 2-D).
    // Float keeps the direct form h_j - scale |x_i - y_j|^2, which loses less to cancellation.
    constexpr bool kExpanded = sizeof(T) == 8;
    VT xs[R][D];
    VT M[R], Ms[R], S[R], A[R][VA];
    T rowOff[R];
    for (int r = 0; r < R; ++r) {
        const std::size_t i = std::min(i0 + r, P.n - 1);  // padded rows repeat the last one
        rowOff[r] = 0;
        for (int k = 0; k < D; ++k) {
            if constexpr (kExpanded) {
                const T xc = P.x[i * D + k] - P.center[k];
                xs[r][k] = hn::Set(d, 2 * P.scale * xc);
                rowOff[r] -= P.scale * xc * xc;
            } else {
                xs[r][k] = hn::Set(d, P.x[i * D + k]);
            }
        }
        M[r] = hn::Set(d, kStartRef<T>);
        Ms[r] = hn::Add(M[r], vslack);
        S[r] = hn::Zero(d);
        for (int k = 0; k < VA; ++k) A[r][k] = hn::Zero(d);
    }
    for (std::size_t j = 0; j < P.mPadded; j += N) {
        VT y[D];
        for (int k = 0; k < D; ++k) y[k] = hn::Load(d, P.ys[k] + j);
        const VT hv = hn::Load(d, P.h + j);
        VT v[VA];
        if constexpr (V > 0)
            for (int k = 0; k < V; ++k) v[k] = hn::Load(d, P.vs[k] + j);
        for (int r = 0; r < R; ++r) {
            VT s;
            if constexpr (kExpanded) {
                s = hn::MulAdd(xs[r][0], y[0], hv);
                if constexpr (D > 1) s = hn::MulAdd(xs[r][1], y[1], s);
                if constexpr (D > 2) s = hn::MulAdd(xs[r][2], y[2], s);
            } else {
                VT dd = hn::Sub(xs[r][0], y[0]);
                VT c = hn::Mul(dd, dd);
                if constexpr (D > 1) {
                    dd = hn::Sub(xs[r][1], y[1]);
                    c = hn::MulAdd(dd, dd, c);
                }
                if constexpr (D > 2) {
                    dd = hn::Sub(xs[r][2], y[2]);
                    c = hn::MulAdd(dd, dd, c);
                }
                s = hn::NegMulAdd(vscale, c, hv);
            }
            if (HWY_UNLIKELY(!hn::AllFalse(d, hn::Gt(s, Ms[r])))) {
                const VT newM = hn::Max(M[r], s);
                const VT f = FastExp(d, K, hn::Sub(M[r], newM));
                S[r] = hn::Mul(S[r], f);
                if constexpr (V > 0)
                    for (int k = 0; k < V; ++k) A[r][k] = hn::Mul(A[r][k], f);
                M[r] = newM;
                Ms[r] = hn::Add(newM, vslack);
            }
            const VT e = FastExp(d, K, hn::Sub(s, M[r]));
            S[r] = hn::Add(S[r], e);
            if constexpr (V > 0)
                for (int k = 0; k < V; ++k) A[r][k] = hn::MulAdd(e, v[k], A[r][k]);
        }
    }
    for (int r = 0; r < R; ++r) {
        const std::size_t i = i0 + r;
        if (i >= P.n) break;
        const VT mx = hn::MaxOfLanes(d, M[r]);
        // Lanes whose reference never moved saw only excluded (-inf) terms: they contribute 0
        // (the clamp in FastExp would otherwise count each as exp(-700)).
        const VT f = hn::IfThenElseZero(hn::Gt(M[r], hn::Set(d, kStartRef<T>)), FastExp(d, K, hn::Sub(M[r], mx)));
        const T sum = hn::GetLane(hn::SumOfLanes(d, hn::Mul(S[r], f)));
        if (lse) lse[i] = sum > 0 ? rowOff[r] + hn::GetLane(mx) + std::log(sum) : -std::numeric_limits<T>::infinity();
        if constexpr (V > 0)
            for (int k = 0; k < V; ++k)
                out[i * V + k] = sum > 0 ? hn::GetLane(hn::SumOfLanes(d, hn::Mul(A[r][k], f))) / sum : T(0);
    }
}

template <class T, int D, int V>
void RowsRange(const Prepared<T>& P, std::size_t b0, std::size_t b1, T* out, T* lse) {
    constexpr int R = V == 0 ? 4 : 2;  // register budget: R * (2 + V + D) vectors
    for (std::size_t i = b0 * detail::kRowBlock; i < b1 * detail::kRowBlock && i < P.n; i += R) Rows<T, D, V, R>(P, i, out, lse);
}

template <class T, int D>
void ByV(const Prepared<T>& P, std::size_t b0, std::size_t b1, T* out, T* lse) {
    switch (P.vdim) {
        case 0: return RowsRange<T, D, 0>(P, b0, b1, out, lse);
        case 1: return RowsRange<T, D, 1>(P, b0, b1, out, lse);
        case 2: return RowsRange<T, D, 2>(P, b0, b1, out, lse);
        case 3: return RowsRange<T, D, 3>(P, b0, b1, out, lse);
        default: return RowsRange<T, D, 4>(P, b0, b1, out, lse);
    }
}

template <class T>
void ByDim(const Prepared<T>& P, std::size_t b0, std::size_t b1, T* out, T* lse) {
    switch (P.dim) {
        case 1: return ByV<T, 1>(P, b0, b1, out, lse);
        case 2: return ByV<T, 2>(P, b0, b1, out, lse);
        default: return ByV<T, 3>(P, b0, b1, out, lse);
    }
}

void BlocksD(const Prepared<double>& P, std::size_t b0, std::size_t b1, double* out, double* lse) { ByDim(P, b0, b1, out, lse); }
void BlocksF(const Prepared<float>& P, std::size_t b0, std::size_t b1, float* out, float* lse) { ByDim(P, b0, b1, out, lse); }
const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace tl::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <hwy/aligned_allocator.h>

#include <string>

#include "kernels/reduce.h"
#include "util/error.h"
#include "util/parallel.h"
#include "util/simd.h"

namespace tl::kernels {

HWY_EXPORT(BlocksD);
HWY_EXPORT(BlocksF);
HWY_EXPORT(TargetName);

namespace {

template <class T>
void blocks(const detail::Prepared<T>& P, std::size_t b0, std::size_t b1, T* out, T* lse);
template <>
void blocks<double>(const detail::Prepared<double>& P, std::size_t b0, std::size_t b1, double* out, double* lse) {
    HWY_DYNAMIC_DISPATCH(BlocksD)(P, b0, b1, out, lse);
}
template <>
void blocks<float>(const detail::Prepared<float>& P, std::size_t b0, std::size_t b1, float* out, float* lse) {
    HWY_DYNAMIC_DISPATCH(BlocksF)(P, b0, b1, out, lse);
}

template <class T>
void run(const PairSet<T>& p, const T* values, int vdim, T* out, T* lse, int threads) {
    simd::configure();
    if (p.dim < 1 || p.dim > 3) throw Error("kernel reduction: dimension must be 1, 2 or 3");
    if (vdim < 0 || vdim > 4) throw Error("kernel reduction: value dimension must be 1 to 4");
    if (p.n == 0) return;
    if (p.m == 0) {
        for (std::size_t i = 0; i < p.n; ++i) {
            if (lse) lse[i] = -std::numeric_limits<T>::infinity();
            for (int k = 0; k < vdim; ++k) out[i * vdim + k] = 0;
        }
        return;
    }
    const std::size_t mp = (p.m + detail::kPadJ - 1) / detail::kPadJ * detail::kPadJ;
    const std::size_t planes = static_cast<std::size_t>(p.dim + 1 + vdim);
    auto buf = hwy::AllocateAligned<T>(planes * mp);
    detail::Prepared<T> P;
    P.dim = p.dim;
    P.vdim = vdim;
    P.n = p.n;
    P.mPadded = mp;
    P.x = p.x;
    P.scale = p.scale;
    T* plane = buf.get();
    const bool expanded = sizeof(T) == 8;  // see Rows()
    for (int k = 0; k < p.dim; ++k) {
        double c = 0;
        if (expanded)
            for (std::size_t j = 0; j < p.m; ++j) c += p.y[j * p.dim + k];
        P.center[k] = static_cast<T>(c / static_cast<double>(p.m));
    }
    for (int k = 0; k < p.dim; ++k, plane += mp) {
        for (std::size_t j = 0; j < p.m; ++j) plane[j] = p.y[j * p.dim + k] - P.center[k];
        for (std::size_t j = p.m; j < mp; ++j) plane[j] = 0;
        P.ys[k] = plane;
    }
    for (std::size_t j = 0; j < p.m; ++j) {
        plane[j] = p.h ? p.h[j] : T(0);
        if (expanded)
            for (int k = 0; k < p.dim; ++k) plane[j] -= p.scale * P.ys[k][j] * P.ys[k][j];
    }
    for (std::size_t j = p.m; j < mp; ++j) plane[j] = -std::numeric_limits<T>::infinity();
    P.h = plane;
    plane += mp;
    for (int k = 0; k < vdim; ++k, plane += mp) {
        for (std::size_t j = 0; j < p.m; ++j) plane[j] = values[j * vdim + k];
        for (std::size_t j = p.m; j < mp; ++j) plane[j] = 0;
        P.vs[k] = plane;
    }
    const std::size_t nBlocks = (p.n + detail::kRowBlock - 1) / detail::kRowBlock;
    // ~64k pairs per chunk keeps scheduling overhead small and balances the two cores.
    const std::size_t chunk = std::max<std::size_t>(1, (1u << 16) / (mp * detail::kRowBlock));
    parallelFor(nBlocks, chunk, threads, [&](std::size_t b0, std::size_t b1) { blocks<T>(P, b0, b1, out, lse); });
}

}  // namespace

void logSumExp(const PairSet<double>& p, double* out, int threads) { run<double>(p, nullptr, 0, nullptr, out, threads); }
void logSumExp(const PairSet<float>& p, float* out, int threads) { run<float>(p, nullptr, 0, nullptr, out, threads); }
void softmaxWeightedSum(const PairSet<double>& p, const double* values, int vdim, double* out, double* lse, int threads) {
    if (vdim < 1) throw Error("kernel reduction: value dimension must be 1 to 4");
    run<double>(p, values, vdim, out, lse, threads);
}
void softmaxWeightedSum(const PairSet<float>& p, const float* values, int vdim, float* out, float* lse, int threads) {
    if (vdim < 1) throw Error("kernel reduction: value dimension must be 1 to 4");
    run<float>(p, values, vdim, out, lse, threads);
}
std::string simdTargetName() {
    simd::configure();
    std::string s = HWY_DYNAMIC_DISPATCH(TargetName)();
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace tl::kernels
#endif
