// Tests log-domain Sinkhorn (tl::sinkhorn; double and float kernel paths), the barycentric map and
// the Sinkhorn divergence (with its warm start).
// Checked against the exact solver, a dense long-double reference Sinkhorn, the explicit plan, and analytic limits/invariants.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "simd_rows.h"
#include "test_support.h"
#include "measure/point_cloud.h"
#include "ot/exact.h"
#include "ot/sinkhorn.h"
#include "util/error.h"
#include "util/rng.h"

using tl::PointCloud;

// Status checks print the status names on failure (core names them statusName(), not toString(),
// so QTest never mistakes them for its own heap-allocating toString overloads).
#define STATUS_IS(r, S)                                                                                \
    QVERIFY2((r).status == tl::OtStatus::S, qPrintable(QString("status %1 (want %2): %3")           \
                                                           .arg(tl::statusName((r).status))        \
                                                           .arg(tl::statusName(tl::OtStatus::S))   \
                                                           .arg(QString::fromStdString((r).message))))

namespace {

PointCloud gaussianCloud(int dim, std::size_t n, tl::Rng& rng, bool randomWeights, double shift, double sd = 1.0) {
    PointCloud pc;
    pc.dim = dim;
    for (std::size_t k = 0; k < n * dim; ++k) pc.points.push_back(shift + sd * rng.normal());
    for (std::size_t i = 0; i < n; ++i) pc.weights.push_back(randomWeights ? 0.1 + rng.uniform() : 1.0);
    pc.normalizeWeights();
    return pc;
}

double sq(const PointCloud& x, std::size_t i, const PointCloud& y, std::size_t j) { return tl::sqDist(x, i, y, j); }

double maxCost(const PointCloud& x, const PointCloud& y) {
    double c = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        for (std::size_t j = 0; j < y.size(); ++j) c = std::max(c, sq(x, i, y, j));
    return c;
}

// Dense log-domain Sinkhorn in long double, written from the formulas of science.md section 3:
// f_i = -eps log sum_j b_j exp((g_j - C_ij)/eps), g_j = -eps log sum_i a_i exp((f_i - C_ij)/eps),
// iterated until the row marginal error is below 1e-14.
struct DenseSinkhorn {
    std::vector<long double> f, g;
    long double cost = 0, dual = 0;
    DenseSinkhorn(const PointCloud& x, const PointCloud& y, long double eps) {
        const std::size_t n = x.size(), m = y.size();
        f.assign(n, 0);
        g.assign(m, 0);
        auto lse = [](std::vector<long double>& t) {
            long double mx = *std::max_element(t.begin(), t.end()), s = 0;
            for (auto v : t) s += std::exp(v - mx);
            return mx + std::log(s);
        };
        std::vector<long double> t;
        for (int it = 0; it < 200000; ++it) {
            for (std::size_t i = 0; i < n; ++i) {
                t.assign(m, 0);
                for (std::size_t j = 0; j < m; ++j) t[j] = std::log((long double)y.weights[j]) + (g[j] - sq(x, i, y, j)) / eps;
                f[i] = -eps * lse(t);
            }
            for (std::size_t j = 0; j < m; ++j) {
                t.assign(n, 0);
                for (std::size_t i = 0; i < n; ++i) t[i] = std::log((long double)x.weights[i]) + (f[i] - sq(x, i, y, j)) / eps;
                g[j] = -eps * lse(t);
            }
            long double err = 0;
            for (std::size_t i = 0; i < n; ++i) {
                long double r = 0;
                for (std::size_t j = 0; j < m; ++j) r += pi(x, y, eps, i, j);
                err += std::fabs(r - x.weights[i]);
            }
            if (err < 1e-14L) break;
        }
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < m; ++j) cost += pi(x, y, eps, i, j) * sq(x, i, y, j);
        for (std::size_t i = 0; i < n; ++i) dual += x.weights[i] * f[i];
        for (std::size_t j = 0; j < m; ++j) dual += y.weights[j] * g[j];
    }
    long double pi(const PointCloud& x, const PointCloud& y, long double eps, std::size_t i, std::size_t j) const {
        return (long double)x.weights[i] * y.weights[j] * std::exp((f[i] + g[j] - sq(x, i, y, j)) / eps);
    }
};

}  // namespace

class TestSinkhorn : public QObject {
    Q_OBJECT

private:
    PointCloud x_, y_;  // n = m = 100, 2-D, non-uniform weights
    double exact_ = 0, maxC_ = 0;

private slots:
    // Every test function once per SIMD target of this CPU (tests/common/simd_rows.h).
    void initTestCase_data() { tltest::simdRows(); }
    void init() { tltest::useSimdRow(); }

    void initTestCase() {
        tl::Rng rng(2024);
        x_ = gaussianCloud(2, 100, rng, true, 0.0);
        y_ = gaussianCloud(2, 100, rng, true, 1.5, 0.6);
        exact_ = tl::solveExact(x_, y_).cost;
        maxC_ = maxCost(x_, y_);
        QVERIFY(exact_ > 1);
    }

    // The same eps as a dense long-double reference implementation: cost <pi, C>, the entropic
    // dual sum a f + sum b g, and the potentials up to their additive gauge (f_i + g_j), to 1e-9
    // relative: both stop at marginal errors <= 1e-11, which moves these values by ~1e-11 * scale.
    void matchesDenseReference_data() {
        QTest::addColumn<double>("eps");
        QTest::addColumn<int>("dim");
        QTest::newRow("eps 1, 2-D") << 1.0 << 2;
        QTest::newRow("eps 0.1, 2-D") << 0.1 << 2;
        QTest::newRow("eps 0.05, 3-D") << 0.05 << 3;
        QTest::newRow("eps 0.02, 1-D") << 0.02 << 1;
    }
    void matchesDenseReference() {
        QFETCH(double, eps);
        QFETCH(int, dim);
        tl::Rng rng(dim * 10 + 1);
        const PointCloud x = gaussianCloud(dim, 30, rng, true, 0.0), y = gaussianCloud(dim, 40, rng, true, 0.5);
        const DenseSinkhorn ref(x, y, eps);
        tl::SinkhornOptions o;
        o.epsilon = eps;
        o.tolerance = 1e-11;
        const auto r = tl::sinkhorn(x, y, o);
        STATUS_IS(r, Converged);
        QVERIFY2(std::abs(r.cost - (double)ref.cost) <= 1e-9 * (double)ref.cost, qPrintable(QString("%1 vs %2").arg(r.cost, 0, 'g', 17).arg((double)ref.cost, 0, 'g', 17)));
        QVERIFY(std::abs(r.dualObjective - (double)ref.dual) <= 1e-9 * std::max(1.0, std::abs((double)ref.dual)));
        const double scale = maxCost(x, y);
        for (std::size_t i = 0; i < x.size(); ++i)
            for (std::size_t j = 0; j < y.size(); j += 7)
                QVERIFY(std::abs((r.f[i] + r.g[j]) - (double)(ref.f[i] + ref.g[j])) <= 1e-9 * scale);
        QCOMPARE(r.epsilon, eps);
        QVERIFY(r.method == tl::OtMethod::Sinkhorn);
    }

    // Marginal error below the tolerance for several eps, both as reported and recomputed from
    // the explicit plan (planThreshold 0 keeps every entry, so the plan is the full pi).
    void marginalsBelowTolerance_data() {
        QTest::addColumn<double>("eps");
        QTest::addColumn<double>("tol");
        QTest::newRow("eps 1") << 1.0 << 1e-6;
        QTest::newRow("eps 0.1") << 0.1 << 1e-6;
        QTest::newRow("eps 0.01") << 0.01 << 1e-6;
        QTest::newRow("eps 0.01 tol 1e-9") << 0.01 << 1e-9;
    }
    void marginalsBelowTolerance() {
        QFETCH(double, eps);
        QFETCH(double, tol);
        tl::SinkhornOptions o;
        o.epsilon = eps;
        o.tolerance = tol;
        o.computePlan = true;
        o.planThreshold = 0;
        const auto r = tl::sinkhorn(x_, y_, o);
        STATUS_IS(r, Converged);
        QVERIFY(r.marginalError < tol);
        const double pe = tl::planMarginalError(r.plan, x_, y_);
        // The explicit plan sums the same exp terms in another order: agreement to ~1e-13.
        QVERIFY2(pe < tol + 1e-13, qPrintable(QString::number(pe)));
        QVERIFY(std::abs(pe - r.marginalError) < 1e-12);
        double mass = 0;
        for (const auto& e : r.plan) mass += e.mass;
        QVERIFY(std::abs(mass - 1) < tol + 1e-13);
    }

    // <pi_eps, C> is non-decreasing in eps (the entropic optimum trades cost for entropy) and
    // bounded below by the exact W2^2 (pi_eps is a feasible plan, up to the 1e-7 marginal error
    // times max C); at eps = 0.001 (1e-3 of the cost scale) it is within 1e-4 relative of W2^2
    // (observed 4e-6: the gap closes like exp(-gap/eps) for a discrete problem).
    // The entropic value OT_eps (dual objective) is >= <pi, C> since KL >= 0.
    // Sanitized builds: eps = 1e-3 (33 000 iterations) on the best target's row only (simd_rows.h).
    void costDecreasesToExact() {
        const bool full = !tltest::smallProblems() || tltest::onBestSimdRow();
        std::vector<double> epsilons{1.0, 0.1, 0.01};
        if (full) epsilons.push_back(0.001);
        double prev = INFINITY;
        for (double eps : epsilons) {
            tl::SinkhornOptions o;
            o.epsilon = eps;
            o.tolerance = 1e-7;
            const auto r = tl::sinkhorn(x_, y_, o);
            STATUS_IS(r, Converged);
            const double slack = 1e-7 * maxC_;
            qInfo("eps %g: cost %.10g (exact %.10g), OT_eps %.10g, %d iterations", eps, r.cost, exact_, r.dualObjective, r.iterations);
            QVERIFY2(r.cost <= prev + slack, qPrintable(QString("cost %1 at eps %2 above %3").arg(r.cost).arg(eps).arg(prev)));
            QVERIFY(r.cost >= exact_ - slack);
            QVERIFY(r.dualObjective >= r.cost - slack);
            prev = r.cost;
        }
        if (full) QVERIFY2(prev - exact_ < 1e-4 * exact_, qPrintable(QString("%1 vs exact %2").arg(prev).arg(exact_)));
    }

    // eps -> infinity: pi -> a (x) b, so <pi, C> -> sum a_i b_j C_ij; the deviation is
    // ~ Var_{a(x)b}(C) / eps (first order in 1/eps): with eps = 1e5 below 1e-3 relative.
    void largeEpsilonIsIndependentCoupling() {
        double indep = 0;
        for (std::size_t i = 0; i < x_.size(); ++i)
            for (std::size_t j = 0; j < y_.size(); ++j) indep += x_.weights[i] * y_.weights[j] * sq(x_, i, y_, j);
        tl::SinkhornOptions o;
        o.epsilon = 1e5;
        const auto r = tl::sinkhorn(x_, y_, o);
        QVERIFY(r.ok());
        QVERIFY2(std::abs(r.cost - indep) < 1e-3 * indep, qPrintable(QString("%1 vs %2").arg(r.cost).arg(indep)));
        QVERIFY(r.cost > exact_);
    }

    // Tiny eps = 1e-4 * max C: log-domain stays finite and converges (n = m = 60 and tolerance
    // 1e-4 keep it to ~26000 iterations: at this eps Sinkhorn's convergence is slow, sublinear
    // here, not a defect); the cost is then within 1e-3 relative of the exact optimum (observed
    // 2.5e-5; the marginal error moves it by at most 1e-4 * max C / W2^2 ~ 1e-3).
    // Sanitized builds, rows other than the best target's: tolerance 1e-3 (fewer iterations, the same
    // log-domain updates at the same eps), so the cost bound is 1e-2.
    void stableAtTinyEpsilon() {
        const bool full = !tltest::smallProblems() || tltest::onBestSimdRow();
        tl::Rng rng(8);
        const PointCloud x = gaussianCloud(2, 60, rng, false, 0.0), y = gaussianCloud(2, 60, rng, false, 1.0);
        const double mc = maxCost(x, y), ex = tl::solveExact(x, y).cost;
        tl::SinkhornOptions o;
        o.epsilon = 1e-4 * mc;
        o.tolerance = full ? 1e-4 : 1e-3;
        const auto r = tl::sinkhorn(x, y, o);
        qInfo("eps %g: %d iterations, cost %.10g, exact %.10g", o.epsilon, r.iterations, r.cost, ex);
        STATUS_IS(r, Converged);
        QVERIFY(std::isfinite(r.cost) && std::isfinite(r.dualObjective));
        for (double v : r.f) QVERIFY(std::isfinite(v));
        for (double v : r.g) QVERIFY(std::isfinite(v));
        QVERIFY(r.marginalError < o.tolerance);
        QVERIFY2(std::abs(r.cost - ex) < 10 * o.tolerance * ex, qPrintable(QString("%1 vs %2").arg(r.cost).arg(ex)));
    }

    // The engine's cost (a fused softmax pass) equals <pi, C> summed over the explicit plan, and
    // its barycentric map equals sum_j pi_ij y_j / sum_j pi_ij from that plan. 1e-10: both are
    // the same exp terms summed differently (the engine in centred, expanded form).
    void costAndMapFromExplicitPlan_data() {
        QTest::addColumn<double>("eps");
        QTest::addColumn<int>("dim");
        QTest::newRow("eps 0.5, 2-D") << 0.5 << 2;
        QTest::newRow("eps 0.02, 2-D") << 0.02 << 2;
        QTest::newRow("eps 0.05, 3-D") << 0.05 << 3;
        QTest::newRow("eps 0.01, 1-D") << 0.01 << 1;
    }
    void costAndMapFromExplicitPlan() {
        QFETCH(double, eps);
        QFETCH(int, dim);
        tl::Rng rng(dim + 100);
        // Far from the origin, so centring matters.
        const PointCloud x = gaussianCloud(dim, 80, rng, true, 10.0), y = gaussianCloud(dim, 57, rng, true, 11.0, 0.5);
        tl::SinkhornOptions o;
        o.epsilon = eps;
        o.tolerance = 1e-9;
        o.computePlan = true;
        o.planThreshold = 0;
        o.computeBarycentricMap = true;
        const auto r = tl::sinkhorn(x, y, o);
        STATUS_IS(r, Converged);
        // Threshold 0 keeps every entry that did not underflow to exactly 0.
        QVERIFY(r.plan.size() <= x.size() * y.size() && r.plan.size() > x.size() * y.size() / 2);
        const double pc = tl::planCost(r.plan, x, y);
        QVERIFY2(std::abs(r.cost - pc) <= 1e-10 * pc, qPrintable(QString("%1 vs %2").arg(r.cost, 0, 'g', 17).arg(pc, 0, 'g', 17)));
        QCOMPARE(r.barycentricMap.size(), x.points.size());
        std::vector<double> num(x.points.size(), 0.0), row(x.size(), 0.0);
        for (const auto& e : r.plan) {
            row[e.i] += e.mass;
            for (int k = 0; k < dim; ++k) num[e.i * dim + k] += e.mass * y.point(e.j)[k];
        }
        for (std::size_t i = 0; i < x.size(); ++i) {
            QVERIFY(std::abs(row[i] - x.weights[i]) < 1e-8);
            for (int k = 0; k < dim; ++k)
                QVERIFY2(std::abs(r.barycentricMap[i * dim + k] - num[i * dim + k] / row[i]) < 1e-10,
                         qPrintable(QString("T(x_%1)[%2] = %3 vs %4").arg(i).arg(k).arg(r.barycentricMap[i * dim + k], 0, 'g', 17).arg(num[i * dim + k] / row[i], 0, 'g', 17)));
        }
        // Plan entries below the threshold are dropped; the kept ones are the same numbers.
        tl::SinkhornOptions t = o;
        t.planThreshold = 1e-3;
        const auto rt = tl::sinkhorn(x, y, t);
        for (const auto& e : rt.plan) QVERIFY(e.mass >= 1e-3 * x.weights[e.i]);
        QVERIFY(rt.plan.size() < r.plan.size());
    }

    // Restarting from converged potentials at the same eps converges in <= 2 iterations with the
    // same cost (1e-9 relative: both runs stop below tolerance 1e-10).
    void warmStart() {
        tl::SinkhornOptions o;
        o.epsilon = 0.02;
        o.tolerance = 1e-10;
        const auto r = tl::sinkhorn(x_, y_, o);
        STATUS_IS(r, Converged);
        QVERIFY(r.iterations > 5);  // the cold start does real work
        tl::SinkhornOptions w = o;
        w.initialF = r.f;
        w.initialG = r.g;
        const auto r2 = tl::sinkhorn(x_, y_, w);
        STATUS_IS(r2, Converged);
        QVERIFY2(r2.iterations <= 2, qPrintable(QString::number(r2.iterations)));
        QVERIFY(std::abs(r2.cost - r.cost) <= 1e-9 * r.cost);
        tl::SinkhornOptions bad = o;
        bad.initialF = r.f;
        bad.initialG = std::vector<double>(3, 0.0);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sinkhorn(x_, y_, bad));
    }

    // eps-scaling is a speed-up only: with or without it, the same solution (1e-8).
    // Threads do not change the result (the reductions are bit-identical per row).
    void scalingAndThreadsInvariant() {
        tl::SinkhornOptions o;
        o.epsilon = 0.05;
        o.tolerance = 1e-10;
        const auto a = tl::sinkhorn(x_, y_, o);
        o.epsilonScaling = false;
        const auto b = tl::sinkhorn(x_, y_, o);
        QVERIFY(a.ok() && b.ok());
        QVERIFY(std::abs(a.cost - b.cost) <= 1e-8 * a.cost);
        o.epsilonScaling = true;
        o.threads = 1;
        const auto c1 = tl::sinkhorn(x_, y_, o);
        o.threads = 2;
        const auto c2 = tl::sinkhorn(x_, y_, o);
        QCOMPARE(c1.cost, c2.cost);
        QCOMPARE(c1.iterations, c2.iterations);
        QVERIFY(c1.f == c2.f);
    }

    // A progress callback returning false cancels: status Cancelled, whether it refuses at the
    // first (eps-scaling) call or after a few iterations at the target eps.
    void progressCancel() {
        int calls = 0;
        tl::SinkhornOptions o;
        o.epsilon = 0.001;
        o.progress = [&](int, double) { ++calls; return false; };
        const auto r = tl::sinkhorn(x_, y_, o);
        STATUS_IS(r, Cancelled);
        QVERIFY(!r.ok());
        QCOMPARE(calls, 1);
        std::vector<int> seen;
        tl::SinkhornOptions p;
        p.epsilon = 0.001;
        p.epsilonScaling = false;
        p.progress = [&](int it, double err) {
            seen.push_back(it);
            return !(err >= 0 && it >= 5);
        };
        const auto r2 = tl::sinkhorn(x_, y_, p);
        STATUS_IS(r2, Cancelled);
        QCOMPARE(r2.iterations, 5);
        for (std::size_t k = 0; k < seen.size(); ++k) QCOMPARE(seen[k], static_cast<int>(k) + 1);
        // A callback that always continues does not change the result.
        tl::SinkhornOptions q;
        q.epsilon = 0.05;
        q.tolerance = 1e-10;
        const auto base = tl::sinkhorn(x_, y_, q);
        q.progress = [](int, double) { return true; };
        QCOMPARE(tl::sinkhorn(x_, y_, q).cost, base.cost);
    }

    void maxIterationsStatus() {
        tl::SinkhornOptions o;
        o.epsilon = 0.001;
        o.epsilonScaling = false;
        o.maxIterations = 3;
        const auto r = tl::sinkhorn(x_, y_, o);
        STATUS_IS(r, MaxIterations);
        QCOMPARE(r.iterations, 3);
        QVERIFY(!r.message.empty());
        QVERIFY(r.marginalError > o.tolerance);
    }

    // maxIterations is "the iteration cap; one iteration = one f update + one g update" -- also
    // with eps-scaling on (the default), whose coarse levels are iterations (they are counted in
    // `iterations`). A cap of 5 must not run ~20 iterations.
    void iterationCapRespected() {
        tl::SinkhornOptions o;
        o.epsilon = 0.001;
        o.maxIterations = 5;
        int calls = 0;
        o.progress = [&](int, double) { ++calls; return true; };
        const auto r = tl::sinkhorn(x_, y_, o);
        STATUS_IS(r, MaxIterations);
        QVERIFY2(r.iterations <= 5 && calls <= 5,
                 qPrintable(QString("maxIterations = 5 but %1 iterations ran (%2 progress calls)").arg(r.iterations).arg(calls)));
    }

    // A point of weight 0 is not part of the measure: the solution equals the one without it
    // (1e-9 relative: both solves stop below tolerance 1e-11).
    void zeroWeightPointsIgnored() {
        PointCloud x = x_, xr = x_;
        xr.points.erase(xr.points.begin() + 2 * 7, xr.points.begin() + 2 * 8);
        xr.weights.erase(xr.weights.begin() + 7);
        x.weights[7] = 0;
        x.normalizeWeights();
        xr.normalizeWeights();
        tl::SinkhornOptions o;
        o.epsilon = 0.05;
        o.tolerance = 1e-11;
        const auto a = tl::sinkhorn(x, y_, o), b = tl::sinkhorn(xr, y_, o);
        STATUS_IS(a, Converged);
        QVERIFY2(std::abs(a.cost - b.cost) <= 1e-9 * b.cost, qPrintable(QString("%1 vs %2").arg(a.cost, 0, 'g', 17).arg(b.cost, 0, 'g', 17)));
        QVERIFY(std::abs(a.dualObjective - b.dualObjective) <= 1e-9 * std::abs(b.dualObjective));
        QVERIFY(std::abs(tl::sinkhornDivergence(x, y_, o) - tl::sinkhornDivergence(xr, y_, o)) < 1e-8);
    }

    // Sinkhorn divergence: S(a, a) = 0, S(a, b) = S(b, a) > 0 for a != b, and for a translate
    // S(a, a + v) = |v|^2 exactly: for any coupling of a and its translate <pi, C_v> = <pi, C> +
    // |v|^2 (the cross term -2 <x - y, v> integrates to 0) and the entropy is unchanged, so
    // OT(a, a + v) = OT(a, a) + |v|^2 and OT(a+v, a+v) = OT(a, a). Tolerance 1e-7: the three
    // solves stop at marginal errors <= 1e-10, moving each value by ~1e-10 * max C.
    void divergence() {
        tl::Rng rng(99);
        const PointCloud a = gaussianCloud(2, 70, rng, true, 0.0), b = gaussianCloud(2, 50, rng, true, 0.4, 0.7);
        tl::SinkhornOptions o;
        o.epsilon = 0.1;
        o.tolerance = 1e-10;
        const double saa = tl::sinkhornDivergence(a, a, o);
        QVERIFY2(std::abs(saa) < 1e-7, qPrintable(QString::number(saa)));
        const double sab = tl::sinkhornDivergence(a, b, o), sba = tl::sinkhornDivergence(b, a, o);
        QVERIFY(sab > 1e-3);
        QVERIFY2(std::abs(sab - sba) < 1e-7, qPrintable(QString("%1 vs %2").arg(sab).arg(sba)));
        PointCloud t = a;
        const double v[2] = {0.3, -1.2};
        for (std::size_t i = 0; i < t.size(); ++i)
            for (int k = 0; k < 2; ++k) t.point(i)[k] += v[k];
        const double st = tl::sinkhornDivergence(a, t, o);
        QVERIFY2(std::abs(st - (v[0] * v[0] + v[1] * v[1])) < 1e-7, qPrintable(QString::number(st, 'g', 12)));
        // The symmetric fixed point agrees with the general solver on (a, a).
        tl::SinkhornOptions s = o;
        const double sym = tl::symmetricEntropicOt(a, s);
        QVERIFY(std::abs(sym - tl::sinkhorn(a, a, o).dualObjective) < 1e-7);
    }

    // The float kernel (SinkhornPrecision::Float: every iteration's log-sum-exp in float, potentials
    // and residuals in double) reaches the tolerance by itself: the double re-check of its claim of
    // convergence passes at once (iterations == floatIterations; a wrong float kernel would leave a
    // marginal error the double iterations then have to remove, or none of the values below would
    // hold). Against the long-double reference at the same eps: the cost within 2 tol max C (a plan
    // with marginal error tol moves <pi, C> by at most tol max C), the potentials' gauge-invariant
    // sums f_i + g_j within 4 eps tol / min weight (a relative row-mass error of d shifts f_i by
    // eps d). The double path meets the same bounds.
    void floatPathMatchesReference_data() {
        QTest::addColumn<double>("eps");
        QTest::addColumn<double>("tol");
        QTest::addColumn<int>("dim");
        QTest::newRow("eps 0.5, 2-D, tol 1e-5") << 0.5 << 1e-5 << 2;
        QTest::newRow("eps 0.2, 3-D, tol 1e-5") << 0.2 << 1e-5 << 3;
        QTest::newRow("eps 1, 1-D, tol 1e-6") << 1.0 << 1e-6 << 1;
    }
    void floatPathMatchesReference() {
        QFETCH(double, eps);
        QFETCH(double, tol);
        QFETCH(int, dim);
        tl::Rng rng(dim * 100 + 7);
        const PointCloud x = gaussianCloud(dim, 60, rng, true, 0.0), y = gaussianCloud(dim, 50, rng, true, 0.7, 0.8);
        const DenseSinkhorn ref(x, y, eps);
        const double scale = maxCost(x, y);
        double minW = 1;
        for (double w : x.weights) minW = std::min(minW, w);
        for (double w : y.weights) minW = std::min(minW, w);
        tl::SinkhornResult res[2];
        int k = 0;
        for (auto pr : {tl::SinkhornPrecision::Float, tl::SinkhornPrecision::Double}) {
            tl::SinkhornOptions o;
            o.epsilon = eps;
            o.tolerance = tol;
            o.precision = pr;
            const auto r = tl::sinkhorn(x, y, o);
            STATUS_IS(r, Converged);
            QVERIFY2(r.marginalError < tol, qPrintable(QString::number(r.marginalError)));
            // Float: the iterations run in float until float claims convergence; the claim is re-checked
            // in double, which may finish with a few double iterations (how many depends on float
            // rounding, so on the SIMD target: 0 on one, 1 on another). The contract: at most 5.
            if (pr == tl::SinkhornPrecision::Float)
                QVERIFY2(r.floatIterations > 0 && r.iterations - r.floatIterations <= 5,
                         qPrintable(QString("%1 of %2 in float").arg(r.floatIterations).arg(r.iterations)));
            else
                QCOMPARE(r.floatIterations, 0);
            QVERIFY2(std::abs(r.cost - (double)ref.cost) <= 2 * tol * scale,
                     qPrintable(QString("%1 vs %2").arg(r.cost, 0, 'g', 17).arg((double)ref.cost, 0, 'g', 17)));
            double worst = 0;
            for (std::size_t i = 0; i < x.size(); ++i)
                for (std::size_t j = 0; j < y.size(); ++j)
                    worst = std::max(worst, std::abs((r.f[i] + r.g[j]) - (double)(ref.f[i] + ref.g[j])));
            QVERIFY2(worst <= 4 * eps * tol / minW, qPrintable(QString("potentials off by %1 (bound %2)").arg(worst).arg(4 * eps * tol / minW)));
            res[k++] = r;
        }
        QVERIFY(std::abs(res[0].cost - res[1].cost) <= 2 * tol * scale);
        QVERIFY(std::abs(res[0].dualObjective - res[1].dualObjective) <= 2 * tol * scale);
    }

    // Auto precision: float where its floor is below the tolerance (the app's 1e-3: every iteration
    // in float), double at the target eps for a tight tolerance (only eps-scaling levels in float);
    // Float forced below the float floor still converges (to 1e-11, checked in double) because a
    // stall or claim hands over to double iterations.
    void autoPrecision() {
        tl::SinkhornOptions o;
        o.epsilon = 0.1;
        o.tolerance = 1e-3;
        const auto loose = tl::sinkhorn(x_, y_, o);
        STATUS_IS(loose, Converged);
        QVERIFY(loose.marginalError < 1e-3);
        QVERIFY2(loose.floatIterations == loose.iterations && loose.iterations > 0, qPrintable(QString::number(loose.floatIterations)));
        o.tolerance = 1e-10;
        const auto tight = tl::sinkhorn(x_, y_, o);
        STATUS_IS(tight, Converged);
        QVERIFY(tight.marginalError < 1e-10);
        QVERIFY2(tight.floatIterations > 0 && tight.floatIterations < 20 && tight.iterations > 2 * tight.floatIterations,
                 qPrintable(QString("%1 of %2 in float").arg(tight.floatIterations).arg(tight.iterations)));
        o.tolerance = 1e-11;
        o.precision = tl::SinkhornPrecision::Float;
        const auto forced = tl::sinkhorn(x_, y_, o);
        STATUS_IS(forced, Converged);
        QVERIFY(forced.marginalError < 1e-11);
        QVERIFY(forced.floatIterations > 0 && forced.iterations > forced.floatIterations);
        QVERIFY(std::abs(forced.cost - tight.cost) <= 1e-9 * maxC_);
        o.precision = tl::SinkhornPrecision::Double;
        o.tolerance = 1e-3;
        QCOMPARE(tl::sinkhorn(x_, y_, o).floatIterations, 0);
    }

    // Warm start of the Sinkhorn divergence along a sequence of frames (particles moving towards a
    // fixed target, as the app's frames do): each frame started from the previous frame's four
    // potentials gives the cold-start value (both converged to 1e-6: the three dual values, hence S,
    // within 6 tol max C) in fewer iterations: the target's symmetric term is already converged
    // (0 iterations), the moving one needs about half, the (a, b) solve fewer (its tail, set by
    // eps, dominates). The value is sinkhornDivergence's, bit for bit; mismatched warm-start sizes
    // are refused.
    void divergenceWarmStart() {
        tl::Rng rng(4242);
        const PointCloud x0 = gaussianCloud(2, 120, rng, true, 0.0), y = gaussianCloud(2, 90, rng, true, 1.0, 0.5);
        tl::SinkhornOptions o;
        o.epsilon = 0.05;
        o.tolerance = 1e-6;
        const double scale = maxCost(x0, y);
        tl::SinkhornOptions w = o;
        int cold = 0, warm = 0;
        for (int k = 0; k < 6; ++k) {
            PointCloud x = x0;
            const double t = 0.02 * k;
            for (std::size_t i = 0; i < x.size(); ++i)
                for (int c = 0; c < 2; ++c) x.point(i)[c] = (1 - t) * x0.point(i)[c] + t * y.point(i % y.size())[c];
            const auto dc = tl::solveSinkhornDivergence(x, y, o);
            const auto dw = tl::solveSinkhornDivergence(x, y, w);
            QCOMPARE(dc.status, tl::OtStatus::Converged);
            QCOMPARE(dw.status, tl::OtStatus::Converged);
            QVERIFY(dc.marginalError < 1e-6 && dw.marginalError < 1e-6);
            QVERIFY2(std::abs(dw.divergence - dc.divergence) < 6e-6 * scale,
                     qPrintable(QString("frame %1: warm %2 cold %3").arg(k).arg(dw.divergence, 0, 'g', 15).arg(dc.divergence, 0, 'g', 15)));
            QVERIFY(std::abs(dc.divergence - (dc.otXY - 0.5 * dc.otXX - 0.5 * dc.otYY)) < 1e-12);
            QCOMPARE(dc.f.size(), x.size());
            QCOMPARE(dc.g.size(), y.size());
            QCOMPARE(dc.symmetricX.size(), x.size());
            QCOMPARE(dc.symmetricY.size(), y.size());
            if (k == 0) QCOMPARE(dc.divergence, tl::sinkhornDivergence(x, y, o));
            if (k > 0) {
                QCOMPARE(dw.iterationsYY, 0);
                QVERIFY2(dw.iterationsXY < dc.iterationsXY && 2 * dw.iterationsXX <= dc.iterationsXX + 2,
                         qPrintable(QString("frame %1: warm %2/%3 cold %4/%5").arg(k).arg(dw.iterationsXY).arg(dw.iterationsXX).arg(dc.iterationsXY).arg(dc.iterationsXX)));
                cold += dc.iterations();
                warm += dw.iterations();
            }
            w.initialF = dw.f;
            w.initialG = dw.g;
            w.initialSymmetricX = dw.symmetricX;
            w.initialSymmetricY = dw.symmetricY;
        }
        qInfo("5 warm-started frames: %d iterations (cold: %d)", warm, cold);
        QVERIFY(warm < cold * 3 / 4);
        tl::SinkhornOptions bad = o;
        bad.initialSymmetricY = std::vector<double>(3, 0.0);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::solveSinkhornDivergence(x0, y, bad));
    }

    void invalidInputs() {
        tl::SinkhornOptions o;
        for (double eps : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
            o.epsilon = eps;
            QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sinkhorn(x_, y_, o));
            QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sinkhornDivergence(x_, y_, o));
        }
        o = {};
        o.tolerance = 0;
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sinkhorn(x_, y_, o));
        o = {};
        o.maxIterations = 0;
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sinkhorn(x_, y_, o));
        tl::Rng rng(1);
        const PointCloud z3 = gaussianCloud(3, 10, rng, false, 0.0);
        try {
            tl::sinkhorn(x_, z3);
            QFAIL("dimension mismatch accepted");
        } catch (const tl::Error& e) {
            QVERIFY(QString(e.what()).contains("dimension mismatch"));
        }
        PointCloud bad = x_;
        bad.points[17] = std::nan("");
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sinkhorn(bad, y_));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sinkhorn(y_, bad));
        PointCloud negw = x_;
        negw.weights[0] = -0.1;
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::sinkhorn(negw, y_));
    }
};

QTEST_GUILESS_MAIN(TestSinkhorn)
#include "tst_sinkhorn.moc"
