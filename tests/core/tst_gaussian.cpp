// Tests closed-form Gaussian OT (sqrtSpd, buresWassersteinSq, GaussianOt map and geodesic, solveGaussian).
// Checked against analytic formulas (commuting / 1-D cases), defining identities, the Gelbrich bound and sampled exact OT.
#include <QtTest>

#include "test_support.h"

#include <cmath>
#include <vector>

#include "measure/point_cloud.h"
#include "measure/spec.h"
#include "ot/exact.h"
#include "ot/gaussian.h"
#include "util/error.h"
#include "util/rng.h"

#include "random_matrices.h"

using Eigen::MatrixXd;
using Eigen::VectorXd;
using tl::PointCloud;

namespace {

using namespace tltest;  // the helpers of tests/common

MatrixXd randomRotation(int d, tl::Rng& rng) {
    MatrixXd b(d, d);
    for (int r = 0; r < d; ++r)
        for (int c = 0; c < d; ++c) b(r, c) = rng.normal();
    return Eigen::HouseholderQR<MatrixXd>(b).householderQ();
}

// Relative matrix tolerance: eigen-decomposition based roots are accurate to ~1e-15 of the
// matrix norm per operation; 1e-10 leaves room for conditioning up to ~1e4 (ridge 0.1) and
// still catches any algebra error (which is O(1)).
constexpr double kMat = 1e-10;

}  // namespace

class TestGaussian : public QObject {
    Q_OBJECT

private slots:
    void sqrtSpdSquares_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("seed");
        for (int d = 1; d <= 3; ++d)
            for (int s = 0; s < 3; ++s) QTest::addRow("d%d s%d", d, s) << d << 10 * d + s;
    }
    void sqrtSpdSquares() {
        QFETCH(int, dim);
        QFETCH(int, seed);
        tl::Rng rng(seed);
        const MatrixXd s = randomSpd(dim, rng, 0.1);
        const MatrixXd r = tl::sqrtSpd(s);
        QVERIFY((r * r - s).norm() <= kMat * s.norm());
        QVERIFY((r - r.transpose()).norm() <= 1e-14 * r.norm());
        Eigen::SelfAdjointEigenSolver<MatrixXd> es(r);
        QVERIFY(es.eigenvalues().minCoeff() > 0);  // principal root: positive definite
        // Rank-deficient PSD: still a square root.
        VectorXd v = randomVec(dim, rng, 2);
        const MatrixXd p = v * v.transpose();
        const MatrixXd rp = tl::sqrtSpd(p);
        QVERIFY((rp * rp - p).norm() <= 1e-12 * p.norm());
        // Diagonal: elementwise sqrt.
        const MatrixXd diag = VectorXd::LinSpaced(dim, 4.0, 9.0).asDiagonal();
        QVERIFY((tl::sqrtSpd(diag) - MatrixXd(VectorXd::LinSpaced(dim, 4.0, 9.0).cwiseSqrt().asDiagonal())).norm() < 1e-14);
    }

    // Commuting covariances (simultaneously diagonalisable, here Q diag(a) Q^T and Q diag(b) Q^T):
    // W2^2 = |m0 - m1|^2 + sum_k (sqrt(a_k) - sqrt(b_k))^2.
    void buresCommuting_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<bool>("rotated");
        for (int d = 1; d <= 3; ++d) {
            QTest::addRow("d%d diagonal", d) << d << false;
            QTest::addRow("d%d rotated", d) << d << true;
        }
    }
    void buresCommuting() {
        QFETCH(int, dim);
        QFETCH(bool, rotated);
        tl::Rng rng(dim * 7 + rotated);
        const MatrixXd Q = rotated ? randomRotation(dim, rng) : MatrixXd::Identity(dim, dim);
        VectorXd a(dim), b(dim);
        for (int k = 0; k < dim; ++k) a[k] = 0.1 + 3 * rng.uniform(), b[k] = 0.1 + 3 * rng.uniform();
        const MatrixXd s0 = Q * a.asDiagonal() * Q.transpose(), s1 = Q * b.asDiagonal() * Q.transpose();
        const VectorXd m0 = randomVec(dim, rng, 2), m1 = randomVec(dim, rng, 2);
        const double want = (m0 - m1).squaredNorm() + (a.cwiseSqrt() - b.cwiseSqrt()).squaredNorm();
        const double got = tl::buresWassersteinSq(m0, s0, m1, s1);
        QVERIFY2(std::abs(got - want) <= 1e-12 * std::max(1.0, want), qPrintable(QString("%1 vs %2").arg(got, 0, 'g', 17).arg(want, 0, 'g', 17)));
        // Commuting: the Brenier map is Q diag(sqrt(b/a)) Q^T.
        const tl::GaussianOt g = tl::GaussianOt::fromParameters(m0, s0, m1, s1);
        const MatrixXd A = Q * (b.array() / a.array()).sqrt().matrix().asDiagonal() * Q.transpose();
        QVERIFY((g.A - A).norm() <= kMat * A.norm());
        QVERIFY(std::abs(g.w2sq - want) <= 1e-12 * std::max(1.0, want));
    }

    // 1-D: W2^2 between N(m0, s0^2) and N(m1, s1^2) is (m0 - m1)^2 + (s0 - s1)^2; the map is
    // x -> m1 + (s1/s0)(x - m0).
    void bures1d_data() {
        QTest::addColumn<double>("m0");
        QTest::addColumn<double>("s0");
        QTest::addColumn<double>("m1");
        QTest::addColumn<double>("s1");
        QTest::newRow("unit") << 0.0 << 1.0 << 0.0 << 1.0;
        QTest::newRow("shift") << -1.0 << 1.0 << 2.0 << 1.0;
        QTest::newRow("scale") << 0.0 << 0.5 << 0.0 << 3.0;
        QTest::newRow("both") << 4.0 << 2.0 << -1.5 << 0.25;
        QTest::newRow("to a Dirac") << 1.0 << 2.0 << 3.0 << 0.0;
    }
    void bures1d() {
        QFETCH(double, m0);
        QFETCH(double, s0);
        QFETCH(double, m1);
        QFETCH(double, s1);
        VectorXd a(1), b(1);
        a << m0;
        b << m1;
        MatrixXd c0(1, 1), c1(1, 1);
        c0 << s0 * s0;
        c1 << s1 * s1;
        const double want = (m0 - m1) * (m0 - m1) + (s0 - s1) * (s0 - s1);
        QVERIFY(std::abs(tl::buresWassersteinSq(a, c0, b, c1) - want) <= 1e-13 * std::max(1.0, want));
        const tl::GaussianOt g = tl::GaussianOt::fromParameters(a, c0, b, c1);
        QVERIFY(std::abs(g.A(0, 0) - s1 / s0) < 1e-14 * std::max(1.0, s1 / s0));
        VectorXd x(1);
        x << m0 + 1.5 * s0;
        QVERIFY(std::abs(g.map(x)[0] - (m1 + 1.5 * s1)) < 1e-13 * (1 + std::abs(m1) + s1));
    }

    // General (non-commuting) case: A is symmetric positive definite and pushes S0 to S1
    // (A S0 A = S1); the geodesic starts at S0 and ends at S1; E|x - T(x)|^2 = W2^2 for
    // x ~ N(m0, S0), i.e. |m0 - m1|^2 + tr((I - A) S0 (I - A)) = W2^2 (analytic).
    void brenierMap_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("seed");
        for (int d = 1; d <= 3; ++d)
            for (int s = 0; s < 3; ++s) QTest::addRow("d%d s%d", d, s) << d << 100 + 10 * d + s;
    }
    void brenierMap() {
        QFETCH(int, dim);
        QFETCH(int, seed);
        tl::Rng rng(seed);
        const MatrixXd s0 = randomSpd(dim, rng, 0.1), s1 = randomSpd(dim, rng, 0.1);
        const VectorXd m0 = randomVec(dim, rng, 2), m1 = randomVec(dim, rng, 2);
        const tl::GaussianOt g = tl::GaussianOt::fromParameters(m0, s0, m1, s1);
        const MatrixXd& A = g.A;
        QVERIFY((A - A.transpose()).norm() <= 1e-12 * A.norm());
        Eigen::SelfAdjointEigenSolver<MatrixXd> es(A);
        QVERIFY(es.eigenvalues().minCoeff() > 0);
        QVERIFY2((A * s0 * A - s1).norm() <= kMat * s1.norm(), qPrintable(QString::number((A * s0 * A - s1).norm())));
        QVERIFY((g.covarianceAt(0) - s0).norm() <= 1e-14 * s0.norm());
        QVERIFY((g.covarianceAt(1) - s1).norm() <= kMat * s1.norm());
        QVERIFY((g.meanAt(0) - m0).norm() < 1e-14 * (1 + m0.norm()) && (g.meanAt(1) - m1).norm() < 1e-14 * (1 + m1.norm()));
        const MatrixXd I = MatrixXd::Identity(dim, dim);
        const double transport = (m0 - m1).squaredNorm() + ((I - A) * s0 * (I - A)).trace();
        QVERIFY(std::abs(transport - g.w2sq) <= kMat * std::max(1.0, g.w2sq));
        QVERIFY(std::abs(g.w2sq - tl::buresWassersteinSq(m0, s0, m1, s1)) <= 1e-14 * std::max(1.0, g.w2sq));
        // map(x) is affine: T(m0) = m1.
        QVERIFY((g.map(m0) - m1).norm() < 1e-12 * (1 + m1.norm()));
    }

    // Constant-speed geodesic: W2^2(N(m0,S0), N(m_t,S_t)) = t^2 W2^2 and W2^2(N(m_t,S_t), N(m1,S1))
    // = (1-t)^2 W2^2 (McCann interpolation along the Brenier map). Also symmetric in its arguments
    // and sqrt(W2^2) obeys the triangle inequality (it is a metric).
    void geodesicConstantSpeed_data() {
        QTest::addColumn<int>("dim");
        QTest::newRow("2-D") << 2;
        QTest::newRow("3-D") << 3;
    }
    void geodesicConstantSpeed() {
        QFETCH(int, dim);
        tl::Rng rng(500 + dim);
        const MatrixXd s0 = randomSpd(dim, rng, 0.1), s1 = randomSpd(dim, rng, 0.1);
        const VectorXd m0 = randomVec(dim, rng, 2), m1 = randomVec(dim, rng, 2);
        const tl::GaussianOt g = tl::GaussianOt::fromParameters(m0, s0, m1, s1);
        for (double t : {0.1, 0.25, 0.5, 0.9}) {
            const double a = tl::buresWassersteinSq(m0, s0, g.meanAt(t), g.covarianceAt(t));
            const double b = tl::buresWassersteinSq(g.meanAt(t), g.covarianceAt(t), m1, s1);
            QVERIFY2(std::abs(a - t * t * g.w2sq) <= 1e-9 * g.w2sq, qPrintable(QString("t=%1: %2 vs %3").arg(t).arg(a).arg(t * t * g.w2sq)));
            QVERIFY(std::abs(b - (1 - t) * (1 - t) * g.w2sq) <= 1e-9 * g.w2sq);
        }
        QVERIFY(std::abs(tl::buresWassersteinSq(m1, s1, m0, s0) - g.w2sq) <= 1e-12 * g.w2sq);
        const MatrixXd s2 = randomSpd(dim, rng, 0.1);
        const VectorXd m2 = randomVec(dim, rng, 2);
        const double d01 = std::sqrt(g.w2sq), d12 = std::sqrt(tl::buresWassersteinSq(m1, s1, m2, s2)),
                     d02 = std::sqrt(tl::buresWassersteinSq(m0, s0, m2, s2));
        QVERIFY(d02 <= d01 + d12 + 1e-12);
        QVERIFY(tl::buresWassersteinSq(m0, s0, m0, s0) < 1e-12 * s0.trace());
    }

    // A transport map that is not the Brenier map costs more: T'(x) = m1 + S1^{1/2} S0^{-1/2}(x - m0)
    // also pushes N(m0,S0) to N(m1,S1); its cost |dm|^2 + tr(S0 + S1 - 2 S0^{1/2} S1^{1/2}) is
    // >= W2^2, with equality iff S0, S1 commute.
    void brenierBeatsOtherMaps() {
        tl::Rng rng(77);
        MatrixXd s0(2, 2), s1(2, 2);
        s0 << 2, 0.9, 0.9, 1;
        s1 << 1, -0.8, -0.8, 3;
        const VectorXd m0 = VectorXd::Zero(2), m1 = VectorXd::Ones(2);
        const double other = (m0 - m1).squaredNorm() + (s0 + s1 - 2 * tl::sqrtSpd(s0) * tl::sqrtSpd(s1)).trace();
        const double w = tl::buresWassersteinSq(m0, s0, m1, s1);
        QVERIFY2(w < other - 1e-3, qPrintable(QString("%1 vs %2").arg(w).arg(other)));
    }

    // Monte Carlo: x ~ N(m0, S0), n = 200000: T(x) has covariance S1 (5 standard errors, SE of a
    // covariance entry sqrt((S_kk S_ll + S_kl^2)/n)), and mean |x - T(x)|^2 matches W2^2 within 5
    // SE of the sample mean.
    void mapPushesForward() {
        tl::Rng rng(31);
        MatrixXd s0(2, 2), s1(2, 2);
        s0 << 1, 0.6, 0.6, 1;
        s1 << 2, -0.7, -0.7, 0.5;
        VectorXd m0(2), m1(2);
        m0 << 0, 0;
        m1 << 2, 1;
        const tl::GaussianOt g = tl::GaussianOt::fromParameters(m0, s0, m1, s1);
        const PointCloud x = tl::measureFromSpec("gaussian:n=200000,seed=3,mean=0;0,cov=1;0.6;0.6;1");
        PointCloud tx = x;
        double c = 0, c2 = 0;
        const double n = static_cast<double>(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const VectorXd xi = Eigen::Map<const VectorXd>(x.point(i), 2);
            const VectorXd ti = g.map(xi);
            tx.point(i)[0] = ti[0];
            tx.point(i)[1] = ti[1];
            const double d = (ti - xi).squaredNorm();
            c += d / n;
            c2 += d * d / n;
        }
        const MatrixXd cov = tx.covariance();
        for (int k = 0; k < 2; ++k)
            for (int l = 0; l < 2; ++l) QVERIFY(std::abs(cov(k, l) - s1(k, l)) < 5 * std::sqrt((s1(k, k) * s1(l, l) + s1(k, l) * s1(k, l)) / n));
        QVERIFY2(std::abs(c - g.w2sq) < 5 * std::sqrt((c2 - c * c) / n), qPrintable(QString("%1 vs %2").arg(c).arg(g.w2sq)));
    }

    // Bures vs the exact OT cost between samples: n = 1500 points from N(0, S0) and N((2,1), S1),
    // non-commuting covariances. The empirical W2^2 differs from the population value by sampling
    // error (sample means/covariances off by ~1/sqrt(n) ~ 3 % of the spread, plus the O(log n / n)
    // bias of empirical OT in 2-D), so 10 % is a safe bound that a wrong Bures formula misses
    // (dropping the cross term here changes W2^2 by ~50 %). Observed: 3.6 %.
    void buresVsSampledExact() {
        const PointCloud x = tl::measureFromSpec("gaussian:n=1500,seed=1,mean=0;0,cov=1;0.6;0.6;1");
        const PointCloud y = tl::measureFromSpec("gaussian:n=1500,seed=2,mean=2;1,cov=2;-0.7;-0.7;0.5");
        MatrixXd s0(2, 2), s1(2, 2);
        s0 << 1, 0.6, 0.6, 1;
        s1 << 2, -0.7, -0.7, 0.5;
        VectorXd m0(2), m1(2);
        m0 << 0, 0;
        m1 << 2, 1;
        const double bures = tl::buresWassersteinSq(m0, s0, m1, s1);
        const double exact = tl::solveExact(x, y).cost;
        qInfo("Bures %.6g, exact on samples %.6g (%.2f %%)", bures, exact, 100 * (exact - bures) / bures);
        QVERIFY(std::abs(exact - bures) < 0.1 * bures);
        // Gelbrich bound, exact for any pair of measures: W2^2 >= Bures of their moments.
        QVERIFY(exact >= tl::solveGaussian(x, y).cost - 1e-12);
    }

    // Gelbrich: for arbitrary discrete measures the exact W2^2 is >= the Bures distance of their
    // means and covariances (equality for Gaussians / translates). Small random clouds, weights.
    void gelbrichLowerBound_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<int>("seed");
        for (int d = 1; d <= 3; ++d)
            for (int s = 0; s < 4; ++s) QTest::addRow("d%d s%d", d, s) << d << 1000 * d + s;
    }
    void gelbrichLowerBound() {
        QFETCH(int, dim);
        QFETCH(int, seed);
        tl::Rng rng(seed);
        PointCloud x, y;
        x.dim = y.dim = dim;
        for (int k = 0; k < 30 * dim; ++k) x.points.push_back(rng.uniform(-1, 1) * (1 + k % dim));
        for (int k = 0; k < 25 * dim; ++k) y.points.push_back(rng.normal() + 0.5);
        for (int i = 0; i < 30; ++i) x.weights.push_back(rng.uniform());
        for (int j = 0; j < 25; ++j) y.weights.push_back(rng.uniform());
        x.normalizeWeights();
        y.normalizeWeights();
        const double exact = tl::solveExact(x, y).cost;
        const tl::OtResult gr = tl::solveGaussian(x, y);
        QVERIFY(gr.ok());
        QVERIFY(gr.method == tl::OtMethod::Gaussian);
        QVERIFY(gr.plan.empty() && gr.f.empty());
        QVERIFY2(exact >= gr.cost - 1e-12 * (1 + exact), qPrintable(QString("exact %1 < Gelbrich %2").arg(exact).arg(gr.cost)));
        // A translate: W2^2 = |v|^2 exactly, and the Gaussian cost agrees (same covariance).
        PointCloud t = x;
        for (std::size_t i = 0; i < t.size(); ++i)
            for (int k = 0; k < dim; ++k) t.point(i)[k] += 0.5 * (k + 1);
        double v2 = 0;
        for (int k = 0; k < dim; ++k) v2 += 0.25 * (k + 1) * (k + 1);
        QVERIFY(std::abs(tl::solveGaussian(x, t).cost - v2) < 1e-12 * (1 + v2));
        QVERIFY(std::abs(tl::solveExact(x, t).cost - v2) < 1e-9 * (1 + v2));
    }

    // fromClouds / solveGaussian use the clouds' weighted means and biased covariances.
    void fromCloudsUsesMoments() {
        tl::Rng rng(4);
        const PointCloud x = tl::measureFromSpec("uniform:n=500,seed=5,low=0;0;0,high=1;2;3");
        PointCloud y = tl::measureFromSpec("gaussian:n=400,seed=6,mean=1;1;1,cov=1;0.2;0;0.2;1;0.3;0;0.3;2");
        for (double& w : y.weights) w = rng.uniform();
        y.normalizeWeights();
        const tl::GaussianOt g = tl::GaussianOt::fromClouds(x, y);
        const double want = tl::buresWassersteinSq(x.mean(), x.covariance(), y.mean(), y.covariance());
        QCOMPARE(g.w2sq, want);
        QCOMPARE(tl::solveGaussian(x, y).cost, want);
        QVERIFY((g.s1 - y.covariance()).norm() == 0);
    }

    void invalidCovariances() {
        VectorXd m(2);
        m << 0, 0;
        MatrixXd good = MatrixXd::Identity(2, 2), notPsd(2, 2), asym(2, 2), singular(2, 2), nan(2, 2);
        notPsd << 1, 2, 2, 1;
        asym << 1, 0.5, 0, 1;
        singular << 1, 1, 1, 1;
        nan << 1, 0, 0, std::nan("");
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::buresWassersteinSq(m, notPsd, m, good));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::buresWassersteinSq(m, good, m, notPsd));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::buresWassersteinSq(m, asym, m, good));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::buresWassersteinSq(m, nan, m, good));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::GaussianOt::fromParameters(m, notPsd, m, good));
        // Singular S0: Bures is defined (PSD allowed), the Brenier map is not.
        VectorXd m1(2);
        m1 << 1, 0;
        QVERIFY(std::abs(tl::buresWassersteinSq(m, singular, m1, singular) - 1.0) < 1e-12);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::GaussianOt::fromParameters(m, singular, m, good));
        // Size mismatches.
        VectorXd m3 = VectorXd::Zero(3);
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::buresWassersteinSq(m, good, m3, MatrixXd::Identity(3, 3)));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::buresWassersteinSq(m, MatrixXd::Identity(3, 3), m, good));
        const PointCloud a = tl::measureFromSpec("gaussian:n=10,dim=2"), b = tl::measureFromSpec("gaussian:n=10,dim=3");
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::solveGaussian(a, b));
        QVERIFY_THROWS_EXCEPTION(tl::Error, tl::GaussianOt::fromClouds(a, b));
    }
};

QTEST_GUILESS_MAIN(TestGaussian)
#include "tst_gaussian.moc"
