// Highway implementation of simplex_kernels.h: one source compiled per target (foreach_target),
// dispatched at run time. See the header for the rounding contract.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ot/simplex_kernels.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ot/simplex_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace tl::simplex_kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using D64 = hn::ScalableTag<double>;
using V64 = hn::Vec<D64>;

template <int D>
HWY_INLINE V64 Cost(D64 d, const double* xi, const double* ys, std::size_t m, std::size_t j) {
    V64 dd = hn::Sub(hn::Set(d, xi[0]), hn::LoadU(d, ys + j));
    V64 s = hn::Mul(dd, dd);
    for (int k = 1; k < D; ++k) {
        dd = hn::Sub(hn::Set(d, xi[k]), hn::LoadU(d, ys + k * m + j));
        s = hn::Add(s, hn::Mul(dd, dd));
    }
    const V64 M = hn::Set(d, kRound);
    return hn::Sub(hn::Add(s, M), M);
}

// min over [j0, j1) of f(j) - p[j] (vector g(j) for full vectors, scalar f for the tail), first
// position on ties when below thr.
template <class VecF, class ScalarF>
HWY_INLINE double MinReduced(const double* p, std::size_t j0, std::size_t j1, double thr, std::size_t* arg, VecF g, ScalarF f) {
    const D64 d;
    const std::size_t N = hn::Lanes(d);
    std::size_t j = j0;
    V64 a = hn::Set(d, std::numeric_limits<double>::infinity()), b = a;
    for (; j + 2 * N <= j1; j += 2 * N) {
        a = hn::Min(a, hn::Sub(g(d, j), hn::LoadU(d, p + j)));
        b = hn::Min(b, hn::Sub(g(d, j + N), hn::LoadU(d, p + j + N)));
    }
    double best = hn::GetLane(hn::MinOfLanes(d, hn::Min(a, b)));
    for (; j < j1; ++j) best = std::min(best, f(j) - p[j]);
    if (!(best < thr)) return best;
    const V64 t = hn::Set(d, best);
    for (j = j0; j + N <= j1; j += N) {
        const intptr_t k = hn::FindFirstTrue(d, hn::Eq(hn::Sub(g(d, j), hn::LoadU(d, p + j)), t));
        if (k >= 0) {
            *arg = j + static_cast<std::size_t>(k);
            return best;
        }
    }
    for (; j < j1; ++j)
        if (f(j) - p[j] == best) {
            *arg = j;
            break;
        }
    return best;
}

double MinDense(const double* row, const double* p, std::size_t j0, std::size_t j1, double thr, std::size_t* arg) {
    return MinReduced(
        p, j0, j1, thr, arg, [row](D64 d, std::size_t j) { return hn::LoadU(d, row + j); }, [row](std::size_t j) { return row[j]; });
}

template <int D>
double MinPts(const double* xi, const double* ys, std::size_t m, const double* p, std::size_t j0, std::size_t j1, double thr,
              std::size_t* arg) {
    return MinReduced(
        p, j0, j1, thr, arg, [=](D64 d, std::size_t j) { return Cost<D>(d, xi, ys, m, j); },
        [=](std::size_t j) { return sqCost<D>(xi, ys, m, j); });
}

template <int D>
void Row(const double* xi, const double* ys, std::size_t m, double* out) {
    const D64 d;
    const std::size_t N = hn::Lanes(d);
    std::size_t j = 0;
    for (; j + N <= m; j += N) hn::StoreU(Cost<D>(d, xi, ys, m, j), d, out + j);
    for (; j < m; ++j) out[j] = sqCost<D>(xi, ys, m, j);
}

template <int D>
HWY_INLINE V64 T(const V64* a, const V64* y, V64 w) {
    V64 t = hn::MulAdd(a[0], y[0], w);
    for (int k = 1; k < D; ++k) t = hn::MulAdd(a[k], y[k], t);
    return t;
}

template <int D>
void Tile(const double* ai, const double* yh, std::size_t m, const double* wt, const double* st, std::size_t j0, std::size_t j1,
          double* out) {
    const D64 d;
    const std::size_t N = hn::Lanes(d);
    V64 a[kTileRows][D], acc[kTileRows];
    for (int r = 0; r < kTileRows; ++r) {
        for (int k = 0; k < D; ++k) a[r][k] = hn::Set(d, ai[r * D + k]);
        acc[r] = hn::Set(d, -std::numeric_limits<double>::infinity());
    }
    std::size_t j = j0;
    for (; j + N <= j1; j += N) {
        V64 y[D];
        for (int k = 0; k < D; ++k) y[k] = hn::LoadU(d, yh + k * m + j);
        const V64 w = hn::Add(hn::LoadU(d, wt + j), hn::LoadU(d, st + j));
        for (int r = 0; r < kTileRows; ++r) acc[r] = hn::Max(acc[r], T<D>(a[r], y, w));
    }
    for (int r = 0; r < kTileRows; ++r) {
        double b = hn::GetLane(hn::MaxOfLanes(d, acc[r]));
        for (std::size_t q = j; q < j1; ++q) b = std::max(b, approxT<D>(ai + r * D, yh, m, wt, st, q));
        out[r] = b;
    }
}

template <int D>
std::size_t Arg(const double* ai, const double* yh, std::size_t m, const double* wt, const double* st, std::size_t j0, std::size_t j1,
                double target) {
    const D64 d;
    const std::size_t N = hn::Lanes(d);
    V64 a[D];
    for (int k = 0; k < D; ++k) a[k] = hn::Set(d, ai[k]);
    const V64 tv = hn::Set(d, target);
    std::size_t j = j0;
    for (; j + N <= j1; j += N) {
        V64 y[D];
        for (int k = 0; k < D; ++k) y[k] = hn::LoadU(d, yh + k * m + j);
        const V64 w = hn::Add(hn::LoadU(d, wt + j), hn::LoadU(d, st + j));
        const intptr_t k = hn::FindFirstTrue(d, hn::Eq(T<D>(a, y, w), tv));
        if (k >= 0) return j + static_cast<std::size_t>(k);
    }
    for (; j < j1; ++j)
        if (approxT<D>(ai, yh, m, wt, st, j) == target) return j;
    return j0;  // unreachable: target is the maximum of the same values
}

// Plain names for HWY_EXPORT, one per dimension.
double MinPts1(const double* xi, const double* ys, std::size_t m, const double* p, std::size_t j0, std::size_t j1, double thr, std::size_t* arg) { return MinPts<1>(xi, ys, m, p, j0, j1, thr, arg); }
double MinPts2(const double* xi, const double* ys, std::size_t m, const double* p, std::size_t j0, std::size_t j1, double thr, std::size_t* arg) { return MinPts<2>(xi, ys, m, p, j0, j1, thr, arg); }
double MinPts3(const double* xi, const double* ys, std::size_t m, const double* p, std::size_t j0, std::size_t j1, double thr, std::size_t* arg) { return MinPts<3>(xi, ys, m, p, j0, j1, thr, arg); }
void Row1(const double* xi, const double* ys, std::size_t m, double* out) { Row<1>(xi, ys, m, out); }
void Row2(const double* xi, const double* ys, std::size_t m, double* out) { Row<2>(xi, ys, m, out); }
void Row3(const double* xi, const double* ys, std::size_t m, double* out) { Row<3>(xi, ys, m, out); }
void Tile1(const double* a, const double* y, std::size_t m, const double* wt, const double* st, std::size_t j0, std::size_t j1, double* out) { Tile<1>(a, y, m, wt, st, j0, j1, out); }
void Tile2(const double* a, const double* y, std::size_t m, const double* wt, const double* st, std::size_t j0, std::size_t j1, double* out) { Tile<2>(a, y, m, wt, st, j0, j1, out); }
void Tile3(const double* a, const double* y, std::size_t m, const double* wt, const double* st, std::size_t j0, std::size_t j1, double* out) { Tile<3>(a, y, m, wt, st, j0, j1, out); }
std::size_t Arg1(const double* a, const double* y, std::size_t m, const double* wt, const double* st, std::size_t j0, std::size_t j1, double t) { return Arg<1>(a, y, m, wt, st, j0, j1, t); }
std::size_t Arg2(const double* a, const double* y, std::size_t m, const double* wt, const double* st, std::size_t j0, std::size_t j1, double t) { return Arg<2>(a, y, m, wt, st, j0, j1, t); }
std::size_t Arg3(const double* a, const double* y, std::size_t m, const double* wt, const double* st, std::size_t j0, std::size_t j1, double t) { return Arg<3>(a, y, m, wt, st, j0, j1, t); }

}  // namespace tl::simplex_kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "util/error.h"
#include "util/simd.h"

namespace tl::simplex_kernels {

template <int D>
double approxT(const double* a, const double* yh, std::size_t m, const double* wt, const double* st, std::size_t j) {
    double t = std::fma(a[0], yh[j], wt[j] + st[j]);
    for (int k = 1; k < D; ++k) t = std::fma(a[k], yh[k * m + j], t);
    return t;
}
template double approxT<1>(const double*, const double*, std::size_t, const double*, const double*, std::size_t);
template double approxT<2>(const double*, const double*, std::size_t, const double*, const double*, std::size_t);
template double approxT<3>(const double*, const double*, std::size_t, const double*, const double*, std::size_t);

HWY_EXPORT(MinDense);
HWY_EXPORT(MinPts1);
HWY_EXPORT(MinPts2);
HWY_EXPORT(MinPts3);
HWY_EXPORT(Row1);
HWY_EXPORT(Row2);
HWY_EXPORT(Row3);
HWY_EXPORT(Tile1);
HWY_EXPORT(Tile2);
HWY_EXPORT(Tile3);
HWY_EXPORT(Arg1);
HWY_EXPORT(Arg2);
HWY_EXPORT(Arg3);

namespace {
[[noreturn]] void badDim() { throw Error("network simplex: point dimension must be 1, 2 or 3"); }
}  // namespace

double minReducedDense(const double* row, const double* p, std::size_t j0, std::size_t j1, double thr, std::size_t* arg) {
    return HWY_DYNAMIC_DISPATCH(MinDense)(row, p, j0, j1, thr, arg);
}
double minReducedPoints(int D, const double* xi, const double* ys, std::size_t m, const double* p, std::size_t j0, std::size_t j1,
                        double thr, std::size_t* arg) {
    switch (D) {
        case 1: return HWY_DYNAMIC_DISPATCH(MinPts1)(xi, ys, m, p, j0, j1, thr, arg);
        case 2: return HWY_DYNAMIC_DISPATCH(MinPts2)(xi, ys, m, p, j0, j1, thr, arg);
        case 3: return HWY_DYNAMIC_DISPATCH(MinPts3)(xi, ys, m, p, j0, j1, thr, arg);
        default: badDim();
    }
}
void costRow(int D, const double* xi, const double* ys, std::size_t m, double* out) {
    switch (D) {
        case 1: return HWY_DYNAMIC_DISPATCH(Row1)(xi, ys, m, out);
        case 2: return HWY_DYNAMIC_DISPATCH(Row2)(xi, ys, m, out);
        case 3: return HWY_DYNAMIC_DISPATCH(Row3)(xi, ys, m, out);
        default: badDim();
    }
}
void maxTile(int D, const double* a, const double* yh, std::size_t m, const double* wt, const double* st, std::size_t j0,
             std::size_t j1, double* out) {
    switch (D) {
        case 1: return HWY_DYNAMIC_DISPATCH(Tile1)(a, yh, m, wt, st, j0, j1, out);
        case 2: return HWY_DYNAMIC_DISPATCH(Tile2)(a, yh, m, wt, st, j0, j1, out);
        case 3: return HWY_DYNAMIC_DISPATCH(Tile3)(a, yh, m, wt, st, j0, j1, out);
        default: badDim();
    }
}
std::size_t argT(int D, const double* a, const double* yh, std::size_t m, const double* wt, const double* st, std::size_t j0,
                 std::size_t j1, double target) {
    switch (D) {
        case 1: return HWY_DYNAMIC_DISPATCH(Arg1)(a, yh, m, wt, st, j0, j1, target);
        case 2: return HWY_DYNAMIC_DISPATCH(Arg2)(a, yh, m, wt, st, j0, j1, target);
        case 3: return HWY_DYNAMIC_DISPATCH(Arg3)(a, yh, m, wt, st, j0, j1, target);
        default: badDim();
    }
}

}  // namespace tl::simplex_kernels
#endif
