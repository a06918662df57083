// Tests MlpField, the learned flow-matching field (science.md §2, loss (8)).
// Checked against finite differences (backprop), the closed-form Gaussian -> Gaussian field (Prop. 3.2) and its
// minimal loss (the conditional variance), the OT-coupling ordering of losses, cancellation and input validation.
#include <QtTest>

#include <chrono>
#include <cmath>
#include <vector>

#include "flows/mlp_field.h"
#include "measure/point_cloud.h"
#include "util/error.h"
#include "util/rng.h"

using Eigen::MatrixXd;
using Eigen::VectorXd;
using tl::MlpField;
using tl::MlpFieldOptions;
using tl::PointCloud;

namespace {

// n samples of N(m, L L^T), uniform weights.
PointCloud gaussianCloud(std::size_t n, const VectorXd& m, const MatrixXd& L, tl::Rng& rng) {
    const int d = static_cast<int>(m.size());
    std::vector<double> pts;
    pts.reserve(n * d);
    VectorXd z(d);
    for (std::size_t i = 0; i < n; ++i) {
        for (int k = 0; k < d; ++k) z[k] = rng.normal();
        const VectorXd x = m + L * z;
        for (int k = 0; k < d; ++k) pts.push_back(x[k]);
    }
    return PointCloud::withUniformWeights(d, std::move(pts));
}

// Equal mixture of isotropic Gaussians N(c_k, sd^2 I), c_k the rows of centers.
PointCloud mixtureCloud(std::size_t n, const MatrixXd& centers, double sd, tl::Rng& rng) {
    const int d = static_cast<int>(centers.cols());
    std::vector<double> pts;
    for (std::size_t i = 0; i < n; ++i) {
        const Eigen::Index c = static_cast<Eigen::Index>(rng.below(centers.rows()));
        for (int k = 0; k < d; ++k) pts.push_back(centers(c, k) + sd * rng.normal());
    }
    return PointCloud::withUniformWeights(d, std::move(pts));
}

struct Gaussian2 {
    VectorXd m0, m1;
    MatrixXd S0, S1;
    MatrixXd St(double t) const { return (1 - t) * (1 - t) * S0 + t * t * S1; }
    VectorXd mt(double t) const { return (1 - t) * m0 + t * m1; }
    // Prop. 3.2: v_t(x) = (m1 - m0) + A_t (x - m_t), A_t = (t S1 - (1-t) S0) S_t^{-1}.
    MatrixXd field(double t, const MatrixXd& x) const {
        const MatrixXd A = (t * S1 - (1 - t) * S0) * St(t).inverse();
        return ((x.rowwise() - mt(t).transpose()) * A.transpose()).rowwise() + (m1 - m0).transpose();
    }
    // Minimum of loss (8) under the independent coupling: E_t tr Cov(x1 - x0 | x_t). With u = x1 - x0 and
    // C_t = Cov(u, x_t) = t S1 - (1-t) S0: Cov(u | x_t) = S0 + S1 - C_t S_t^{-1} C_t^T (jointly Gaussian).
    double minimalLoss() const {
        const int n = 2000;  // composite Simpson on [0, 1]; the integrand is smooth (S_t > 0)
        auto f = [&](double t) {
            const MatrixXd C = t * S1 - (1 - t) * S0;
            return (S0 + S1 - C * St(t).inverse() * C.transpose()).trace();
        };
        double s = f(0) + f(1);
        for (int i = 1; i < n; ++i) s += (i % 2 ? 4 : 2) * f(static_cast<double>(i) / n);
        return s / (3.0 * n);
    }
};

// Relative RMS error sqrt(sum |a - b|^2 / sum |b|^2).
double relRms(const MatrixXd& a, const MatrixXd& b) {
    return std::sqrt((a - b).squaredNorm() / b.squaredNorm());
}

}  // namespace

class TestMlpField : public QObject {
    Q_OBJECT

private:
    // Trained once (defaults: 3000 steps, batch 256, independent coupling) and shared by the Gaussian tests.
    Gaussian2 gauss_;
    MlpField gaussField_;
    MlpFieldOptions gaussOpt_;

private slots:
    void initTestCase();
    void gradientCheck_data();
    void gradientCheck();
    void gradientCheckNormalised();
    void gaussianField();
    void lossDecreasesToConditionalVariance();
    void otCouplingLowersLoss_data();
    void otCouplingLowersLoss();
    void cancel();
    void deterministicAcrossThreads();
    void badInput();
};

void TestMlpField::initTestCase() {
    tl::Rng rng(11);
    gauss_.m0 = VectorXd::Zero(2);
    gauss_.m1 = (VectorXd(2) << 1.5, -0.5).finished();
    const MatrixXd L0 = MatrixXd::Identity(2, 2);
    const MatrixXd L1 = (MatrixXd(2, 2) << 1.2, 0.0, 0.5, 0.45).finished();  // S1 = [[1.44, 0.6], [0.6, 0.4525]]
    // Large clouds, so that the empirical FM field is close to the Gaussian one; the closed form below uses the
    // clouds' own moments, removing the sampling error of mean and covariance.
    const PointCloud src = gaussianCloud(20000, gauss_.m0, L0, rng);
    const PointCloud tgt = gaussianCloud(20000, gauss_.m1, L1, rng);
    gauss_.m0 = src.mean();
    gauss_.S0 = src.covariance();
    gauss_.m1 = tgt.mean();
    gauss_.S1 = tgt.covariance();
    gaussOpt_.seed = 5;
    gaussOpt_.threads = 2;
    const auto t0 = std::chrono::steady_clock::now();
    gaussField_.train(src, tgt, gaussOpt_);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    qInfo("defaults, independent coupling, 2-D, 2 threads: %d steps in %.2f s = %.0f steps/s", gaussOpt_.iterations, sec,
          gaussOpt_.iterations / sec);
    QCOMPARE(gaussField_.iterationsDone(), gaussOpt_.iterations);
    QVERIFY(gaussField_.trained());
}

void TestMlpField::gradientCheck_data() {
    QTest::addColumn<int>("dim");
    QTest::addColumn<int>("batch");
    QTest::newRow("1-D, B = 9") << 1 << 9;
    QTest::newRow("2-D, B = 70 (two chunks)") << 2 << 70;
    QTest::newRow("3-D, B = 13") << 3 << 13;
}

// Backprop against central finite differences, every parameter of a tiny network (hidden 6, 2 hidden layers),
// with random non-zero biases. Central differences have O(h^2) truncation (~1e-10 here) and O(eps/h) rounding
// (~1e-11), so a relative error of 1e-5 leaves a wide margin yet any wrong term (a missing SiLU' factor, a
// transposed product, a dropped bias gradient) gives errors of order 1.
void TestMlpField::gradientCheck() {
    QFETCH(int, dim);
    QFETCH(int, batch);
    MlpFieldOptions opt;
    opt.hidden = 6;
    opt.layers = 2;
    opt.seed = 3;
    MlpField f;
    f.initialize(dim, opt);
    tl::Rng rng(100 + dim);
    VectorXd theta = f.parameters();
    for (Eigen::Index k = 0; k < theta.size(); ++k) theta[k] += 0.3 * rng.normal();
    f.setParameters(theta);
    VectorXd t(batch);
    MatrixXd x0(batch, dim), x1(batch, dim);
    for (int i = 0; i < batch; ++i) {
        t[i] = rng.uniform();
        for (int k = 0; k < dim; ++k) x0(i, k) = rng.normal(), x1(i, k) = 2 + 0.5 * rng.normal();
    }
    VectorXd grad;
    const double loss = f.lossAndGradient(t, x0, x1, &grad);
    QVERIFY(loss > 0);
    QCOMPARE(grad.size(), theta.size());
    VectorXd fd(theta.size());
    const double h = 1e-5;
    for (Eigen::Index k = 0; k < theta.size(); ++k) {
        VectorXd p = theta;
        p[k] = theta[k] + h;
        f.setParameters(p);
        const double lp = f.lossAndGradient(t, x0, x1, nullptr);
        p[k] = theta[k] - h;
        f.setParameters(p);
        const double lm = f.lossAndGradient(t, x0, x1, nullptr);
        fd[k] = (lp - lm) / (2 * h);
    }
    const double rel = (grad - fd).norm() / fd.norm();
    const double maxAbs = (grad - fd).cwiseAbs().maxCoeff() / fd.cwiseAbs().maxCoeff();
    qInfo("d = %d, %lld parameters: |g - fd| / |fd| = %.2e, max component error / max |fd| = %.2e", dim,
          static_cast<long long>(theta.size()), rel, maxAbs);
    QVERIFY(rel < 1e-5);
    QVERIFY(maxAbs < 1e-5);
}

// The same check through the data normalisation (centre, scale != 1) of a trained default-size network, on a
// random subset of its parameters.
void TestMlpField::gradientCheckNormalised() {
    MlpField f = gaussField_;
    tl::Rng rng(21);
    const int B = 16;
    VectorXd t(B);
    MatrixXd x0(B, 2), x1(B, 2);
    for (int i = 0; i < B; ++i) {
        t[i] = rng.uniform();
        for (int k = 0; k < 2; ++k) x0(i, k) = rng.normal(), x1(i, k) = 1 + rng.normal();
    }
    const VectorXd theta = f.parameters();
    VectorXd grad;
    f.lossAndGradient(t, x0, x1, &grad);
    double num = 0, den = 0;
    const double h = 1e-5;
    for (int s = 0; s < 300; ++s) {
        const Eigen::Index k = static_cast<Eigen::Index>(rng.below(theta.size()));
        VectorXd p = theta;
        p[k] = theta[k] + h;
        f.setParameters(p);
        const double lp = f.lossAndGradient(t, x0, x1, nullptr);
        p[k] = theta[k] - h;
        f.setParameters(p);
        const double lm = f.lossAndGradient(t, x0, x1, nullptr);
        const double fd = (lp - lm) / (2 * h);
        num += (grad[k] - fd) * (grad[k] - fd);
        den += fd * fd;
    }
    const double rel = std::sqrt(num / den);
    qInfo("trained network (%d parameters), 300 sampled: relative gradient error %.2e", f.parameterCount(), rel);
    QVERIFY(rel < 1e-5);
}

// Prop. 3.2: for N(m0, S0) -> N(m1, S1) with the independent coupling the minimiser of (8) is the linear field
// v_t(x) = (m1 - m0) + A_t (x - m_t). The network is compared with it at t in [0.1, 0.9] on points within two
// standard deviations of m_t (where training data lie). Tolerance 0.06 relative RMS (measured ~0.02-0.03): the
// net has finite capacity, and Adam on minibatch losses whose targets have O(1) conditional variance leaves SGD
// noise in the weights (a few percent of |v|, with the step size decayed to 1/10); a wrong loss, target or time
// embedding gives errors of order 1, as does an untrained network (checked too). The x-dependent part
// A_t (x - m_t) alone is checked at 0.12 (measured ~0.05), so a field that only learned the mean drift fails.
void TestMlpField::gaussianField() {
    tl::Rng rng(31);
    MlpField untrained;
    untrained.initialize(2, gaussOpt_);
    double worst = 0, worstUntrained = INFINITY;
    MatrixXd allLearned, allExact;
    for (double t : {0.1, 0.3, 0.5, 0.7, 0.9}) {
        const Eigen::LLT<MatrixXd> llt(gauss_.St(t));
        const MatrixXd L = llt.matrixL();
        const int n = 400;
        MatrixXd x(n, 2);
        for (int i = 0; i < n; ++i) {
            Eigen::Vector2d z;
            do z = Eigen::Vector2d(rng.normal(), rng.normal());
            while (z.norm() > 2);
            x.row(i) = (gauss_.mt(t) + L * z).transpose();
        }
        const MatrixXd exact = gauss_.field(t, x);
        const MatrixXd learned = gaussField_.velocity(t, x);
        const double e = relRms(learned, exact), eu = relRms(untrained.velocity(t, x), exact);
        // The part of the field that depends on x (A_t (x - m_t)), to make sure it is learned, not just the mean.
        const MatrixXd dev = exact.rowwise() - (gauss_.m1 - gauss_.m0).transpose();
        const double eDev = std::sqrt((learned - exact).squaredNorm() / dev.squaredNorm());
        qInfo("t = %.1f: relative RMS error %.4f (untrained %.3f); relative to |A_t (x - m_t)|: %.4f", t, e, eu, eDev);
        worst = std::max(worst, e);
        worstUntrained = std::min(worstUntrained, eu);
        QVERIFY(eDev < 0.12);
    }
    QVERIFY(worst < 0.06);
    QVERIFY(worstUntrained > 0.5);
}

// The average loss falls from its start to just above the minimum of (8) for the independent coupling, the
// integrated conditional variance E_t tr Cov(x1 - x0 | x_t) (computed in closed form; it is large here, about half
// the initial loss, so "well below" is measured on the reducible part, initial - minimum). No field can go below
// the minimum (up to the noise of the running average of minibatch losses, ~1%), and a good fit comes within a
// few percent of it.
void TestMlpField::lossDecreasesToConditionalVariance() {
    const std::vector<double>& h = gaussField_.lossHistory();
    QCOMPARE(static_cast<int>(h.size()), gaussOpt_.iterations);
    double initial = 0;
    for (int i = 0; i < 20; ++i) initial += h[i] / 20;
    const double final = gaussField_.lastLoss();
    const double lmin = gauss_.minimalLoss();
    qInfo("loss: initial %.4f, final %.4f, theoretical minimum %.4f (final / minimum = %.4f)", initial, final, lmin,
          final / lmin);
    QVERIFY(lmin > 0);
    QVERIFY(final < initial);
    QVERIFY(final - lmin < 0.05 * (initial - lmin));  // >= 95% of the reducible loss is gone
    QVERIFY(final > 0.98 * lmin);
    QVERIFY(final < 1.03 * lmin);
}

void TestMlpField::otCouplingLowersLoss_data() {
    QTest::addColumn<int>("dim");
    QTest::newRow("1-D N(0,1) -> two bumps (sorted plan)") << 1;
    QTest::newRow("2-D N(0,I) -> two blobs (network simplex)") << 2;
}

// Minibatch OT pairs x0 with nearby x1 along non-crossing paths, so the conditional variance of the regression
// target x1 - x0 given x_t is far smaller than under the independent coupling (for the exact OT coupling it is
// zero). The same data, network, steps and seed: the OT loss must be well below the independent one.
void TestMlpField::otCouplingLowersLoss() {
    QFETCH(int, dim);
    tl::Rng rng(41 + dim);
    const PointCloud src = gaussianCloud(4000, VectorXd::Zero(dim), MatrixXd::Identity(dim, dim), rng);
    MatrixXd centers(2, dim);
    centers.setZero();
    centers(0, 0) = -2.5;
    centers(1, 0) = 2.5;
    if (dim > 1) centers(0, 1) = centers(1, 1) = 1.0;
    const PointCloud tgt = mixtureCloud(4000, centers, 0.4, rng);
    MlpFieldOptions opt;
    opt.iterations = 800;
    opt.batch = 128;
    opt.seed = 9;
    opt.threads = 2;
    MlpField indep, ot;
    indep.train(src, tgt, opt);
    opt.coupling = MlpFieldOptions::Coupling::MinibatchOt;
    const auto t0 = std::chrono::steady_clock::now();
    ot.train(src, tgt, opt);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    qInfo("d = %d: final loss independent %.4f, minibatch OT %.4f (ratio %.3f); OT training %.0f steps/s at B = %d", dim,
          indep.lastLoss(), ot.lastLoss(), ot.lastLoss() / indep.lastLoss(), opt.iterations / sec, opt.batch);
    QVERIFY(ot.lastLoss() > 0);
    QVERIFY(ot.lastLoss() < 0.25 * indep.lastLoss());  // measured ~0.04-0.05
}

// A callback returning false at step 40 stops there: 40 calls, 40 steps, and the weights are exactly those of
// a 40-step run with the same seed.
void TestMlpField::cancel() {
    tl::Rng rng(51);
    const PointCloud src = gaussianCloud(500, VectorXd::Zero(2), MatrixXd::Identity(2, 2), rng);
    const PointCloud tgt = gaussianCloud(500, VectorXd::Ones(2), 0.5 * MatrixXd::Identity(2, 2), rng);
    MlpFieldOptions opt;
    opt.hidden = 16;
    opt.batch = 64;
    opt.iterations = 1000;
    opt.seed = 2;
    opt.threads = 1;
    opt.finalLearningRateFactor = 1;  // constant step size: the schedule does not depend on `iterations`
    int calls = 0, lastIteration = 0;
    MlpField f;
    f.train(src, tgt, opt, [&](int it, double loss) {
        ++calls;
        lastIteration = it;
        if (!(loss > 0)) return true;  // would fail the checks below
        return it < 40;
    });
    QCOMPARE(calls, 40);
    QCOMPARE(lastIteration, 40);
    QCOMPARE(f.iterationsDone(), 40);
    QCOMPARE(static_cast<int>(f.lossHistory().size()), 40);
    QVERIFY(f.trained());
    opt.iterations = 40;
    MlpField g;
    g.train(src, tgt, opt);
    QCOMPARE(g.iterationsDone(), 40);
    QVERIFY(f.parameters() == g.parameters());
    QCOMPARE(f.velocity(0.5, MatrixXd::Zero(3, 2)).rows(), Eigen::Index(3));
}

// Gradients are summed over fixed chunks in a fixed order: the thread count does not change the result.
void TestMlpField::deterministicAcrossThreads() {
    tl::Rng rng(61);
    const PointCloud src = gaussianCloud(300, VectorXd::Zero(3), MatrixXd::Identity(3, 3), rng);
    const PointCloud tgt = gaussianCloud(300, VectorXd::Ones(3), MatrixXd::Identity(3, 3), rng);
    MlpFieldOptions opt;
    opt.hidden = 16;
    opt.iterations = 30;
    opt.batch = 200;
    opt.coupling = MlpFieldOptions::Coupling::MinibatchOt;
    opt.threads = 1;
    MlpField a, b;
    a.train(src, tgt, opt);
    opt.threads = 2;
    b.train(src, tgt, opt);
    QVERIFY(a.parameters() == b.parameters());
    const MatrixXd x = src.matrix();
    QVERIFY(a.velocity(0.3, x, 1) == b.velocity(0.3, x, 2));
}

void TestMlpField::badInput() {
    tl::Rng rng(71);
    const PointCloud a = gaussianCloud(50, VectorXd::Zero(2), MatrixXd::Identity(2, 2), rng);
    const PointCloud b3 = gaussianCloud(50, VectorXd::Zero(3), MatrixXd::Identity(3, 3), rng);
    MlpFieldOptions opt;
    opt.iterations = 5;
    MlpField f;
    auto expectError = [&](const PointCloud& s, const PointCloud& t, const MlpFieldOptions& o, const char* word) {
        try {
            f.train(s, t, o);
        } catch (const tl::Error& e) {
            if (!QString::fromUtf8(e.what()).contains(QLatin1String(word)))
                qWarning("message '%s' does not name '%s'", e.what(), word);
            return QString::fromUtf8(e.what()).contains(QLatin1String(word));
        }
        return false;
    };
    QVERIFY(expectError(a, b3, opt, "dimension mismatch"));
    QVERIFY(expectError(a, PointCloud{}, opt, "target"));
    MlpFieldOptions o = opt;
    o.batch = 0;
    QVERIFY(expectError(a, a, o, "batch"));
    o = opt;
    o.learningRate = 0;
    QVERIFY(expectError(a, a, o, "learningRate"));
    o.learningRate = -1e-3;
    QVERIFY(expectError(a, a, o, "learningRate"));
    o.learningRate = std::nan("");
    QVERIFY(expectError(a, a, o, "learningRate"));
    o = opt;
    o.finalLearningRateFactor = 0;
    QVERIFY(expectError(a, a, o, "finalLearningRateFactor"));
    o = opt;
    o.hidden = 0;
    QVERIFY(expectError(a, a, o, "hidden"));
    o = opt;
    o.layers = 0;
    QVERIFY(expectError(a, a, o, "layers"));
    o = opt;
    o.iterations = 0;
    QVERIFY(expectError(a, a, o, "iterations"));
    o = opt;
    o.coupling = MlpFieldOptions::Coupling::MinibatchOt;
    o.batch = 100000;
    QVERIFY(expectError(a, a, o, "batch"));
    QVERIFY(!f.trained());
    QVERIFY_THROWS_EXCEPTION(tl::Error, f.velocity(0.5, MatrixXd::Zero(4, 2)));  // not trained
    f.train(a, a, opt);
    QVERIFY_THROWS_EXCEPTION(tl::Error, f.velocity(0.5, MatrixXd::Zero(4, 3)));  // wrong dimension
    QCOMPARE(f.dim(), 2);
}

QTEST_GUILESS_MAIN(TestMlpField)
#include "tst_mlp_field.moc"
