// Tokens as interacting particles (science.md §6): the attention reduction against the dense
// matrix, the Sinkformer's doubly stochastic P, the Gaussian closure (30) and its blow-up time,
// clustering on the sphere, the cluster / cosine / energy statistics against brute force, bad input.
#include "engine/runner.h"
#include "engine/scenario.h"
#include "measure/spec.h"
#include "tokens/attention_kernel.h"
#include "tokens/clusters.h"
#include "util/error.h"
#include "util/rng.h"

#include <QtTest>

#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct Run {
    std::vector<tl::FramePtr> frames;
    tl::RunSummary summary;
};

Run runPanel(const std::string& json, std::size_t panel = 0) {
    const tl::Scenario s = tl::parseScenario(json, ".", "test");
    tl::Runner r(s, 0);
    r.start();
    if (!r.waitIdle(600s)) throw tl::Error("timed out");
    const tl::PanelStatus st = r.status(panel);
    if (st.state != tl::PanelState::Done) throw tl::Error("panel failed: " + st.error);
    return {r.history(panel)->snapshot(), st.summary};
}

Eigen::MatrixXd randomTokens(int n, int d, std::uint64_t seed, double scale = 1) {
    tl::Rng rng(seed);
    Eigen::MatrixXd X(n, d);
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < d; ++k) X(i, k) = scale * rng.normal();
    return X;
}

Eigen::MatrixXd frameCov(const tl::Frame& f) {
    const int d = f.dim;
    Eigen::MatrixXd X(static_cast<Eigen::Index>(f.rows()), d);
    for (std::size_t i = 0; i < f.rows(); ++i)
        for (int k = 0; k < d; ++k) X(static_cast<Eigen::Index>(i), k) = f.positions[i * d + k];
    const Eigen::RowVectorXd m = X.colwise().mean();
    const Eigen::MatrixXd C = X.rowwise() - m;
    return C.transpose() * C / static_cast<double>(f.rows());
}

double extra(const tl::RunSummary& s, const std::string& key) {
    for (const auto& [k, v] : s.extras)
        if (k == key) return v;
    throw tl::Error("no extra " + key);
}

}  // namespace

class TestAttention : public QObject {
    Q_OBJECT
private slots:
    void kernelMatchesDenseSoftmaxAndSinkhorn() {
        for (int d : {1, 2, 3})
            for (int sinkhorn : {0, 3}) {
                const Eigen::MatrixXd X = randomTokens(37, d, static_cast<std::uint64_t>(10 * d + sinkhorn));
                Eigen::MatrixXd A = randomTokens(d, d, 99, 0.7);  // general, non-symmetric
                const auto r = tl::tokens::attention(X, A, sinkhorn, 2);
                const Eigen::MatrixXd P = tl::tokens::reference::attentionMatrix(X, A, sinkhorn);
                const Eigen::MatrixXd expect = P * X;
                QVERIFY2((r.average - expect).cwiseAbs().maxCoeff() < 1e-10 * (1 + expect.cwiseAbs().maxCoeff()),
                         qPrintable(QString("d %1 sinkhorn %2").arg(d).arg(sinkhorn)));
                // the returned scalings reproduce P
                const Eigen::MatrixXd S = X * A * X.transpose();
                for (int i = 0; i < 37; ++i)
                    for (int j = 0; j < 37; ++j) QVERIFY(std::abs(std::exp(S(i, j) + r.f[i] + r.g[j]) - P(i, j)) < 1e-10);
            }
    }

    void floatPathAgreesWithDouble() {
        // the app's default precision: float pair sums, double scalings and averages
        const tl::Measure m = tl::sampleMeasure("sphere:n=500,dim=3,seed=4");
        const Eigen::MatrixXd X = m.cloud.matrix();
        for (double beta : {1.0, 9.0})
            for (int sinkhorn : {0, 5}) {
                const Eigen::MatrixXd A = beta * Eigen::MatrixXd::Identity(3, 3);
                const auto d = tl::tokens::attention(X, A, sinkhorn, 2, false);
                const auto f = tl::tokens::attention(X, A, sinkhorn, 2, true);
                const double err = (d.average - f.average).cwiseAbs().maxCoeff();
                QVERIFY2(err < 2e-5, qPrintable(QString("beta %1 sinkhorn %2: %3").arg(beta).arg(sinkhorn).arg(err)));
            }
    }

    void sinkformerIsDoublyStochastic() {
        // 64 tokens on the sphere, beta = 1: with enough rounds rows and columns sum to 1 within 1e-6.
        const tl::Measure m = tl::sampleMeasure("sphere:n=64,dim=3,seed=2");
        const Eigen::MatrixXd X = m.cloud.matrix();
        const Eigen::MatrixXd A = Eigen::MatrixXd::Identity(3, 3);
        for (int rounds : {10, 50}) {
            const auto r = tl::tokens::attention(X, A, rounds, 2);
            const Eigen::MatrixXd S = X * A * X.transpose();
            Eigen::MatrixXd P(64, 64);
            for (int i = 0; i < 64; ++i)
                for (int j = 0; j < 64; ++j) P(i, j) = std::exp(S(i, j) + r.f[i] + r.g[j]);
            const double rowErr = (P.rowwise().sum().array() - 1).abs().maxCoeff();
            const double colErr = (P.colwise().sum().array() - 1).abs().maxCoeff();
            qInfo("Sinkformer, %d rounds: max |row sum - 1| %.2e, max |column sum - 1| %.2e", rounds, rowErr, colErr);
            QVERIFY(rowErr < 1e-12);
            QVERIFY(colErr < 1e-6);
        }
    }

    void closureTracksTheParticles() {
        // A = V = I from N(0, I/4): S(t) = S0 (I - 2t S0)^-1; particles within 3 % at t = 0.4.
        const Run r = runPanel(R"({"source": "gaussian:n=2000,cov=0.25,seed=1", "frames": 5, "duration": 0.4,
            "panels": [{"dynamics": "attention"}]})");
        const tl::Frame& f0 = *r.frames.front();
        const Eigen::MatrixXd S0 = frameCov(f0);
        for (const auto& f : r.frames) {
            QCOMPARE(f->overlays.size(), std::size_t(1));
            const Eigen::MatrixXd exact = S0 * (Eigen::MatrixXd::Identity(2, 2) - 2 * f->t * S0).inverse();
            QVERIFY2((f->overlays[0].cov - exact).norm() < 1e-6 * exact.norm(), "closure ODE != closed form");
        }
        const tl::Frame& last = *r.frames.back();
        const double err = (frameCov(last) - last.overlays[0].cov).norm() / last.overlays[0].cov.norm();
        qInfo("closure A = V = I, S0 = I/4: particle covariance vs ODE at t = 0.4: %.4f", err);
        QVERIFY(err < 0.03);
        QVERIFY(std::isnan(extra(r.summary, "closure_blow_up_time")));  // t* = 2 is beyond the horizon

        // General non-symmetric A and V: within 3 % at t = 1.
        const Run g = runPanel(R"({"source": "gaussian:n=2000,mean=0.2;-0.1,cov=0.2;0.05;0.05;0.15,seed=3", "frames": 3, "duration": 1,
            "panels": [{"dynamics": "attention", "query_key": "0.6;0.4;-0.3;0.5", "value": "1;0.3;-0.2;0.7"}]})");
        const tl::Frame& gl = *g.frames.back();
        QCOMPARE(gl.overlays.size(), std::size_t(1));
        const double gerr = (frameCov(gl) - gl.overlays[0].cov).norm() / gl.overlays[0].cov.norm();
        qInfo("closure, general A and V: particle covariance vs ODE at t = 1: %.4f (growth x%.2f)", gerr,
              gl.overlays[0].cov.norm() / frameCov(*g.frames.front()).norm());
        QVERIFY(gerr < 0.03);
    }

    void closureBlowUpIsDetected() {
        // A = V = I: S(t) = S0 (I - 2t S0)^-1 blows up at t* = 1 / (2 lambda_max(S0)).
        const Run r = runPanel(R"({"source": "gaussian:n=2000,seed=4", "frames": 11, "duration": 1,
            "panels": [{"dynamics": "attention"}]})");
        const Eigen::MatrixXd S0 = frameCov(*r.frames.front());
        const double tStar = 1 / (2 * Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(S0).eigenvalues().maxCoeff());
        const double reported = extra(r.summary, "closure_blow_up_time");
        qInfo("blow-up: reported %.8f, 1/(2 lambda_max) = %.8f (relative error %.1e)", reported, tStar, std::abs(reported - tStar) / tStar);
        QVERIFY2(std::abs(reported - tStar) < 1e-4 * tStar, qPrintable(QString::number(std::abs(reported - tStar) / tStar)));
        for (const auto& f : r.frames) {
            QCOMPARE(f->overlays.empty(), f->t >= reported);  // the overlay stops at the blow-up
            for (double v : f->positions) QVERIFY(std::isfinite(v));
            for (double v : f->velocities) QVERIFY(std::isfinite(v));
        }
    }

    void tokensClusterOnTheSphere() {
        const Run one = runPanel(R"({"source": "sphere:n=64,dim=3,seed=1", "frames": 4, "duration": 15,
            "panels": [{"dynamics": "attention", "geometry": "sphere", "beta": 1}]})");
        const Run many = runPanel(R"({"source": "sphere:n=64,dim=3,seed=1", "frames": 4, "duration": 15,
            "panels": [{"dynamics": "attention", "geometry": "sphere", "beta": 9}]})");
        const tl::Frame& a = *one.frames.back();
        const tl::Frame& b = *many.frames.back();
        qInfo("beta = 1: %g clusters, min cosine %.6f; beta = 9: %g clusters, min cosine %.4f", a.metric("clusters"), a.metric("min_cosine"),
              b.metric("clusters"), b.metric("min_cosine"));
        QCOMPARE(a.metric("clusters"), 1.0);
        QVERIFY(a.metric("min_cosine") > 0.999);
        QVERIFY(b.metric("clusters") > 1);
        QVERIFY(b.metric("min_cosine") < 0.5);
        for (const auto* f : {&a, &b})
            for (std::size_t i = 0; i < f->rows(); ++i) {
                const double r2 = f->positions[3 * i] * f->positions[3 * i] + f->positions[3 * i + 1] * f->positions[3 * i + 1] +
                                  f->positions[3 * i + 2] * f->positions[3 * i + 2];
                QVERIFY(std::abs(r2 - 1) < 1e-12);
            }
        QVERIFY(a.onUnitSphere);
        QCOMPARE(a.labels.size(), a.rows());
        // the energy E_beta grows as tokens gather (the flow is its gradient ascent on the sphere)
        QVERIFY(one.frames.back()->metric("energy") > one.frames.front()->metric("energy"));
    }

    void statisticsMatchBruteForce() {
        for (int d : {1, 2, 3}) {
            tl::Rng rng(static_cast<std::uint64_t>(d));
            const int n = 400;
            std::vector<double> x(static_cast<std::size_t>(n) * d);
            for (double& v : x) v = rng.uniform(-1, 1);
            for (double tol : {0.02, 0.1, 0.3}) {
                // brute-force components
                std::vector<int> parent(n);
                std::iota(parent.begin(), parent.end(), 0);
                std::function<int(int)> find = [&](int a) { return parent[a] == a ? a : parent[a] = find(parent[a]); };
                for (int i = 0; i < n; ++i)
                    for (int j = i + 1; j < n; ++j) {
                        double d2 = 0;
                        for (int k = 0; k < d; ++k) d2 += (x[i * d + k] - x[j * d + k]) * (x[i * d + k] - x[j * d + k]);
                        if (d2 < tol * tol) parent[find(i)] = find(j);
                    }
                int count = 0;
                for (int i = 0; i < n; ++i) count += find(i) == i;
                std::vector<int> labels;
                QCOMPARE(tl::tokens::countClusters(x.data(), n, d, tol, &labels), count);
                for (int i = 0; i < n; ++i)
                    for (int j = 0; j < n; ++j) QCOMPARE(labels[i] == labels[j], find(i) == find(j));
            }
            double mc = 1;
            for (int i = 0; i < n; ++i)
                for (int j = i + 1; j < n; ++j) {
                    double c = 0, ri = 0, rj = 0;
                    for (int k = 0; k < d; ++k) {
                        c += x[i * d + k] * x[j * d + k];
                        ri += x[i * d + k] * x[i * d + k];
                        rj += x[j * d + k] * x[j * d + k];
                    }
                    mc = std::min(mc, c / std::sqrt(ri * rj));
                }
            QVERIFY(std::abs(tl::tokens::minCosine(x.data(), n, d, 2) - mc) < 1e-12);
            for (double beta : {0.5, 4.0}) {
                double e = 0;
                for (int i = 0; i < n; ++i)
                    for (int j = 0; j < n; ++j) {
                        double c = 0;
                        for (int k = 0; k < d; ++k) c += x[i * d + k] * x[j * d + k];
                        e += std::exp(beta * c);
                    }
                e /= 2 * beta * n * n;
                QVERIFY(std::abs(tl::tokens::attentionEnergy(x.data(), n, d, beta, 2) - e) < 1e-10 * e);
            }
        }
        // collapsed tokens: one cluster, fast
        std::vector<double> same(3 * 20000, 0.3);
        QCOMPARE(tl::tokens::countClusters(same.data(), 20000, 3, 0.05), 1);
    }

    void sphereMeasure() {
        const tl::Measure m = tl::sampleMeasure("sphere:n=20000,dim=3,seed=7");
        QCOMPARE(m.cloud.dim, 3);
        const Eigen::VectorXd mean = m.cloud.mean();
        QVERIFY(mean.norm() < 0.03);
        QVERIFY((m.cloud.covariance() - Eigen::MatrixXd::Identity(3, 3) / 3).norm() < 0.02);
        for (std::size_t i = 0; i < m.cloud.size(); ++i) QVERIFY(std::abs(Eigen::Map<const Eigen::Vector3d>(m.cloud.point(i)).norm() - 1) < 1e-12);
    }

    void badInputNamesTheKey() {
        const std::vector<std::pair<std::string, std::string>> parseCases = {
            {R"("query_key": "1;2;3"})", "'query_key'"},
            {R"("query_key": "1;nan;0;1"})", "'query_key'"},
            {R"("query_key": "1;x;0;1"})", "'query_key'"},
            {R"("value": "1;0;0;1;5"})", "'value'"},
            {R"("geometry": "torus"})", "'geometry'"},
            {R"("beta": -1})", "'beta'"},
        };
        for (const auto& [panel, key] : parseCases) {
            try {
                tl::parseScenario(R"({"source": "gaussian", "panels": [{"dynamics": "attention", )" + panel + "]}", ".", "t");
                QFAIL(qPrintable(QString::fromStdString("accepted: " + panel)));
            } catch (const tl::Error& e) {
                QVERIFY2(QString(e.what()).contains(QString::fromStdString(key)), e.what());
                QVERIFY(!QString(e.what()).contains('\n'));
            }
        }
        const std::vector<std::pair<std::string, std::string>> runCases = {
            {R"({"source": "gaussian", "panels": [{"dynamics": "attention", "query_key": "1;0;0;0;1;0;0;0;1"}]})", "'query_key'"},
            {R"({"source": "gaussian:dim=3", "panels": [{"dynamics": "attention", "value": "1;0;0;1"}]})", "'value'"},
            {R"({"source": "gaussian:dim=1", "panels": [{"dynamics": "attention", "geometry": "sphere"}]})", "'geometry'"},
        };
        for (const auto& [json, key] : runCases) {
            try {
                runPanel(json);
                QFAIL(qPrintable(QString::fromStdString("accepted: " + json)));
            } catch (const tl::Error& e) {
                QVERIFY2(QString(e.what()).contains(QString::fromStdString(key)), e.what());
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestAttention)
#include "tst_attention.moc"
