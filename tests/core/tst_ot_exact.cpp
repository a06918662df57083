// Tests exact OT (solveExact, solveNetworkSimplex, solveSorted1d, the transportation network
// simplex of ot/network_simplex.h) and displacementInterpolation.
// Checked against brute force over permutations, LP optimality certificates (KKT), LEMON's
// NetworkSimplex (an independent implementation) on the same data, the 1-D monotone plan, and
// geodesic invariants.
#include <QtTest>

#include <lemon/list_graph.h>
#include <lemon/network_simplex.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stop_token>
#include <vector>

#include "simd_rows.h"
#include "measure/point_cloud.h"
#include "ot/exact.h"
#include "ot/interpolation.h"
#include "ot/network_simplex.h"
#include "util/error.h"
#include "util/rng.h"

using tl::PointCloud;

namespace {

PointCloud randomCloud(int dim, std::size_t n, tl::Rng& rng, bool randomWeights, double shift = 0) {
    PointCloud pc;
    pc.dim = dim;
    for (std::size_t k = 0; k < n * dim; ++k) pc.points.push_back(rng.normal() + shift);
    for (std::size_t i = 0; i < n; ++i) pc.weights.push_back(randomWeights ? 0.05 + rng.uniform() : 1.0);
    pc.normalizeWeights();
    return pc;
}

double cost(const PointCloud& x, std::size_t i, const PointCloud& y, std::size_t j) {
    double c = 0;
    for (int k = 0; k < x.dim; ++k) c += (x.point(i)[k] - y.point(j)[k]) * (x.point(i)[k] - y.point(j)[k]);
    return c;
}

// min over all permutations s of (1/n) sum_i C(i, s(i)): for uniform weights and n = m the
// transportation polytope's vertices are the permutation matrices / n (Birkhoff), so this is W2^2.
double bruteForce(const PointCloud& x, const PointCloud& y) {
    const std::size_t n = x.size();
    std::vector<std::size_t> p(n);
    std::iota(p.begin(), p.end(), 0);
    double best = INFINITY;
    do {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += cost(x, i, y, p[i]);
        best = std::min(best, s / static_cast<double>(n));
    } while (std::next_permutation(p.begin(), p.end()));
    return best;
}

// Scale of the costs, for absolute tolerances on potentials.
double maxCost(const PointCloud& x, const PointCloud& y) {
    double c = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        for (std::size_t j = 0; j < y.size(); ++j) c = std::max(c, cost(x, i, y, j));
    return c;
}

// Verifies that (plan, f, g) certify optimality of the LP min <pi, C> s.t. pi 1 = a, pi^T 1 = b,
// pi >= 0: primal feasibility (pi >= 0, marginals), dual feasibility f_i + g_j <= C_ij,
// complementary slackness (pi_ij > 0 => f_i + g_j = C_ij) and strong duality. Tolerances: 1e-9
// times the cost scale; the duals are sums of O(n + m) costs along a spanning tree, so their
// rounding is ~1e-14 of the scale, far inside; a non-optimal plan violates these by O(gap).
void checkCertificate(const PointCloud& x, const PointCloud& y, const tl::OtResult& r) {
    QVERIFY(r.ok());
    QCOMPARE(r.f.size(), x.size());
    QCOMPARE(r.g.size(), y.size());
    const double scale = std::max(1.0, maxCost(x, y));
    const double tol = 1e-9 * scale;
    for (const auto& e : r.plan) QVERIFY(e.mass > 0);
    // Marginals: masses are integers / S with S ~ 2^50 (or exact for uniform weights): < 1e-12.
    QVERIFY2(tl::planMarginalError(r.plan, x, y) < 1e-12, qPrintable(QString::number(tl::planMarginalError(r.plan, x, y))));
    QVERIFY(r.marginalError < 1e-12);
    for (std::size_t i = 0; i < x.size(); ++i)
        for (std::size_t j = 0; j < y.size(); ++j)
            QVERIFY2(r.f[i] + r.g[j] <= cost(x, i, y, j) + tol,
                     qPrintable(QString("dual infeasible at (%1,%2): %3 > %4").arg(i).arg(j).arg(r.f[i] + r.g[j]).arg(cost(x, i, y, j))));
    for (const auto& e : r.plan)
        QVERIFY2(std::abs(r.f[e.i] + r.g[e.j] - cost(x, e.i, y, e.j)) <= tol, "complementary slackness violated");
    // Strong duality, and the reported cost is <pi, C> recomputed here.
    double c = 0, d = 0;
    for (const auto& e : r.plan) c += e.mass * cost(x, e.i, y, e.j);
    for (std::size_t i = 0; i < x.size(); ++i) d += x.weights[i] * r.f[i];
    for (std::size_t j = 0; j < y.size(); ++j) d += y.weights[j] * r.g[j];
    QVERIFY(std::abs(r.cost - c) <= 1e-12 * std::max(1.0, c));
    QVERIFY2(std::abs(r.dualObjective - r.cost) <= 1e-9 * std::max(1.0, c), qPrintable(QString("dual %1 primal %2").arg(r.dualObjective, 0, 'g', 17).arg(r.cost, 0, 'g', 17)));
    QVERIFY(std::abs(d - r.cost) <= 1e-9 * std::max(1.0, c));
    // A basic (vertex) solution has at most n + m - 1 positive entries.
    QVERIFY(r.plan.size() <= x.size() + y.size() - 1);
}


// LEMON's NetworkSimplex on the explicit complete bipartite graph: the optimal objective
// sum c_ij x_ij of the integer transportation problem (costs n x m row-major, integers).
long long lemonObjective(std::size_t n, std::size_t m, const std::vector<long long>& c, const std::vector<long long>& s,
                         const std::vector<long long>& d) {
    lemon::ListDigraph g;
    std::vector<lemon::ListDigraph::Node> nodes;
    for (std::size_t v = 0; v < n + m; ++v) nodes.push_back(g.addNode());
    lemon::ListDigraph::ArcMap<long long> cost(g);
    lemon::ListDigraph::NodeMap<long long> supply(g);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) cost[g.addArc(nodes[i], nodes[n + j])] = c[i * m + j];
    for (std::size_t i = 0; i < n; ++i) supply[nodes[i]] = s[i];
    for (std::size_t j = 0; j < m; ++j) supply[nodes[n + j]] = -d[j];
    lemon::NetworkSimplex<lemon::ListDigraph, long long, long long> ns(g);
    ns.costMap(cost).supplyMap(supply);
    if (ns.run() != decltype(ns)::OPTIMAL) return -1;
    return ns.totalCost<long long>();
}

// W2^2 by LEMON on the point clouds: supplies w * 2^40 (largest remainder), costs C_ij * 2^k
// rounded to integers (as the old solver did), the plan's true cost sum pi_ij C_ij.
double lemonW2(const PointCloud& x, const PointCloud& y) {
    const std::size_t n = x.size(), m = y.size();
    const long long S = 1LL << 40;
    auto integer = [&](const std::vector<double>& w) {
        std::vector<long long> q(w.size());
        long long tot = 0;
        std::size_t big = 0;
        for (std::size_t k = 0; k < w.size(); ++k) {
            q[k] = std::llround(w[k] * static_cast<double>(S));
            tot += q[k];
            if (w[k] > w[big]) big = k;
        }
        q[big] += S - tot;
        return q;
    };
    const auto s = integer(x.weights), d = integer(y.weights);
    double cmax = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) cmax = std::max(cmax, cost(x, i, y, j));
    const double K = cmax > 0 ? std::exp2(std::floor(std::log2(std::exp2(40) / cmax))) : 1.0;
    lemon::ListDigraph g;
    std::vector<lemon::ListDigraph::Node> nodes;
    for (std::size_t v = 0; v < n + m; ++v) nodes.push_back(g.addNode());
    lemon::ListDigraph::ArcMap<long long> c(g);
    lemon::ListDigraph::NodeMap<long long> supply(g);
    std::vector<lemon::ListDigraph::Arc> arcs;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) {
            arcs.push_back(g.addArc(nodes[i], nodes[n + j]));
            c[arcs.back()] = std::llround(cost(x, i, y, j) * K);
        }
    for (std::size_t i = 0; i < n; ++i) supply[nodes[i]] = s[i];
    for (std::size_t j = 0; j < m; ++j) supply[nodes[n + j]] = -d[j];
    lemon::NetworkSimplex<lemon::ListDigraph, long long, long long> ns(g);
    ns.costMap(c).supplyMap(supply);
    if (ns.run() != decltype(ns)::OPTIMAL) return NAN;
    long double w = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j) w += static_cast<long double>(ns.flow(arcs[i * m + j])) / S * cost(x, i, y, j);
    return static_cast<double>(w);
}

// Integer transportation data with positive supplies and demands of equal sums.
struct IntProblem {
    std::size_t n = 0, m = 0;
    std::vector<long long> c, s, d;
};

IntProblem randomIntProblem(tl::Rng& rng, std::size_t n, std::size_t m, long long costRange, long long supplyRange) {
    IntProblem p;
    p.n = n;
    p.m = m;
    for (std::size_t k = 0; k < n * m; ++k) p.c.push_back(static_cast<long long>(rng.below(static_cast<std::uint64_t>(costRange))));
    long long total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        p.s.push_back(1 + static_cast<long long>(rng.below(static_cast<std::uint64_t>(supplyRange))));
        total += p.s.back();
    }
    if (total < static_cast<long long>(m)) p.s[0] += static_cast<long long>(m) - total, total = static_cast<long long>(m);
    p.d.assign(m, 1);
    for (long long left = total - static_cast<long long>(m); left > 0;) {
        const long long a = std::min(left, 1 + static_cast<long long>(rng.below(static_cast<std::uint64_t>(left / 2 + 1))));
        p.d[rng.below(m)] += a;
        left -= a;
    }
    return p;
}

// The basis returned by transportSimplex certifies optimality exactly (integer arithmetic):
// n + m - 1 arcs, flows >= 0 meeting the supplies and demands, c_ij - u_i - v_j = 0 on the basis
// and >= 0 everywhere. Returns the objective.
long long checkIntegerCertificate(const IntProblem& p, const tl::TransportSimplexResult& r) {
    [&] {
        QCOMPARE(r.status, tl::TransportSimplexResult::Status::Optimal);
        QCOMPARE(r.basis.size(), p.n + p.m - 1);
        QCOMPARE(r.u.size(), p.n);
        QCOMPARE(r.v.size(), p.m);
    }();
    if (QTest::currentTestFailed()) return -1;
    std::vector<long long> rows(p.n, 0), cols(p.m, 0);
    long long obj = 0;
    for (const auto& a : r.basis) {
        if (a.flow < 0 || a.i >= p.n || a.j >= p.m) return -2;
        rows[a.i] += a.flow;
        cols[a.j] += a.flow;
        obj += a.flow * p.c[a.i * p.m + a.j];
        if (static_cast<double>(p.c[a.i * p.m + a.j]) - r.u[a.i] - r.v[a.j] != 0) return -3;
    }
    if (rows != p.s || cols != p.d) return -4;
    for (std::size_t i = 0; i < p.n; ++i)
        for (std::size_t j = 0; j < p.m; ++j)
            if (static_cast<double>(p.c[i * p.m + j]) - r.u[i] - r.v[j] < 0) return -5;
    // Strongly feasible (Cunningham), the invariant that excludes cycling: some root makes every
    // zero-flow arc i -> j point towards it, i.e. each component of the positive-flow forest is
    // left through at most one zero arc from one of its sources (the arc to its parent).
    std::vector<std::size_t> comp(p.n + p.m);
    std::iota(comp.begin(), comp.end(), 0);
    auto find = [&](std::size_t v) {
        while (comp[v] != v) v = comp[v] = comp[comp[v]];
        return v;
    };
    for (const auto& a : r.basis)
        if (a.flow > 0) comp[find(a.i)] = find(p.n + a.j);
    std::vector<int> up(p.n + p.m, 0);
    for (const auto& a : r.basis)
        if (a.flow == 0 && ++up[find(a.i)] > 1) return -6;
    return obj;
}

tl::TransportSimplexResult solveInt(const IntProblem& p, const tl::TransportSimplexOptions& o = {}) {
    const std::vector<double> c(p.c.begin(), p.c.end());
    const std::vector<std::int64_t> s(p.s.begin(), p.s.end()), d(p.d.begin(), p.d.end());
    return tl::transportSimplex(p.n, p.m, c.data(), s.data(), d.data(), o);
}

// Points on the integer lattice {0..side-1}^dim (many equal costs), uniform or random weights;
// `zeros` of the weights set to 0.
PointCloud latticeCloud(int dim, std::size_t n, int side, tl::Rng& rng, bool randomWeights, std::size_t zeros = 0) {
    PointCloud pc;
    pc.dim = dim;
    for (std::size_t k = 0; k < n * dim; ++k) pc.points.push_back(static_cast<double>(rng.below(static_cast<std::uint64_t>(side))));
    for (std::size_t i = 0; i < n; ++i) pc.weights.push_back(randomWeights ? 0.05 + rng.uniform() : 1.0);
    for (std::size_t z = 0; z < zeros && z + 1 < n; ++z) pc.weights[(z * 7 + 3) % n] = 0;
    pc.normalizeWeights();
    return pc;
}

}  // namespace

class TestOtExact : public QObject {
    Q_OBJECT

private slots:
    // Every test function once per SIMD target of this CPU (tests/common/simd_rows.h).
    void initTestCase_data() { tltest::simdRows(); }
    void init() { tltest::useSimdRow(); }

    // Uniform weights, n = m <= 7: exact cost = brute force over all n! permutations, to 1e-12
    // relative (both are sums of the same n doubles; LP masses 1/n are exact integers / n).
    void bruteForcePermutations_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("seed");
        for (int dim = 1; dim <= 3; ++dim)
            for (int n = 1; n <= 7; ++n)
                for (int seed = 0; seed < 2; ++seed) QTest::addRow("d%d n%d s%d", dim, n, seed) << dim << n << 100 * dim + 10 * n + seed;
    }
    void bruteForcePermutations() {
        QFETCH(int, dim);
        QFETCH(int, n);
        QFETCH(int, seed);
        tl::Rng rng(seed);
        const PointCloud x = randomCloud(dim, n, rng, false), y = randomCloud(dim, n, rng, false, 0.7);
        const double want = bruteForce(x, y);
        const tl::OtResult r = tl::solveExact(x, y);
        QVERIFY(r.ok());
        QVERIFY2(std::abs(r.cost - want) <= 1e-12 * std::max(1.0, want), qPrintable(QString("%1 vs %2").arg(r.cost, 0, 'g', 17).arg(want, 0, 'g', 17)));
        // The optimum found is a permutation: n entries of mass 1/n.
        QCOMPARE(r.plan.size(), std::size_t(n));
        for (const auto& e : r.plan) QVERIFY(std::abs(e.mass - 1.0 / n) < 1e-15);
        // Network simplex also in 1-D (the sorted plan is the default there).
        const tl::OtResult ns = tl::solveNetworkSimplex(x, y);
        QVERIFY(std::abs(ns.cost - want) <= 1e-12 * std::max(1.0, want));
        checkCertificate(x, y, ns);
    }

    // Non-uniform weights and N != M (2-D, 3-D): the plan is certified optimal by its duals.
    void certificateNonUniform_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("m");
        QTest::addColumn<bool>("randomWeights");
        QTest::newRow("2-D 5x9 weighted") << 2 << 5 << 9 << true;
        QTest::newRow("2-D 40x17 weighted") << 2 << 40 << 17 << true;
        QTest::newRow("2-D 30x45 uniform") << 2 << 30 << 45 << false;
        QTest::newRow("3-D 23x31 weighted") << 3 << 23 << 31 << true;
        QTest::newRow("3-D 1x12 weighted") << 3 << 1 << 12 << true;
        QTest::newRow("3-D 60x60 weighted") << 3 << 60 << 60 << true;
        QTest::newRow("1-D 25x13 weighted") << 1 << 25 << 13 << true;
    }
    void certificateNonUniform() {
        QFETCH(int, dim);
        QFETCH(int, n);
        QFETCH(int, m);
        QFETCH(bool, randomWeights);
        tl::Rng rng(7 * n + m + dim);
        const PointCloud x = randomCloud(dim, n, rng, randomWeights), y = randomCloud(dim, m, rng, randomWeights, 1.5);
        checkCertificate(x, y, tl::solveNetworkSimplex(x, y));
        if (dim > 1) checkCertificate(x, y, tl::solveExact(x, y));
    }

    // One source point: every plan is a_1 (x) b, so W2^2 = sum_j b_j |x - y_j|^2.
    void singleSource() {
        tl::Rng rng(3);
        const PointCloud x = randomCloud(2, 1, rng, true), y = randomCloud(2, 10, rng, true);
        double want = 0;
        for (std::size_t j = 0; j < y.size(); ++j) want += y.weights[j] * cost(x, 0, y, j);
        QVERIFY(std::abs(tl::solveExact(x, y).cost - want) <= 1e-12 * want);
    }

    // 1-D: the monotone rearrangement (sorted) equals the network simplex optimum (1e-10
    // relative: the NS masses are rounded to 2^-50, both costs are sums of O(n + m) terms).
    void sorted1dMatchesSimplex_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("m");
        QTest::addColumn<bool>("randomWeights");
        QTest::newRow("7x7 uniform") << 7 << 7 << false;
        QTest::newRow("10x15 uniform") << 10 << 15 << false;
        QTest::newRow("10x15 weighted") << 10 << 15 << true;
        QTest::newRow("50x20 weighted") << 50 << 20 << true;
        QTest::newRow("1x30 weighted") << 1 << 30 << true;
        QTest::newRow("200x333 weighted") << 200 << 333 << true;
    }
    void sorted1dMatchesSimplex() {
        QFETCH(int, n);
        QFETCH(int, m);
        QFETCH(bool, randomWeights);
        tl::Rng rng(n * 1000 + m);
        const PointCloud x = randomCloud(1, n, rng, randomWeights), y = randomCloud(1, m, rng, randomWeights, 0.3);
        const tl::OtResult s = tl::solveSorted1d(x, y);
        const tl::OtResult ns = tl::solveNetworkSimplex(x, y);
        const tl::OtResult def = tl::solveExact(x, y);
        QVERIFY(s.ok() && ns.ok());
        QVERIFY2(std::abs(s.cost - ns.cost) <= 1e-10 * std::max(1.0, ns.cost), qPrintable(QString("%1 vs %2").arg(s.cost, 0, 'g', 17).arg(ns.cost, 0, 'g', 17)));
        QCOMPARE(def.cost, s.cost);  // solveExact uses the sorted plan in 1-D
        QVERIFY(tl::planMarginalError(s.plan, x, y) < 1e-12);
        QVERIFY(std::abs(tl::planCost(s.plan, x, y) - s.cost) <= 1e-14 * std::max(1.0, s.cost));
        // Monotone: the plan's pairs are co-monotone (x_i < x_k => y_j <= y_l).
        for (const auto& e : s.plan)
            for (const auto& o : s.plan)
                if (x.points[e.i] < x.points[o.i]) QVERIFY(y.points[e.j] <= y.points[o.j]);
        checkCertificate(x, y, ns);
        // Allowing or forbidding the sorted path gives the same optimum.
        tl::ExactOptions o;
        o.allowSorting1d = false;
        QVERIFY(std::abs(tl::solveExact(x, y, o).cost - ns.cost) <= 1e-12 * std::max(1.0, ns.cost));
    }

    // Hand-checkable 1-D instance: x = {0 (1/2), 1 (1/2)}, y = {0.5 (1/4), 3 (3/4)}: monotone
    // plan 0->0.5 (1/4), 0->3 (1/4), 1->3 (1/2): cost 1/16 + 9/4 + 2 = 4.3125 (exact in binary).
    void handWorked1d() {
        PointCloud x, y;
        x.dim = y.dim = 1;
        x.points = {1, 0};
        x.weights = {0.5, 0.5};
        y.points = {3, 0.5};
        y.weights = {0.75, 0.25};
        QCOMPARE(tl::solveSorted1d(x, y).cost, 4.3125);
        QVERIFY(std::abs(tl::solveNetworkSimplex(x, y).cost - 4.3125) < 1e-12);
    }

    // Displacement interpolation of the optimal plan: at t = 0 / 1 it reproduces the source /
    // target measure (means and covariances); its kinetic energy sum pi_ij |y_j - x_i|^2 (from
    // the t = 0 and t = 1 particles) equals the cost; and W2^2(mu_0, mu_t) = t^2 W2^2 (constant
    // speed geodesic), checked with the exact solver.
    void displacementInterpolation_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("m");
        QTest::newRow("1-D 12x20") << 1 << 12 << 20;
        QTest::newRow("2-D 15x15") << 2 << 15 << 15;
        QTest::newRow("2-D 20x13") << 2 << 20 << 13;
        QTest::newRow("3-D 11x17") << 3 << 11 << 17;
    }
    void displacementInterpolation() {
        QFETCH(int, dim);
        QFETCH(int, n);
        QFETCH(int, m);
        tl::Rng rng(dim * 31 + n);
        const PointCloud x = randomCloud(dim, n, rng, true), y = randomCloud(dim, m, rng, true, 2.0);
        const tl::OtResult r = tl::solveExact(x, y);
        const PointCloud p0 = tl::displacementInterpolation(r.plan, x, y, 0.0);
        const PointCloud p1 = tl::displacementInterpolation(r.plan, x, y, 1.0);
        QCOMPARE(p0.size(), r.plan.size());
        // Weights are the plan masses: marginals within 1e-12, so moments agree to ~1e-12.
        QVERIFY(((p0.mean() - x.mean()).norm()) < 1e-12);
        QVERIFY(((p1.mean() - y.mean()).norm()) < 1e-12);
        QVERIFY(((p0.covariance() - x.covariance()).norm()) < 1e-11);
        QVERIFY(((p1.covariance() - y.covariance()).norm()) < 1e-11);
        double kinetic = 0;
        for (std::size_t k = 0; k < p0.size(); ++k) {
            double d2 = 0;
            for (int c = 0; c < dim; ++c) d2 += std::pow(p1.point(k)[c] - p0.point(k)[c], 2);
            kinetic += p0.weights[k] * d2;
        }
        QVERIFY(std::abs(kinetic - r.cost) <= 1e-12 * r.cost);
        // Midpoint: mean is the average; W2^2 from the source is t^2 times the total.
        for (double t : {0.25, 0.5}) {
            const PointCloud pt = tl::displacementInterpolation(r.plan, x, y, t);
            QVERIFY((pt.mean() - ((1 - t) * x.mean() + t * y.mean())).norm() < 1e-12);
            tl::ExactOptions o;
            o.allowSorting1d = false;
            const double w = tl::solveExact(x, pt, o).cost;
            // The LP optimum of (x, mu_t) is t^2 W2^2 exactly; 1e-9 relative covers the 2^-50
            // mass rounding on this second problem.
            QVERIFY2(std::abs(w - t * t * r.cost) <= 1e-9 * r.cost, qPrintable(QString("%1 vs %2").arg(w).arg(t * t * r.cost)));
        }
        // Map interpolation: particles move linearly, weights kept.
        std::vector<double> target(x.points.size(), 1.0);
        const PointCloud mi = tl::mapInterpolation(x, target, 0.25);
        QCOMPARE(mi.weights, x.weights);
        for (std::size_t k = 0; k < mi.points.size(); ++k) QVERIFY(std::abs(mi.points[k] - (0.75 * x.points[k] + 0.25)) < 1e-15);
    }

    // exact.h documents that solveExact "fills plan, cost, marginalError, f and g (duals,
    // f_i + g_j <= C_ij)" -- in every dimension. In 1-D it dispatches to the sorted plan, which
    // has no potentials; the result must still carry a certificate of optimality.
    void solveExact1dFillsPotentials() {
        tl::Rng rng(21);
        const PointCloud x = randomCloud(1, 9, rng, true), y = randomCloud(1, 14, rng, true, 0.5);
        const tl::OtResult r = tl::solveExact(x, y);
        QVERIFY2(r.f.size() == x.size() && r.g.size() == y.size(),
                 qPrintable(QString("1-D solveExact returned %1 source and %2 target potentials for n = %3, m = %4")
                                .arg(r.f.size()).arg(r.g.size()).arg(x.size()).arg(y.size())));
        checkCertificate(x, y, r);
    }

    // A point of weight 0 is not part of the measure: removing it changes nothing.
    void zeroWeightPointsIgnored() {
        tl::Rng rng(5);
        for (int dim = 1; dim <= 3; ++dim) {
            PointCloud x = randomCloud(dim, 12, rng, true), y = randomCloud(dim, 10, rng, true, 1.0);
            PointCloud xr = x;
            xr.points.erase(xr.points.begin() + 3 * dim, xr.points.begin() + 4 * dim);
            xr.weights.erase(xr.weights.begin() + 3);
            x.weights[3] = 0;
            x.normalizeWeights();
            xr.normalizeWeights();
            const double a = tl::solveExact(x, y).cost, b = tl::solveExact(xr, y).cost;
            QVERIFY2(std::abs(a - b) <= 1e-12 * std::max(1.0, b), qPrintable(QString("%1 vs %2").arg(a).arg(b)));
            tl::ExactOptions o;
            o.allowSorting1d = false;
            const tl::OtResult ns = tl::solveExact(x, y, o);
            checkCertificate(x, y, ns);
            for (const auto& e : ns.plan) QVERIFY(e.i != 3);
        }
    }

    // Identical measures: cost 0, plan = identity coupling.
    void identicalMeasures() {
        tl::Rng rng(11);
        const PointCloud x = randomCloud(2, 25, rng, true);
        const tl::OtResult r = tl::solveExact(x, x);
        QVERIFY(std::abs(r.cost) < 1e-15);
        checkCertificate(x, x, r);
    }

    // The transportation simplex on integer data, against LEMON's NetworkSimplex: 600 seeded
    // instances, n, m in 1..25 (n = 1 and m = 1 included), costs from {0} / {0,1} / {0,1,2} (every
    // basis massively degenerate and tied) up to 0..999, supplies 1..1 (assignment-like) to 1..50.
    // The optimum must equal LEMON's exactly, with an exact integer optimality certificate.
    void simplexMatchesLemonOnIntegerData() {
        tl::Rng rng(20240601);
        const long long costRanges[] = {1, 2, 3, 20, 1000};
        const long long supplyRanges[] = {1, 3, 50};
        for (int it = 0; it < 600; ++it) {
            const std::size_t n = it % 11 == 0 ? 1 : 1 + rng.below(25), m = it % 13 == 0 ? 1 : 1 + rng.below(25);
            const IntProblem p = randomIntProblem(rng, n, m, costRanges[it % 5], supplyRanges[(it / 5) % 3]);
            const tl::TransportSimplexResult r = solveInt(p);
            const long long obj = checkIntegerCertificate(p, r);
            if (QTest::currentTestFailed()) return;
            const long long want = lemonObjective(n, m, p.c, p.s, p.d);
            QVERIFY2(obj >= 0 && obj == want, qPrintable(QString("instance %1 (%2 x %3): ours %4, LEMON %5").arg(it).arg(n).arg(m).arg(obj).arg(want)));
        }
    }

    // Input the simplex must refuse: a zero supply or demand, unequal totals, costs too large for
    // exact potentials; and an instance bigger than the tiny ones above (all ties: cost 0 or 1).
    void simplexInputs() {
        IntProblem p;
        p.n = 2;
        p.m = 2;
        p.c = {1, 2, 3, 4};
        p.s = {1, 1};
        p.d = {2, 0};
        QCOMPARE(solveInt(p).status, tl::TransportSimplexResult::Status::Infeasible);
        p.d = {1, 2};
        QCOMPARE(solveInt(p).status, tl::TransportSimplexResult::Status::Infeasible);
        p.d = {1, 1};
        QCOMPARE(solveInt(p).status, tl::TransportSimplexResult::Status::Optimal);
        QCOMPARE(checkIntegerCertificate(p, solveInt(p)), 5LL);
        p.c = {1, 2, 3, 1000000000000000LL};
        QVERIFY_THROWS_EXCEPTION(tl::Error, solveInt(p));
        tl::Rng rng(99);
        const IntProblem big = randomIntProblem(rng, 120, 90, 2, 4);
        const long long obj = checkIntegerCertificate(big, solveInt(big));
        QCOMPARE(obj, lemonObjective(big.n, big.m, big.c, big.s, big.d));
    }

    // solveExact (network simplex path) against LEMON on the same clouds: random non-uniform
    // N != M, lattice points (repeated points, many tied costs), few distinct points, zero
    // weights, N = 1, M = 1, and a benchmark-like uniform instance. W2^2 agrees to 1e-9
    // relative and the result carries an optimality certificate.
    void exactMatchesLemon_data() {
        QTest::addColumn<int>("kind");  // 0 normal clouds, 1 lattice
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("side");  // lattice side
        QTest::addColumn<bool>("randomWeights");
        QTest::addColumn<int>("zeros");
        QTest::newRow("2-D 37x53 weighted") << 0 << 2 << 37 << 53 << 0 << true << 0;
        QTest::newRow("3-D 64x41 weighted") << 0 << 3 << 64 << 41 << 0 << true << 0;
        QTest::newRow("2-D 70x70 uniform") << 0 << 2 << 70 << 70 << 0 << false << 0;
        QTest::newRow("2-D 300x300 uniform") << 0 << 2 << 300 << 300 << 0 << false << 0;
        QTest::newRow("2-D 120x75 uniform") << 0 << 2 << 120 << 75 << 0 << false << 0;
        QTest::newRow("2-D lattice 60x60 uniform") << 1 << 2 << 60 << 60 << 5 << false << 0;
        QTest::newRow("2-D lattice 45x70 weighted") << 1 << 2 << 45 << 70 << 4 << true << 0;
        QTest::newRow("3-D lattice 50x50 uniform") << 1 << 3 << 50 << 50 << 3 << false << 0;
        QTest::newRow("2-D 4 distinct points 80x80 uniform") << 1 << 2 << 80 << 80 << 2 << false << 0;
        QTest::newRow("2-D 4 distinct points 61x29 weighted") << 1 << 2 << 61 << 29 << 2 << true << 0;
        QTest::newRow("2-D lattice 40x33 zero weights") << 1 << 2 << 40 << 33 << 6 << true << 5;
        QTest::newRow("2-D 40x40 zero weights") << 0 << 2 << 40 << 40 << 0 << false << 9;
        QTest::newRow("1-D lattice 50x30 (simplex)") << 1 << 1 << 50 << 30 << 7 << true << 2;
        QTest::newRow("2-D 1x25 weighted") << 0 << 2 << 1 << 25 << 0 << true << 0;
        QTest::newRow("2-D 25x1 weighted") << 0 << 2 << 25 << 1 << 0 << true << 0;
        QTest::newRow("3-D 1x1") << 0 << 3 << 1 << 1 << 0 << true << 0;
    }
    void exactMatchesLemon() {
        QFETCH(int, kind);
        QFETCH(int, dim);
        QFETCH(int, n);
        QFETCH(int, m);
        QFETCH(int, side);
        QFETCH(bool, randomWeights);
        QFETCH(int, zeros);
        tl::Rng rng(1000 * n + m + 17 * dim + side);
        PointCloud x, y;
        if (kind == 0) {
            x = randomCloud(dim, n, rng, randomWeights);
            y = randomCloud(dim, m, rng, randomWeights, 0.8);
            if (zeros > 0) {
                for (int z = 0; z < zeros; ++z) x.weights[(3 * z + 1) % n] = 0, y.weights[(5 * z + 2) % m] = 0;
                x.normalizeWeights();
                y.normalizeWeights();
            }
        } else {
            x = latticeCloud(dim, n, side, rng, randomWeights, zeros);
            y = latticeCloud(dim, m, side, rng, randomWeights, zeros);
        }
        tl::ExactOptions o;
        o.allowSorting1d = false;
        const tl::OtResult r = tl::solveExact(x, y, o);
        checkCertificate(x, y, r);
        if (QTest::currentTestFailed()) return;
        const double want = lemonW2(x, y);
        QVERIFY2(std::abs(r.cost - want) <= 1e-9 * std::max(want, 1e-9),
                 qPrintable(QString("ours %1 LEMON %2").arg(r.cost, 0, 'g', 17).arg(want, 0, 'g', 17)));
        for (const auto& e : r.plan) QVERIFY(x.weights[e.i] > 0 && y.weights[e.j] > 0);
    }

    // Identical lattice clouds (every point repeated, W2 = 0): cost 0, certificate.
    void identicalLattice() {
        tl::Rng rng(8);
        const PointCloud x = latticeCloud(2, 90, 4, rng, false);
        const tl::OtResult r = tl::solveExact(x, x);
        QCOMPARE(r.cost, 0.0);
        checkCertificate(x, x, r);
    }

    // Ties and repeated points, n = m <= 7, uniform weights: brute force over permutations.
    void bruteForceLattice() {
        for (int n = 1; n <= 7; ++n)
            for (int side = 2; side <= 3; ++side) {
                tl::Rng rng(31 * n + side);
                const PointCloud x = latticeCloud(2, n, side, rng, false), y = latticeCloud(2, n, side, rng, false);
                const double want = bruteForce(x, y);
                const tl::OtResult r = tl::solveExact(x, y);
                QVERIFY2(std::abs(r.cost - want) <= 1e-12 * std::max(1.0, want), qPrintable(QString("n %1 side %2: %3 vs %4").arg(n).arg(side).arg(r.cost).arg(want)));
                checkCertificate(x, y, r);
            }
    }

    // The cost is one function whatever evaluates it: with exact pricing the point-cost kernels of
    // every SIMD target the CPU has and the scalar roundedSqEuclidean (through the dense-matrix entry
    // point) give the same pivot sequence, basis and potentials, bit for bit. Approximate pricing
    // (the default) reaches the same certified optimum (LEMON's) on every target, by whatever path.
    void costKernelsAgree_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("m");
        QTest::newRow("1-D 100x77") << 1 << 100 << 77;
        QTest::newRow("2-D 150x113") << 2 << 150 << 113;
        QTest::newRow("3-D 91x120") << 3 << 91 << 120;
    }
    void costKernelsAgree() {
        QFETCH(int, dim);
        QFETCH(int, n);
        QFETCH(int, m);
        tl::Rng rng(5 * n + m);
        const PointCloud x = randomCloud(dim, n, rng, false), y = randomCloud(dim, m, rng, false, 0.5);
        std::vector<std::int64_t> s(n), d(m, 0);
        std::int64_t total = 0;
        for (auto& v : s) total += (v = 1 + static_cast<std::int64_t>(rng.below(40)));
        for (std::int64_t left = total; left > 0;) {
            for (int j = 0; j < m && left > 0; ++j) {
                const std::int64_t a = std::min<std::int64_t>(left, 1 + static_cast<std::int64_t>(rng.below(3)));
                d[j] += a;
                left -= a;
            }
        }
        const double scale = 1024;
        std::vector<double> c(static_cast<std::size_t>(n) * m);
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < m; ++j) c[static_cast<std::size_t>(i) * m + j] = tl::roundedSqEuclidean(x.point(i), y.point(j), dim, scale);
        auto sameRun = [](const tl::TransportSimplexResult& r, const tl::TransportSimplexResult& a) {
            QCOMPARE(r.status, tl::TransportSimplexResult::Status::Optimal);
            QCOMPARE(r.pivots, a.pivots);
            QCOMPARE(r.u, a.u);
            QCOMPARE(r.v, a.v);
            QCOMPARE(r.basis.size(), a.basis.size());
            for (std::size_t k = 0; k < a.basis.size(); ++k) {
                QCOMPARE(r.basis[k].i, a.basis[k].i);
                QCOMPARE(r.basis[k].j, a.basis[k].j);
                QCOMPARE(r.basis[k].flow, a.basis[k].flow);
            }
        };
        // Exact pricing: the point-cost kernels of every SIMD target give the dense run's pivots,
        // potentials and basis, bit for bit (simplex_kernels.h: no FMA in the exact cost).
        // Approximate pricing may take other pivots on targets without FMA, but certifies the
        // same optimum (checked against LEMON below, on every target).
        QFETCH_GLOBAL(QString, simd);
        tl::TransportSimplexOptions exactOpt;
        exactOpt.approximatePricing = false;
        const auto e = tl::transportSimplex(n, m, c.data(), s.data(), d.data());
        std::vector<tl::TransportSimplexResult> approxRuns;
        for (const auto& t : tl::simd::cpuTargets()) {
            tl::simd::forceTargetForTest(t);
            const auto a = tl::transportSimplexSqEuclidean(n, m, dim, x.points.data(), y.points.data(), scale, s.data(), d.data(), exactOpt);
            sameRun(a, e);
            if (QTest::currentTestFailed()) return;
            QVERIFY(a.pivots > 0);
            QCOMPARE(a.exactPivots, a.pivots);
            approxRuns.push_back(
                tl::transportSimplexSqEuclidean(n, m, dim, x.points.data(), y.points.data(), scale, s.data(), d.data(), tl::TransportSimplexOptions{}));
        }
        tl::simd::forceTargetForTest(simd.toStdString());
        const auto aw = tl::transportSimplexSqEuclidean(n, m, dim, x.points.data(), y.points.data(), scale, s.data(), d.data(), tl::TransportSimplexOptions{});
        QVERIFY2(aw.exactPivots < aw.pivots, "approximate pricing entered no arc");
        IntProblem p;
        p.n = n;
        p.m = m;
        p.c.assign(c.begin(), c.end());
        p.s.assign(s.begin(), s.end());
        p.d.assign(d.begin(), d.end());
        const long long want = lemonObjective(p.n, p.m, p.c, p.s, p.d);
        QCOMPARE(checkIntegerCertificate(p, e), want);
        QCOMPARE(checkIntegerCertificate(p, aw), want);
        for (const auto& r : approxRuns) QCOMPARE(checkIntegerCertificate(p, r), want);
    }

    // Cancellation: a stop requested before the solve returns status cancelled (no plan); the
    // callback is polled every `pollWork` units of work (arcs priced, tree nodes visited) from the
    // start, so a stop at its first poll lands in the initial basis (no pivot yet) and one at a
    // later poll inside the pivots; the work between two polls never exceeds 2 pollWork (the
    // ~10 ms the app's stop button allows is ~2^24 units); a stop token never triggered changes
    // nothing.
    void cancellation() {
        tl::Rng rng(77);
        const PointCloud x = randomCloud(2, 400, rng, false), y = randomCloud(2, 400, rng, false, 0.3);
        std::stop_source src;
        tl::ExactOptions o;
        o.stop = src.get_token();
        const tl::OtResult full = tl::solveExact(x, y, o);
        QVERIFY(full.ok());
        QVERIFY2(full.iterations > 1024, qPrintable(QString::number(full.iterations)));
        QCOMPARE(full.cost, tl::solveExact(x, y).cost);
        src.request_stop();
        const tl::OtResult r = tl::solveExact(x, y, o);
        QCOMPARE(r.status, tl::OtStatus::Cancelled);
        QVERIFY(!r.ok());
        QVERIFY(r.plan.empty());

        std::vector<std::int64_t> s(400, 1), d(400, 1);
        for (bool approx : {true, false}) {
            tl::TransportSimplexOptions so;
            so.approximatePricing = approx;
            so.pollWork = 4096;
            int polls = 0;
            so.cancelled = [&] { return ++polls, false; };
            const auto all = tl::transportSimplexSqEuclidean(400, 400, 2, x.points.data(), y.points.data(), 1024, s.data(), d.data(), so);
            QCOMPARE(all.status, tl::TransportSimplexResult::Status::Optimal);
            QVERIFY2(all.maxWorkBetweenPolls > 0 && all.maxWorkBetweenPolls <= 2 * so.pollWork,
                     qPrintable(QString::number(all.maxWorkBetweenPolls)));
            // at least one poll per pollWork: the initial basis alone prices 2 * 400 * 400 arcs
            QVERIFY2(polls > 2 * 400 * 400 / 4096, qPrintable(QString::number(polls)));
            const int total = polls;
            for (int stopAt : {2, total / 2}) {
                polls = 0;
                so.cancelled = [&] { return ++polls >= stopAt; };
                const auto c = tl::transportSimplexSqEuclidean(400, 400, 2, x.points.data(), y.points.data(), 1024, s.data(), d.data(), so);
                QCOMPARE(c.status, tl::TransportSimplexResult::Status::Cancelled);
                QCOMPARE(polls, stopAt);  // the first poll is the one before the initial basis
                if (stopAt == 2)
                    QCOMPARE(c.pivots, std::int64_t(0));
                else
                    QVERIFY(c.pivots > 0 && c.pivots < all.pivots);
            }
        }
    }

    // Progress while the simplex runs (issue 11: "solving OT (exact) (0%)" for seconds): reported at
    // every poll when the interval is 0, fractions in [0, 1] never decreasing, the basis (if it lasts a
    // poll) first, then pivot counts that never decrease; the plan is the same as without it.
    void progressReports() {
        tl::Rng rng(78);
        const PointCloud x = randomCloud(2, 600, rng, false), y = randomCloud(2, 600, rng, false, 0.3);
        std::vector<std::pair<double, std::string>> calls;
        tl::ExactOptions o;
        o.progressInterval = 0;
        o.progress = [&](double f, const std::string& what) { calls.emplace_back(f, what); };
        const tl::OtResult r = tl::solveExact(x, y, o);
        QVERIFY(r.ok());
        const tl::OtResult plain = tl::solveExact(x, y);
        QCOMPARE(r.cost, plain.cost);
        QCOMPARE(r.iterations, plain.iterations);
        QVERIFY2(calls.size() >= 10, qPrintable(QString::number(calls.size())));
        qInfo("%zu progress calls: first '%s' (%.3f), last '%s' (%.3f)", calls.size(), calls.front().second.c_str(), calls.front().first,
              calls.back().second.c_str(), calls.back().first);
        long lastPivots = -1;
        bool sawPivoting = false;
        for (std::size_t k = 0; k < calls.size(); ++k) {
            QVERIFY(calls[k].first >= 0 && calls[k].first <= 1);
            if (k) QVERIFY(calls[k].first >= calls[k - 1].first);
            const QString what = QString::fromStdString(calls[k].second);
            const QRegularExpressionMatch m = QRegularExpression("^exact OT: (\\d+) pivots \\((pivoting|certifying)\\)$").match(what);
            if (!m.hasMatch()) {
                QCOMPARE(what, QString("exact OT: initial basis"));
                QVERIFY2(!sawPivoting, "the basis after the pivots");
                continue;
            }
            sawPivoting = true;
            const long pivots = m.captured(1).toLong();
            QVERIFY(pivots >= lastPivots && pivots <= r.iterations);
            lastPivots = pivots;
        }
        QVERIFY(sawPivoting);
    }

    // Approximate pricing on hostile data (far from the origin, repeated points and lattices with
    // many tied costs, random weights): the error bound is sound (every approximate candidate
    // passes the exact check, so exact pricing only finishes: few exact pivots) and not vacuous
    // (most pivots are entered by the approximation); the result is certified and agrees with
    // exact pricing.
    void approximatePricingBound_data() {
        QTest::addColumn<int>("kind");
        QTest::newRow("offset 1e6") << 0;
        QTest::newRow("lattice") << 1;
        QTest::newRow("repeated points, weights") << 2;
        QTest::newRow("3-D offset -3e4") << 3;
    }
    void approximatePricingBound() {
        QFETCH(int, kind);
        tl::Rng rng(900 + kind);
        PointCloud x, y;
        if (kind == 0) {
            x = randomCloud(2, 300, rng, false, 1e6);
            y = randomCloud(2, 260, rng, false, 1e6 + 0.5);
        } else if (kind == 1) {
            x = latticeCloud(2, 300, 12, rng, false);
            y = latticeCloud(2, 300, 12, rng, false);
        } else if (kind == 2) {
            x = latticeCloud(2, 250, 4, rng, true);
            y = randomCloud(2, 280, rng, true);
        } else {
            x = randomCloud(3, 200, rng, true, -3e4);
            y = randomCloud(3, 240, rng, false, -3e4 + 1);
        }
        const tl::OtResult r = tl::solveExact(x, y);
        checkCertificate(x, y, r);
        // The same LP with exact pricing throughout, through the low-level entry point.
        const std::size_t n = x.size(), m = y.size();
        std::vector<std::int64_t> s(n), d(m);
        for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<std::int64_t>(std::llround(x.weights[i] * 1e9)) + 1;
        std::int64_t total = std::accumulate(s.begin(), s.end(), std::int64_t(0)), left = total;
        for (std::size_t j = 0; j < m; ++j) left -= (d[j] = j + 1 < m ? total / static_cast<std::int64_t>(m) : left);
        const double scale = 64;
        tl::TransportSimplexOptions ex;
        ex.approximatePricing = false;
        const int dim = x.dim;
        // Centre the coordinates so that the scaled costs fit (the offset cancels in C_ij).
        std::vector<double> xs(x.points), ys(y.points);
        for (std::size_t k = 0; k < xs.size(); ++k) xs[k] -= x.points[k % dim];
        for (std::size_t k = 0; k < ys.size(); ++k) ys[k] -= x.points[k % dim];
        const auto a = tl::transportSimplexSqEuclidean(n, m, dim, xs.data(), ys.data(), scale, s.data(), d.data());
        const auto e = tl::transportSimplexSqEuclidean(n, m, dim, xs.data(), ys.data(), scale, s.data(), d.data(), ex);
        QCOMPARE(a.status, tl::TransportSimplexResult::Status::Optimal);
        QCOMPARE(e.status, tl::TransportSimplexResult::Status::Optimal);
        auto objective = [&](const tl::TransportSimplexResult& t) {
            long double o = 0;
            for (const auto& arc : t.basis) o += static_cast<long double>(arc.flow) * tl::roundedSqEuclidean(&xs[arc.i * dim], &ys[arc.j * dim], dim, scale);
            return o;
        };
        QCOMPARE(static_cast<double>(objective(a)), static_cast<double>(objective(e)));
        QVERIFY2(a.exactPivots * 10 <= a.pivots + 10, qPrintable(QString("%1 of %2 pivots exact").arg(a.exactPivots).arg(a.pivots)));
    }

    void errors() {
        tl::Rng rng(1);
        PointCloud a = randomCloud(2, 5, rng, false), b = randomCloud(3, 5, rng, false);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::solveExact(a, b));
        PointCloud nanCloud = a;
        nanCloud.points[3] = std::nan("");
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::solveExact(nanCloud, a));
        PointCloud empty;
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::solveExact(empty, a));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::solveSorted1d(a, a));  // not 1-D
        tl::ExactOptions small;
        small.maxPoints = 4;  // 5 points per side
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::solveExact(a, a, small));
        small.maxPoints = 5;
        QVERIFY(tl::solveExact(a, a, small).ok());
        std::vector<tl::PlanEntry> badPlan{{7, 0, 1.0}};
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::displacementInterpolation(badPlan, a, a, 0.5));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::displacementInterpolation({}, a, b, 0.5));
    }
};

QTEST_GUILESS_MAIN(TestOtExact)
#include "tst_ot_exact.moc"
