#include "ot/exact.h"

#include <lemon/network_simplex.h>
#include <lemon/static_graph.h>

#include <algorithm>
#include <iterator>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "util/error.h"
#include "util/parallel.h"

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

// Arcs (i, n + j) of the complete bipartite graph in row-major order, generated on the fly
// (StaticDigraph::build wants them sorted by source; no N*M pair list is materialised).
class CompleteArcs {
public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::pair<int, int>;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = value_type;
    CompleteArcs(std::size_t k, std::size_t n, std::size_t m) : k_(k), n_(n), m_(m) {}
    value_type operator*() const { return {static_cast<int>(k_ / m_), static_cast<int>(n_ + k_ % m_)}; }
    CompleteArcs& operator++() {
        ++k_;
        return *this;
    }
    bool operator==(const CompleteArcs& o) const { return k_ == o.k_; }
    bool operator!=(const CompleteArcs& o) const { return k_ != o.k_; }

private:
    std::size_t k_, n_, m_;
};

struct ArcSolve {
    bool feasible = false;
    std::vector<PlanEntry> plan;
    std::vector<double> f, g;
};

// Network simplex (LEMON, block search) on the complete bipartite graph; arc id = i * m + j.
// Costs are integers: C_ij * K rounded, K a power of two with (n + m) * max C * K < 2^50, so every
// reduced cost and potential is exact (LEMON requires integer data: with double costs, rounding
// makes zero reduced costs come out as -1e-16 and the simplex can cycle on repeated points). The
// plan is optimal for the rounded costs, hence within 1/K of optimal for the true ones.
ArcSolve solveComplete(const PointCloud& x, const PointCloud& y, const std::vector<std::int64_t>& sa,
                       const std::vector<std::int64_t>& sb, double invS, int threads) {
    const std::size_t n = x.size(), m = y.size();
    using Graph = lemon::StaticDigraph;
    using Simplex = lemon::NetworkSimplex<Graph, std::int64_t, std::int64_t>;
    const double bound = jointSquaredDiameter(x, y);
    const double K = bound > 0 ? std::exp2(std::floor(std::log2(std::exp2(50) / (static_cast<double>(n + m + 1) * bound)))) : 1.0;
    Graph g;
    g.build(static_cast<int>(n + m), CompleteArcs(0, n, m), CompleteArcs(n * m, n, m));
    Graph::ArcMap<std::int64_t> cost(g);
    parallelFor(n, 64, threads, [&](std::size_t i0, std::size_t i1) {
        for (std::size_t i = i0; i < i1; ++i)
            for (std::size_t j = 0; j < m; ++j)
                cost[g.arcFromId(static_cast<int>(i * m + j))] = std::llround(sqDist(x, i, y, j) * K);
    });
    Graph::NodeMap<std::int64_t> supply(g);
    for (std::size_t i = 0; i < n; ++i) supply[g.node(static_cast<int>(i))] = sa[i];
    for (std::size_t j = 0; j < m; ++j) supply[g.node(static_cast<int>(n + j))] = -sb[j];
    Simplex ns(g);
    ns.costMap(cost).supplyMap(supply);
    ArcSolve out;
    if (ns.run(Simplex::BLOCK_SEARCH) != Simplex::OPTIMAL) return out;
    out.feasible = true;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) {
            const std::int64_t fl = ns.flow(g.arcFromId(static_cast<int>(i * m + j)));
            if (fl > 0) out.plan.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j), static_cast<double>(fl) * invS});
        }
    // LEMON's duals pi satisfy c_uv + pi_u - pi_v >= 0: f_i = -pi(source i), g_j = pi(sink j).
    out.f.resize(n);
    out.g.resize(m);
    for (std::size_t i = 0; i < n; ++i) out.f[i] = -static_cast<double>(ns.potential(g.node(static_cast<int>(i)))) / K;
    for (std::size_t j = 0; j < m; ++j) out.g[j] = static_cast<double>(ns.potential(g.node(static_cast<int>(n + j)))) / K;
    return out;
}

}  // namespace

OtResult solveNetworkSimplex(const PointCloud& x, const PointCloud& y, const ExactOptions& opt) {
    checkTransportPair(x, y);
    const std::size_t n = x.size(), m = y.size();
    if (static_cast<double>(n) * static_cast<double>(m) > static_cast<double>(opt.maxPairs))
        throw Error("exact OT on " + std::to_string(n) + " x " + std::to_string(m) + " points exceeds the limit of " +
                    std::to_string(opt.maxPairs) + " pairs; use the sinkhorn method");
    if (n + m > static_cast<std::size_t>(std::numeric_limits<int>::max() / 4)) throw Error("exact OT: too many points");
    const auto t0 = Clock::now();

    // Supplies: exact integers when each side's weights are equal (S = lcm(n, m)), else scaled.
    std::int64_t S = 1LL << 50;
    if (allEqual(x.weights) && allEqual(y.weights)) S = std::lcm<std::int64_t>(static_cast<std::int64_t>(n), static_cast<std::int64_t>(m));
    const auto sa = integerSupplies(x.weights, S), sb = integerSupplies(y.weights, S);

    ArcSolve sol = solveComplete(x, y, sa, sb, 1.0 / static_cast<double>(S), opt.threads);
    OtResult r;
    r.method = OtMethod::Exact;
    r.iterations = 1;
    if (!sol.feasible) {
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
