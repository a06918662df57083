// SIMD all-pairs interaction forces (see pair_forces.h). The points are split once into padded
// per-coordinate arrays; each task takes a block of rows i, holds R rows' coordinates and R * dim
// accumulators in registers and streams every j through them, one vector of lanes at a time, with a
// masked tail vector. g(r2) comes from multiplications / sqrt / one division when 2 pa and 2 pb are
// small integers (the default a = 4, b = 2 is g = r2 - 1), else from exp(p log r2). The scalar
// reference and the exact energy are at the end of this file (HWY_ONCE).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gradient_flows/pair_forces.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>

#include <algorithm>
#include <cstddef>

#ifndef TL_GF_PAIR_FORCES_DETAIL_ONCE
#define TL_GF_PAIR_FORCES_DETAIL_ONCE
namespace tl::gf::detail {

constexpr std::size_t kPadJ = 64;      // the j arrays are padded to a multiple of this (>= any lane count)
constexpr std::size_t kRowBlock = 8;   // rows per scheduling block (a multiple of every R below)
constexpr double kMinR2 = 1e-300;      // pairs with r2 below this (or r2 == 0) contribute 0

enum class PowKind { Linear, QuadLog, IntHalf, General };

struct Prepared {
    int dim = 2;
    std::size_t n = 0;
    const double* x = nullptr;   // row-major n * dim (the rows i)
    const double* xs[3] = {};    // SoA copies, padded with 0 (the columns j)
    const double* w = nullptr;   // padded with 0
    double ca = 1, pa = 1, cb = 1, pb = 0;
    int ma = 2, mb = 0;          // 2 pa, 2 pb when kind != General
    PowKind kind = PowKind::Linear;
};

}  // namespace tl::gf::detail
#endif

HWY_BEFORE_NAMESPACE();
namespace tl::gf::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using detail::Prepared;

// g(r2) for the default attractive-repulsive kernel a = 4, b = 2 (pa = 1, pb = 0): ca r2 - cb.
struct PowLinear {
    template <class D>
    HWY_INLINE hn::Vec<D> operator()(D d, const Prepared& P, hn::Vec<D> r2) const {
        return hn::MulSub(hn::Set(d, P.ca), r2, hn::Set(d, P.cb));
    }
};

// Quadratic-log (pa = 0, pb = -1): ca - cb / r2.
struct PowQuadLog {
    template <class D>
    HWY_INLINE hn::Vec<D> operator()(D d, const Prepared& P, hn::Vec<D> r2) const {
        return hn::Sub(hn::Set(d, P.ca), hn::Div(hn::Set(d, P.cb), r2));
    }
};

// r2^(m/2) for |m| <= 8: sqrt for odd m, repeated products, one division for m < 0 (so that
// r2^(m/2) overflows only where the exact value does).
template <class D>
HWY_INLINE hn::Vec<D> HalfIntPow(D d, hn::Vec<D> r2, hn::Vec<D> sq, int m) {
    const int am = m < 0 ? -m : m;
    hn::Vec<D> p = (am & 1) ? sq : hn::Set(d, 1.0);
    for (int t = 0; t < (am >> 1); ++t) p = hn::Mul(p, r2);
    return m < 0 ? hn::Div(hn::Set(d, 1.0), p) : p;
}

struct PowIntHalf {
    bool needSqrt = false;
    template <class D>
    HWY_INLINE hn::Vec<D> operator()(D d, const Prepared& P, hn::Vec<D> r2) const {
        const hn::Vec<D> sq = needSqrt ? hn::Sqrt(r2) : r2;
        return hn::Sub(hn::Mul(hn::Set(d, P.ca), HalfIntPow(d, r2, sq, P.ma)), hn::Mul(hn::Set(d, P.cb), HalfIntPow(d, r2, sq, P.mb)));
    }
};

// Any real exponents: r2^p = exp(p ln r2) (hwy contrib, a few ulp; masked lanes may hold inf/NaN).
struct PowGeneral {
    template <class D>
    HWY_INLINE hn::Vec<D> operator()(D d, const Prepared& P, hn::Vec<D> r2) const {
        const hn::Vec<D> l = hn::Log(d, r2);
        const hn::Vec<D> A = hn::Exp(d, hn::Mul(hn::Set(d, P.pa), l));
        const hn::Vec<D> B = hn::Exp(d, hn::Mul(hn::Set(d, P.pb), l));
        return hn::Sub(hn::Mul(hn::Set(d, P.ca), A), hn::Mul(hn::Set(d, P.cb), B));
    }
};

// One vector of columns j.. j+N-1 against R rows. kTail: only the first `rem` lanes are real.
template <int D, int R, bool kTail, class Pow, class DF, class V>
HWY_INLINE void Step(DF d, const Prepared& P, const Pow& pw, std::size_t j, std::size_t rem, const V (&xi)[R][D], V (&acc)[R][D]) {
    V xj[D];
    for (int k = 0; k < D; ++k) xj[k] = hn::LoadU(d, P.xs[k] + j);
    const V wj = hn::LoadU(d, P.w + j);
    const V vmin = hn::Set(d, detail::kMinR2);
    for (int r = 0; r < R; ++r) {
        V dx[D];
        dx[0] = hn::Sub(xi[r][0], xj[0]);
        V r2 = hn::Mul(dx[0], dx[0]);
        for (int k = 1; k < D; ++k) {
            dx[k] = hn::Sub(xi[r][k], xj[k]);
            r2 = hn::MulAdd(dx[k], dx[k], r2);
        }
        auto keep = hn::Ge(r2, vmin);  // false for r2 == 0 and NaN
        if constexpr (kTail) keep = hn::And(keep, hn::FirstN(d, rem));
        const V gw = hn::IfThenElseZero(keep, hn::Mul(pw(d, P, r2), wj));
        for (int k = 0; k < D; ++k) acc[r][k] = hn::MulAdd(gw, dx[k], acc[r][k]);
    }
}

template <int D, int R, class Pow>
HWY_NOINLINE void Rows(const Prepared& P, const Pow& pw, std::size_t i0, double* HWY_RESTRICT out) {
    const hn::ScalableTag<double> d;
    using V = hn::Vec<decltype(d)>;
    const std::size_t N = hn::Lanes(d);
    V xi[R][D], acc[R][D];
    for (int r = 0; r < R; ++r) {
        const std::size_t i = std::min(i0 + r, P.n - 1);  // padded rows repeat the last one
        for (int k = 0; k < D; ++k) {
            xi[r][k] = hn::Set(d, P.x[i * D + k]);
            acc[r][k] = hn::Zero(d);
        }
    }
    const std::size_t full = P.n - P.n % N;
    std::size_t j = 0;
    for (; j < full; j += N) Step<D, R, false>(d, P, pw, j, N, xi, acc);
    if (j < P.n) Step<D, R, true>(d, P, pw, j, P.n - j, xi, acc);
    for (int r = 0; r < R; ++r) {
        const std::size_t i = i0 + r;
        if (i >= P.n) break;
        for (int k = 0; k < D; ++k) out[i * D + k] = hn::GetLane(hn::SumOfLanes(d, acc[r][k]));
    }
}

// R rows at a time: R * D accumulators (independent FMA chains) plus R * D broadcast coordinates.
template <int D, class Pow>
void RowsRange(const Prepared& P, const Pow& pw, std::size_t b0, std::size_t b1, double* out) {
    constexpr int R = D == 1 ? 8 : 4;
    static_assert(detail::kRowBlock % R == 0);
    for (std::size_t i = b0 * detail::kRowBlock; i < b1 * detail::kRowBlock && i < P.n; i += R) Rows<D, R>(P, pw, i, out);
}

template <int D>
void ByKind(const Prepared& P, std::size_t b0, std::size_t b1, double* out) {
    switch (P.kind) {
        case detail::PowKind::Linear: return RowsRange<D>(P, PowLinear{}, b0, b1, out);
        case detail::PowKind::QuadLog: return RowsRange<D>(P, PowQuadLog{}, b0, b1, out);
        case detail::PowKind::IntHalf: return RowsRange<D>(P, PowIntHalf{((P.ma | P.mb) & 1) != 0}, b0, b1, out);
        default: return RowsRange<D>(P, PowGeneral{}, b0, b1, out);
    }
}

void PairBlocks(const Prepared& P, std::size_t b0, std::size_t b1, double* out) {
    switch (P.dim) {
        case 1: return ByKind<1>(P, b0, b1, out);
        case 2: return ByKind<2>(P, b0, b1, out);
        default: return ByKind<3>(P, b0, b1, out);
    }
}

const char* PairTargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace tl::gf::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <hwy/aligned_allocator.h>

#include <cctype>
#include <string>
#include <cmath>
#include <vector>

#include "gradient_flows/pair_forces.h"
#include "util/error.h"
#include "util/parallel.h"
#include "util/simd.h"

namespace tl::gf {

HWY_EXPORT(PairBlocks);
HWY_EXPORT(PairTargetName);

PairKernel attractiveRepulsive(double a, double b) { return {1.0, (a - 2) / 2, 1.0, (b - 2) / 2}; }
PairKernel quadraticLog() { return {1.0, 0.0, 1.0, -1.0}; }

namespace {

void checkArgs(int dim, const char* what) {
    if (dim < 1 || dim > 3) throw Error(std::string(what) + ": dimension must be 1, 2 or 3");
}

// 2p when it is an integer in [-8, 8].
bool halfInteger(double p, int& m) {
    const double t = 2 * p;
    if (!(std::abs(t) <= 8) || t != std::round(t)) return false;
    m = static_cast<int>(t);
    return true;
}

// One term of W(r2): c r2^(p+1) / (2p+2), or c 0.5 ln r2 when p == -1.
double wTerm(double c, double p, double r2) { return p == -1 ? c * 0.5 * std::log(r2) : c * std::pow(r2, p + 1) / (2 * p + 2); }

}  // namespace

void pairForces(int dim, const double* x, const double* w, std::size_t n, const PairKernel& k, double* out, int threads) {
    checkArgs(dim, "pair forces");
    simd::configure();
    if (n == 0) return;
    const std::size_t np = (n + detail::kPadJ - 1) / detail::kPadJ * detail::kPadJ;
    auto buf = hwy::AllocateAligned<double>(static_cast<std::size_t>(dim + 1) * np);
    double* plane = buf.get();
    detail::Prepared P;
    P.dim = dim;
    P.n = n;
    P.x = x;
    for (int c = 0; c < dim; ++c, plane += np) {
        for (std::size_t j = 0; j < n; ++j) plane[j] = x[j * dim + c];
        std::fill(plane + n, plane + np, 0.0);
        P.xs[c] = plane;
    }
    for (std::size_t j = 0; j < n; ++j) plane[j] = w ? w[j] : 1.0 / static_cast<double>(n);
    std::fill(plane + n, plane + np, 0.0);
    P.w = plane;
    P.ca = k.ca;
    P.pa = k.pa;
    P.cb = k.cb;
    P.pb = k.pb;
    if (halfInteger(k.pa, P.ma) && halfInteger(k.pb, P.mb))
        P.kind = P.ma == 2 && P.mb == 0 ? detail::PowKind::Linear : P.ma == 0 && P.mb == -2 ? detail::PowKind::QuadLog : detail::PowKind::IntHalf;
    else
        P.kind = detail::PowKind::General;
    const std::size_t nBlocks = (n + detail::kRowBlock - 1) / detail::kRowBlock;
    // ~64k pairs per chunk: small scheduling overhead, balanced threads.
    const std::size_t chunk = std::max<std::size_t>(1, (std::size_t{1} << 16) / (np * detail::kRowBlock));
    parallelFor(nBlocks, chunk, threads, [&](std::size_t b0, std::size_t b1) { HWY_DYNAMIC_DISPATCH(PairBlocks)(P, b0, b1, out); });
}

double pairEnergy(int dim, const double* x, const double* w, std::size_t n, const PairKernel& k, int threads) {
    checkArgs(dim, "pair energy");
    if (n < 2) return 0;
    const double u = 1.0 / static_cast<double>(n);
    auto wt = [&](std::size_t j) { return w ? w[j] : u; };
    // rows[i] = sum_{j > i} w_j W(x_i - x_j); summed in index order afterwards (thread-independent).
    std::vector<long double> rows(n, 0.0L);
    const std::size_t chunk = std::max<std::size_t>(1, (std::size_t{1} << 15) / n);
    parallelFor(n, chunk, threads, [&](std::size_t i0, std::size_t i1) {
        for (std::size_t i = i0; i < i1; ++i) {
            long double s = 0;
            for (std::size_t j = i + 1; j < n; ++j) {
                double r2 = 0;
                for (int c = 0; c < dim; ++c) {
                    const double dd = x[i * dim + c] - x[j * dim + c];
                    r2 += dd * dd;
                }
                if (!(r2 >= detail::kMinR2)) continue;
                s += static_cast<long double>(wt(j)) * (wTerm(k.ca, k.pa, r2) - wTerm(k.cb, k.pb, r2));
            }
            rows[i] = s;
        }
    });
    long double e = 0;
    for (std::size_t i = 0; i < n; ++i) e += static_cast<long double>(wt(i)) * rows[i];
    return static_cast<double>(e);
}

std::string pairForcesTargetName() {
    simd::configure();
    std::string s = HWY_DYNAMIC_DISPATCH(PairTargetName)();
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

namespace reference {

void pairForces(int dim, const double* x, const double* w, std::size_t n, const PairKernel& k, double* out) {
    checkArgs(dim, "pair forces");
    for (std::size_t i = 0; i < n; ++i) {
        long double acc[3] = {0, 0, 0};
        for (std::size_t j = 0; j < n; ++j) {
            double dd[3] = {0, 0, 0}, r2 = 0;
            for (int c = 0; c < dim; ++c) {
                dd[c] = x[i * dim + c] - x[j * dim + c];
                r2 += dd[c] * dd[c];
            }
            if (!(r2 >= detail::kMinR2)) continue;
            const double g = k.ca * std::pow(r2, k.pa) - k.cb * std::pow(r2, k.pb);
            const long double gw = static_cast<long double>(w ? w[j] : 1.0 / static_cast<double>(n)) * g;
            for (int c = 0; c < dim; ++c) acc[c] += gw * dd[c];
        }
        for (int c = 0; c < dim; ++c) out[i * dim + c] = static_cast<double>(acc[c]);
    }
}

}  // namespace reference

}  // namespace tl::gf
#endif
