// Tests exact OT (solveExact, solveNetworkSimplex, solveSorted1d) and displacementInterpolation.
// Checked against brute force over permutations, LP optimality certificates (KKT), the 1-D monotone plan, and geodesic invariants.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "measure/point_cloud.h"
#include "ot/exact.h"
#include "ot/interpolation.h"
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

}  // namespace

class TestOtExact : public QObject {
    Q_OBJECT

private slots:
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
        small.maxPairs = 20;
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::solveExact(a, a, small));
        std::vector<tl::PlanEntry> badPlan{{7, 0, 1.0}};
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::displacementInterpolation(badPlan, a, a, 0.5));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::displacementInterpolation({}, a, b, 0.5));
    }
};

QTEST_GUILESS_MAIN(TestOtExact)
#include "tst_ot_exact.moc"
