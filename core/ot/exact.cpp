#include "ot/exact.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "ot/network_simplex.h"
#include "util/error.h"

namespace tl {

namespace {

using Clock = std::chrono::steady_clock;

// Integer supplies summing exactly to S, as close as possible to w * S (largest remainder).
std::vector<std::int64_t> integerSupplies(const std::vector<double>& w, std::int64_t S) {
    const double sum = std::accumulate(w.begin(), w.end(), 0.0);
    std::vector<std::int64_t> q(w.size());
    std::vector<std::pair<double, std::size_t>> frac(w.size());
    std::int64_t tot = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
        const long double v = static_cast<long double>(w[i]) / sum * S;
        q[i] = static_cast<std::int64_t>(std::floor(v));
        frac[i] = {static_cast<double>(v - q[i]), i};
        tot += q[i];
    }
    std::sort(frac.begin(), frac.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; tot < S; ++k, ++tot) ++q[frac[k % frac.size()].second];
    return q;
}

bool allEqual(const std::vector<double>& w) {
    return std::all_of(w.begin(), w.end(), [&](double v) { return v == w.front(); });
}

// cost, dual objective and marginal error from the plan and the potentials.
void finish(OtResult& r, const PointCloud& x, const PointCloud& y) {
    r.cost = planCost(r.plan, x, y);
    long double dual = 0;
    for (std::size_t i = 0; i < r.f.size(); ++i) dual += x.weights[i] * r.f[i];
    for (std::size_t j = 0; j < r.g.size(); ++j) dual += y.weights[j] * r.g[j];
    r.dualObjective = r.f.empty() ? r.cost : static_cast<double>(dual);
    r.marginalError = planMarginalError(r.plan, x, y);
}

}  // namespace

OtResult solveSorted1d(const PointCloud& x, const PointCloud& y) {
    checkTransportPair(x, y);
    if (x.dim != 1) throw Error("sorted 1-D OT needs 1-D measures");
    const auto t0 = Clock::now();
    std::vector<std::uint32_t> ix(x.size()), iy(y.size());
    std::iota(ix.begin(), ix.end(), 0u);
    std::iota(iy.begin(), iy.end(), 0u);
    std::sort(ix.begin(), ix.end(), [&](auto a, auto b) { return x.points[a] < x.points[b]; });
    std::sort(iy.begin(), iy.end(), [&](auto a, auto b) { return y.points[a] < y.points[b]; });
    OtResult r;
    r.method = OtMethod::Exact;
    // Duals along the north-west-corner staircase (its basis is optimal for the Monge matrix
    // C_ij = (x_i - y_j)^2 of sorted points, so complementary duals are feasible): on each basic
    // cell f_i + g_j = C_ij. When both sides advance at once, the degenerate cell (a + 1, b)
    // carries the chain.
    constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();
    r.f.assign(x.size(), kUnset);
    r.g.assign(y.size(), kUnset);
    auto cost = [&](std::size_t a, std::size_t b) { return sqDist(x, ix[a], y, iy[b]); };
    auto tighten = [&](std::size_t a, std::size_t b) {
        double& f = r.f[ix[a]];
        double& g = r.g[iy[b]];
        if (std::isnan(f) && std::isnan(g)) f = 0;
        if (std::isnan(f)) f = cost(a, b) - g;
        if (std::isnan(g)) g = cost(a, b) - f;
    };
    std::size_t a = 0, b = 0;
    double ra = x.weights[ix[0]], rb = y.weights[iy[0]];
    while (a < ix.size() && b < iy.size()) {
        tighten(a, b);
        const double mass = std::min(ra, rb);
        if (mass > 0) r.plan.push_back({ix[a], iy[b], mass});
        ra -= mass;
        rb -= mass;
        // Advance the side that is exhausted (the one with less left); ties advance both.
        const bool nextA = ra <= rb, nextB = rb <= ra;
        if (nextA && nextB && a + 1 < ix.size()) tighten(a + 1, b);
        if (nextA && ++a < ix.size()) ra = x.weights[ix[a]];
        if (nextB && ++b < iy.size()) rb = y.weights[iy[b]];
    }
    // Points the walk never reached (rounding left one side short): c-transforms.
    for (std::size_t i = 0; i < x.size(); ++i)
        if (std::isnan(r.f[i])) {
            double best = std::numeric_limits<double>::infinity();
            for (std::size_t j = 0; j < y.size(); ++j)
                if (!std::isnan(r.g[j])) best = std::min(best, sqDist(x, i, y, j) - r.g[j]);
            r.f[i] = best;
        }
    for (std::size_t j = 0; j < y.size(); ++j)
        if (std::isnan(r.g[j])) {
            double best = std::numeric_limits<double>::infinity();
            for (std::size_t i = 0; i < x.size(); ++i) best = std::min(best, sqDist(x, i, y, j) - r.f[i]);
            r.g[j] = best;
        }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    r.iterations = 1;
    finish(r, x, y);
    return r;
}

namespace {

struct ArcSolve {
    TransportSimplexResult::Status status = TransportSimplexResult::Status::Infeasible;
    std::vector<PlanEntry> plan;
    std::vector<double> f, g;
    std::int64_t pivots = 0;
};

// Network simplex (network_simplex.h) on the implicit complete bipartite graph of the points
// with positive integer supply (a point of supply 0 carries no mass: it is left out of the LP
// and gets its potential by a c-transform afterwards, which keeps f_i + g_j <= C_ij).
// Costs are integers, computed on the fly: round(|s x_i - s y_j|^2) = C_ij * K rounded, with
// K = s^2 a power of four, (n + m + 1) * max C * K < 2^50, so every reduced cost and potential is
// an exact integer in a double (no tolerance: with raw double costs, rounding makes zero reduced
// costs come out as -1e-16 and a simplex can cycle on repeated points). The plan is optimal for
// the rounded costs, hence within 1/K of optimal for the true ones.
ArcSolve solveComplete(const PointCloud& x, const PointCloud& y, const std::vector<std::int64_t>& sa,
                       const std::vector<std::int64_t>& sb, double invS, const ExactOptions& opt) {
    const std::size_t nAll = x.size(), mAll = y.size(), dim = static_cast<std::size_t>(x.dim);
    std::vector<std::uint32_t> ia, jb;
    for (std::size_t i = 0; i < nAll; ++i)
        if (sa[i] > 0) ia.push_back(static_cast<std::uint32_t>(i));
    for (std::size_t j = 0; j < mAll; ++j)
        if (sb[j] > 0) jb.push_back(static_cast<std::uint32_t>(j));
    const std::size_t n = ia.size(), m = jb.size();
    const double bound = jointSquaredDiameter(x, y);
    if (!std::isfinite(bound)) throw Error("exact OT: coordinates too large (the squared diameter overflows)");
    const double room = std::exp2(50) / (static_cast<double>(nAll + mAll + 1) * bound);
    int e = bound > 0 ? static_cast<int>(std::clamp(std::floor(std::log2(room)), -1000.0, 1000.0)) : 0;
    if (e % 2 != 0) --e;  // even: the coordinate scale 2^(e/2) is exact
    const double K = std::exp2(e), scale = std::exp2(e / 2);
    auto rounded = [&](std::size_t i, std::size_t j) { return roundedSqEuclidean(x.point(i), y.point(j), x.dim, scale); };

    std::vector<double> xa(n * dim), yb(m * dim);
    for (std::size_t i = 0; i < n; ++i) std::copy_n(x.point(ia[i]), dim, xa.data() + i * dim);
    for (std::size_t j = 0; j < m; ++j) std::copy_n(y.point(jb[j]), dim, yb.data() + j * dim);
    std::vector<std::int64_t> s(n), d(m);
    for (std::size_t i = 0; i < n; ++i) s[i] = sa[ia[i]];
    for (std::size_t j = 0; j < m; ++j) d[j] = sb[jb[j]];
    TransportSimplexOptions so;
    so.threads = opt.threads;
    if (opt.stop.stop_possible()) so.cancelled = [&] { return opt.stop.stop_requested(); };
    if (opt.progress) {
        // A monotone estimate: the basis 0-5 %, pivoting 5-90 % (pivots against 4 (n + m); the count is
        // typically 5-15 (n + m)), certifying with exact pricing 90-100 % (few pivots).
        double last = 0;
        const double scale = 4.0 * static_cast<double>(n + m);
        so.progressInterval = opt.progressInterval;
        so.progress = [&opt, last, scale](const SimplexProgress& p) mutable {
            double f = 0.02;
            std::string what = "exact OT: initial basis";
            if (p.phase != SimplexProgress::Phase::InitialBasis) {
                const bool exact = p.phase == SimplexProgress::Phase::Certifying;
                f = exact ? 0.9 + 0.09 * (1 - std::exp(-static_cast<double>(p.pivots) / scale))
                          : 0.05 + 0.85 * (1 - std::exp(-static_cast<double>(p.pivots) / scale));
                what = "exact OT: " + std::to_string(p.pivots) + " pivots (" + (exact ? "certifying" : "pivoting") + ")";
            }
            last = std::max(last, f);
            opt.progress(last, what);
        };
    }
    const TransportSimplexResult ns =
        transportSimplexSqEuclidean(n, m, x.dim, xa.data(), yb.data(), scale, s.data(), d.data(), so);
    ArcSolve out;
    out.status = ns.status;
    out.pivots = ns.pivots;
    if (ns.status != TransportSimplexResult::Status::Optimal) return out;
    for (const TransportArc& a : ns.basis)
        if (a.flow > 0) out.plan.push_back({ia[a.i], jb[a.j], static_cast<double>(a.flow) * invS});
    std::sort(out.plan.begin(), out.plan.end(),
              [](const PlanEntry& p, const PlanEntry& q) { return p.i != q.i ? p.i < q.i : p.j < q.j; });
    // Potentials in units of the rounded costs (integers); zero-supply points by c-transform.
    constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> u(nAll, kUnset), v(mAll, kUnset);
    for (std::size_t i = 0; i < n; ++i) u[ia[i]] = ns.u[i];
    for (std::size_t j = 0; j < m; ++j) v[jb[j]] = ns.v[j];
    // (Each c-transform row is O(N + M) work; the stop is polled every 256 rows.)
    for (std::size_t i = 0, k = 0; i < nAll; ++i)
        if (sa[i] == 0) {
            if (++k % 256 == 0 && opt.stop.stop_requested()) {
                out.status = TransportSimplexResult::Status::Cancelled;
                return out;
            }
            double best = std::numeric_limits<double>::infinity();
            for (std::size_t j : jb) best = std::min(best, rounded(i, j) - v[j]);
            u[i] = best;
        }
    for (std::size_t j = 0, k = 0; j < mAll; ++j)
        if (sb[j] == 0) {
            if (++k % 256 == 0 && opt.stop.stop_requested()) {
                out.status = TransportSimplexResult::Status::Cancelled;
                return out;
            }
            double best = std::numeric_limits<double>::infinity();
            for (std::size_t i = 0; i < nAll; ++i) best = std::min(best, rounded(i, j) - u[i]);
            v[j] = best;
        }
    out.f.resize(nAll);
    out.g.resize(mAll);
    for (std::size_t i = 0; i < nAll; ++i) out.f[i] = u[i] / K;
    for (std::size_t j = 0; j < mAll; ++j) out.g[j] = v[j] / K;
    return out;
}

}  // namespace

OtResult solveNetworkSimplex(const PointCloud& x, const PointCloud& y, const ExactOptions& opt) {
    checkTransportPair(x, y);
    const std::size_t n = x.size(), m = y.size();
    if (n > opt.maxPoints || m > opt.maxPoints)
        throw Error("exact OT on " + std::to_string(n) + " x " + std::to_string(m) + " points: more than " +
                    std::to_string(opt.maxPoints) + " on a side would take too long; use the sinkhorn method");
    if (n + m > static_cast<std::size_t>(std::numeric_limits<int>::max() / 4)) throw Error("exact OT: too many points");
    const auto t0 = Clock::now();

    // Supplies: exact integers when each side's weights are equal (S = lcm(n, m)), else scaled.
    std::int64_t S = 1LL << 50;
    if (allEqual(x.weights) && allEqual(y.weights)) S = std::lcm<std::int64_t>(static_cast<std::int64_t>(n), static_cast<std::int64_t>(m));
    const auto sa = integerSupplies(x.weights, S), sb = integerSupplies(y.weights, S);

    ArcSolve sol = solveComplete(x, y, sa, sb, 1.0 / static_cast<double>(S), opt);
    OtResult r;
    r.method = OtMethod::Exact;
    r.iterations = static_cast<int>(std::min<std::int64_t>(sol.pivots, std::numeric_limits<int>::max()));
    if (sol.status == TransportSimplexResult::Status::Cancelled) {
        r.status = OtStatus::Cancelled;
        r.message = "exact OT cancelled";
        r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        return r;
    }
    if (sol.status != TransportSimplexResult::Status::Optimal) {
        r.status = OtStatus::Infeasible;
        r.message = "network simplex did not find an optimal plan";
        return r;
    }
    r.plan = std::move(sol.plan);
    r.f = std::move(sol.f);
    r.g = std::move(sol.g);
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    finish(r, x, y);
    return r;
}

OtResult solveExact(const PointCloud& x, const PointCloud& y, const ExactOptions& opt) {
    checkTransportPair(x, y);
    if (x.dim == 1 && opt.allowSorting1d) return solveSorted1d(x, y);
    return solveNetworkSimplex(x, y, opt);
}

}  // namespace tl
