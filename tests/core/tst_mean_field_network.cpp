// Two-layer networks as particles (science.md §5): the arc-cosine kernel and its gradient against
// Monte Carlo and finite differences, the population / empirical risk and its Wasserstein gradient
// against brute force, the Gaussian closure (23) of a linear network against the particles, a ReLU
// student learning a 3-neuron teacher, the teacher report, cancellation, bad input naming the key.
#include "engine/runner.h"
#include "engine/scenario.h"
#include "neural/two_layer.h"
#include "util/error.h"
#include "util/rng.h"

#include <QElapsedTimer>
#include <QtTest>

#include <chrono>
#include <cmath>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct PanelRun {
    std::vector<tl::FramePtr> frames;
    tl::RunSummary summary;
};

PanelRun runPanel(const std::string& json) {
    const tl::Scenario s = tl::parseScenario(json, ".", "test");
    tl::Runner r(s, 0);
    r.start();
    if (!r.waitIdle(600s)) throw tl::Error("timed out");
    const tl::PanelStatus st = r.status(0);
    if (st.state != tl::PanelState::Done) throw tl::Error("panel failed: " + st.error);
    return {r.history(0)->snapshot(), st.summary};
}

// Mean and (biased, weighted) covariance of a frame's particles.
std::pair<Eigen::VectorXd, Eigen::MatrixXd> moments(const tl::Frame& f) {
    const int d = f.dim;
    Eigen::VectorXd m = Eigen::VectorXd::Zero(d);
    Eigen::MatrixXd S = Eigen::MatrixXd::Zero(d, d);
    for (std::size_t i = 0; i < f.rows(); ++i)
        for (int r = 0; r < d; ++r) m[r] += f.weights[i] * f.positions[i * d + r];
    for (std::size_t i = 0; i < f.rows(); ++i)
        for (int r = 0; r < d; ++r)
            for (int q = 0; q < d; ++q) S(r, q) += f.weights[i] * (f.positions[i * d + r] - m[r]) * (f.positions[i * d + q] - m[q]);
    return {m, S};
}

double relu(double z) { return z > 0 ? z : 0; }

// Mean and standard error of samples.
struct Estimate {
    double mean = 0, se = 0;
};
Estimate estimate(const std::vector<double>& v) {
    double m = 0, s2 = 0;
    for (double x : v) m += x / v.size();
    for (double x : v) s2 += (x - m) * (x - m) / (v.size() - 1);
    return {m, std::sqrt(s2 / v.size())};
}

}  // namespace

class TestMeanFieldNetwork : public QObject {
    Q_OBJECT
private slots:
    void arcCosineKernelAgainstMonteCarlo() {
        const std::size_t M = 200000;
        for (int d : {1, 2}) {
            tl::Rng rng(11 + d);
            std::vector<double> X(M * d);
            for (double& v : X) v = rng.normal();
            std::vector<std::pair<std::vector<double>, std::vector<double>>> cases;
            if (d == 2)
                cases = {{{1, 0.5}, {-0.3, 0.8}}, {{0.7, -1.2}, {1.1, 0.4}}, {{0.6, 0.2}, {1.2, 0.4}} /* t = 0 */,
                         {{0.6, 0.2}, {-0.3, -0.1}} /* t = pi */, {{1, -0.5}, {1e-9, 2e-9}} /* |v| -> 0 */};
            else
                cases = {{{1.3}, {-0.7}}, {{0.8}, {2.0}}, {{-0.5}, {-1.5}}};
            for (const auto& [u, v] : cases) {
                std::vector<double> ks(M), gs(M * d);
                for (std::size_t s = 0; s < M; ++s) {
                    double ux = 0, vx = 0;
                    for (int c = 0; c < d; ++c) ux += u[c] * X[s * d + c], vx += v[c] * X[s * d + c];
                    ks[s] = relu(ux) * relu(vx);
                    for (int c = 0; c < d; ++c) gs[c * M + s] = vx > 0 ? relu(ux) * X[s * d + c] : 0.0;
                }
                const Estimate ke = estimate(ks);
                const double k = tl::nn::reluKernel(u.data(), v.data(), d);
                QVERIFY(std::isfinite(k));
                QVERIFY2(std::abs(k - ke.mean) <= 4 * ke.se + 1e-12,
                         qPrintable(QString("d %1: k %2, Monte Carlo %3 +- %4").arg(d).arg(k).arg(ke.mean).arg(ke.se)));
                double g[2];
                tl::nn::reluKernelGrad(u.data(), v.data(), d, g);
                for (int c = 0; c < d; ++c) {
                    const Estimate ge = estimate(std::vector<double>(gs.begin() + c * M, gs.begin() + (c + 1) * M));
                    QVERIFY(std::isfinite(g[c]));
                    QVERIFY2(std::abs(g[c] - ge.mean) <= 4 * ge.se + 1e-12,
                             qPrintable(QString("d %1: grad %2, Monte Carlo %3 +- %4").arg(d).arg(g[c]).arg(ge.mean).arg(ge.se)));
                }
                // central finite differences in v (k is C^1 away from v = 0, including t = 0 and pi)
                if (std::sqrt(v[0] * v[0] + (d == 2 ? v[1] * v[1] : 0)) < 1e-3) continue;
                for (int c = 0; c < d; ++c) {
                    const double h = 1e-6;
                    std::vector<double> vp = v, vm = v;
                    vp[c] += h;
                    vm[c] -= h;
                    const double fd = (tl::nn::reluKernel(u.data(), vp.data(), d) - tl::nn::reluKernel(u.data(), vm.data(), d)) / (2 * h);
                    QVERIFY2(std::abs(fd - g[c]) < 1e-7, qPrintable(QString("finite difference %1 vs %2").arg(fd).arg(g[c])));
                }
            }
        }
        // guards: v = 0 and u = 0 give 0, never NaN; the kernel is symmetric and k(u, u) = |u|^2 / 2
        const double u[2] = {0.4, -0.9}, z[2] = {0, 0}, tiny[2] = {1e-300, 0};
        double g[2];
        QCOMPARE(tl::nn::reluKernel(u, z, 2), 0.0);
        QCOMPARE(tl::nn::reluKernel(z, u, 2), 0.0);
        tl::nn::reluKernelGrad(u, z, 2, g);
        QVERIFY(g[0] == 0 && g[1] == 0);
        tl::nn::reluKernelGrad(z, u, 2, g);
        QVERIFY(g[0] == 0 && g[1] == 0);
        tl::nn::reluKernelGrad(u, tiny, 2, g);
        QVERIFY(std::isfinite(g[0]) && std::isfinite(g[1]));
        const double v[2] = {1.5, 0.2};
        QVERIFY(std::abs(tl::nn::reluKernel(u, v, 2) - tl::nn::reluKernel(v, u, 2)) < 1e-15);
        QVERIFY(std::abs(tl::nn::reluKernel(u, u, 2) - 0.5 * (0.16 + 0.81)) < 1e-15);
    }

    void riskAgainstMonteCarloAndGradientAgainstFiniteDifferences() {
        const std::size_t M = 200000;
        for (int d : {1, 2})
            for (auto act : {tl::nn::Activation::Relu, tl::nn::Activation::Linear}) {
                const char* name = act == tl::nn::Activation::Relu ? "relu" : "linear";
                const int s = d + 1, n = 6;
                tl::Rng rng(100 + d);
                std::vector<double> theta(n * s), p(n);
                for (double& v : theta) v = rng.normal();
                double ps = 0;
                for (double& v : p) ps += (v = rng.uniform(0.5, 1.5));
                for (double& v : p) v /= ps;
                const tl::nn::Teacher T = tl::nn::makeTeacher(3, d, 5);
                const tl::nn::TwoLayerRisk risk(act, T);
                std::vector<double> grad(n * s);
                const double F = risk.evaluate(theta.data(), p.data(), n, grad.data(), 2);
                // brute force: 1/2 (f(x) - y(x))^2 over x ~ N(0, I)
                std::vector<double> loss(M);
                tl::Rng xr(7);
                std::vector<double> x(d);
                for (std::size_t m = 0; m < M; ++m) {
                    for (double& v : x) v = xr.normal();
                    double f = 0;
                    for (int i = 0; i < n; ++i) {
                        double z = 0;
                        for (int c = 0; c < d; ++c) z += theta[i * s + 1 + c] * x[c];
                        f += p[i] * theta[i * s] * (act == tl::nn::Activation::Relu ? relu(z) : z);
                    }
                    loss[m] = 0.5 * (f - T.label(x.data(), act)) * (f - T.label(x.data(), act));
                }
                const Estimate e = estimate(loss);
                qInfo("%s, d = %d: population risk %.6f, Monte Carlo %.6f +- %.6f", name, d, F, e.mean, e.se);
                QVERIFY(std::abs(F - e.mean) <= 4 * e.se);
                // dF/dtheta_i = p_i grad_theta (dF/dmu)(theta_i), for the population and an empirical risk
                const tl::nn::TwoLayerRisk emp(act, T, 500, 3);
                for (const tl::nn::TwoLayerRisk* r : {&risk, &emp}) {
                    r->evaluate(theta.data(), p.data(), n, grad.data(), 1);
                    for (int k = 0; k < n * s; ++k) {
                        const double h = 1e-6;
                        std::vector<double> tp = theta, tm = theta;
                        tp[k] += h;
                        tm[k] -= h;
                        const double fd = (r->evaluate(tp.data(), p.data(), n, nullptr, 1) - r->evaluate(tm.data(), p.data(), n, nullptr, 1)) / (2 * h);
                        QVERIFY2(std::abs(fd - p[k / s] * grad[k]) < 1e-7,
                                 qPrintable(QString("%1 d %2 coordinate %3: %4 vs %5").arg(name).arg(d).arg(k).arg(fd).arg(p[k / s] * grad[k])));
                    }
                }
                // a large empirical sample approaches the population risk
                const tl::nn::TwoLayerRisk big(act, T, 200000, 9);
                const double Fe = big.evaluate(theta.data(), p.data(), n, nullptr, 2);
                QVERIFY2(std::abs(Fe - F) <= 5 * e.se, qPrintable(QString("empirical %1 vs population %2").arg(Fe).arg(F)));
            }
    }

    void teacherDraws() {
        for (int d : {1, 2}) {
            const tl::nn::Teacher T = tl::nn::makeTeacher(7, d, 3);
            QCOMPARE(T.size(), 7);
            for (int j = 0; j < 7; ++j) {
                double r2 = 0;
                for (int c = 0; c < d; ++c) r2 += T.w[j * d + c] * T.w[j * d + c];
                QVERIFY(std::abs(r2 - 1) < 1e-12);
                QVERIFY(std::abs(T.a[j]) >= 0.5 && std::abs(T.a[j]) <= 1.5);
                QVERIFY((T.a[j] > 0) == (j % 2 == 0));
            }
            const auto rows = T.rows();
            QCOMPARE(rows.size(), std::size_t(7));
            QCOMPARE(rows[3].size(), std::size_t(1 + d));
            QCOMPARE(rows[3][0], T.a[3]);
            // seeded: the same seed, the same teacher
            QCOMPARE(tl::nn::makeTeacher(7, d, 3).w, T.w);
        }
    }

    void linearNetworkFollowsGaussianClosure() {
        // Prop. 6.2: particles' mean and covariance track the closure ODE (population: C = I, c = beta*;
        // empirical: the sample's moments).
        for (const std::string riskKind : {"population", "empirical"}) {
            QElapsedTimer timer;
            timer.start();
            const auto run = runPanel(R"({"source": "gaussian:n=2000,mean=0.5;0.3;-0.4,cov=0.3;0.1;0.05;0.1;0.4;-0.1;0.05;-0.1;0.2,seed=3",
                "frames": 11, "duration": 10, "panels": [{"dynamics": "mean-field-network", "activation": "linear", "risk": ")" + riskKind + R"("}]})");
            QCOMPARE(run.frames.size(), std::size_t(11));
            double worstMean = 0, worstCov = 0;
            for (const auto& f : run.frames) {
                QCOMPARE(f->dim, 3);
                QCOMPARE(f->overlays.size(), std::size_t(1));
                QCOMPARE(QString::fromStdString(f->overlays[0].label), QString("Gaussian closure (23)"));
                const auto [m, S] = moments(*f);
                const double em = (m - f->overlays[0].mean).norm() / f->overlays[0].mean.norm();
                const double eS = (S - f->overlays[0].cov).norm() / f->overlays[0].cov.norm();
                worstMean = std::max(worstMean, em);
                worstCov = std::max(worstCov, eS);
                // Integrator level: the particles' own moments follow the closure ODE to ~1e-10 (the
                // closure starts from the sample's moments); 1e-9 fails on any wrong term of (23).
                QVERIFY2(em < 1e-9 && eS < 1e-9, qPrintable(QString("t = %1: mean %2, covariance %3").arg(f->t).arg(em).arg(eS)));
                QCOMPARE(f->velocities.size(), f->positions.size());
            }
            const double l0 = run.frames.front()->metric("loss"), l1 = run.frames.back()->metric("loss");
            qInfo("linear closure, %s risk: worst relative error mean %.2e, covariance %.2e; loss %.4g -> %.4g (%.0f ms)", riskKind.c_str(),
                  worstMean, worstCov, l0, l1, double(timer.elapsed()));
            for (std::size_t k = 1; k < run.frames.size(); ++k) QVERIFY(run.frames[k]->metric("loss") <= run.frames[k - 1]->metric("loss") + 1e-12);
            QVERIFY(l1 < 1e-3 * l0);  // the teacher is linear too: the minimum is 0 for both risks
            // the covariance has moved: the check compares a non-trivial evolution
            QVERIFY((moments(*run.frames.back()).second - moments(*run.frames.front()).second).norm() > 0.1);
        }
    }

    void reluStudentLearnsTeacher() {
        QElapsedTimer timer;
        timer.start();
        const auto run = runPanel(R"({"source": "gaussian:n=1000,dim=3,seed=2", "frames": 6, "duration": 100,
            "panels": [{"dynamics": "mean-field-network"}]})");
        const double l0 = run.frames.front()->metric("loss"), l1 = run.frames.back()->metric("loss");
        QString curve;
        for (const auto& f : run.frames) curve += QString(" %1").arg(f->metric("loss"), 0, 'g', 3);
        qInfo("relu, 1000 neurons, 3-neuron teacher: loss%s; fell %.0fx by t = 100 (%ld evaluations, %.1f s)", qPrintable(curve), l0 / l1,
              run.summary.nfe, timer.elapsed() / 1000.0);
        QVERIFY(l1 * 100 <= l0);
        for (std::size_t k = 1; k < run.frames.size(); ++k) QVERIFY(run.frames[k]->metric("loss") <= run.frames[k - 1]->metric("loss") * (1 + 1e-9));
        // the teacher: table of k rows [a, w1, w2] and the markers in neuron space
        QCOMPARE(run.summary.tables.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(run.summary.tables[0].first), QString("teacher"));
        const auto& rows = run.summary.tables[0].second;
        QCOMPARE(rows.size(), std::size_t(3));
        for (const auto& r : rows) QCOMPARE(r.size(), std::size_t(3));
        const tl::Frame& last = *run.frames.back();
        QCOMPARE(last.markers.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(last.markers[0].label), QString("teacher"));
        QCOMPARE(last.markers[0].dim, 3);
        QCOMPARE(last.markers[0].points.size(), std::size_t(9));
        QCOMPARE(last.markers[0].points[3], rows[1][0]);
        QVERIFY(last.overlays.empty());
        // the velocities are the drift, one per coordinate
        QCOMPARE(last.velocities.size(), last.positions.size());
        for (double v : last.velocities) QVERIFY(std::isfinite(v));
    }

    void empiricalRiskDecreases() {
        const auto run = runPanel(R"({"source": "gaussian:n=300,dim=2,cov=0.25,seed=4", "frames": 5, "duration": 20,
            "panels": [{"dynamics": "mean-field-network", "input_dim": 1, "risk": "empirical", "samples": 200, "seed": 5, "steps": 400}]})");
        const double l0 = run.frames.front()->metric("loss"), l1 = run.frames.back()->metric("loss");
        qInfo("empirical risk, d = 1: loss %.4g -> %.4g", l0, l1);
        for (std::size_t k = 1; k < run.frames.size(); ++k) QVERIFY(run.frames[k]->metric("loss") <= run.frames[k - 1]->metric("loss") + 1e-12);
        QVERIFY(l1 < 0.1 * l0);
        QCOMPARE(run.summary.tables[0].second.size(), std::size_t(3));
        QCOMPARE(run.summary.tables[0].second[0].size(), std::size_t(2));
    }

    void cancelsBetweenSteps() {
        const tl::Scenario s = tl::parseScenario(R"({"source": "gaussian:n=1000,dim=3,cov=0.01", "frames": 3, "duration": 100,
            "panels": [{"dynamics": "mean-field-network", "steps": 10000000}]})", ".", "test");
        tl::Runner r(s, 0);
        r.start();
        std::this_thread::sleep_for(300ms);
        QElapsedTimer timer;
        timer.start();
        r.cancel();
        QVERIFY(r.waitIdle(10s));
        QCOMPARE(r.status(0).state, tl::PanelState::Cancelled);
        qInfo("cancelled in %lld ms", timer.elapsed());
    }

    void badInputNamesTheKey() {
        const std::string head = R"({"source": "gaussian", "panels": [{"dynamics": "mean-field-network", )";
        const std::vector<std::pair<std::string, std::string>> cases = {
            {R"("teacher_neurons": 0})", "'teacher_neurons'"},
            {R"("teacher_neurons": 1001})", "'teacher_neurons'"},
            {R"("samples": 0})", "'samples'"},
            {R"("activation": "tanh"})", "'activation'"},
            {R"("input_dim": 3})", "'input_dim'"},
            {R"("risk": "bayes"})", "'risk'"},
        };
        for (const auto& [panel, key] : cases) {
            try {
                tl::parseScenario(head + panel + "]}", ".", "t");
                QFAIL(qPrintable(QString::fromStdString("accepted: " + panel)));
            } catch (const tl::Error& e) {
                QVERIFY2(QString(e.what()).contains(QString::fromStdString(key)), e.what());
                QVERIFY(!QString(e.what()).contains('\n'));
            }
        }
        // the source must be (1 + d)-D: the run fails naming 'input_dim' and the source's dimension
        for (const auto& [src, d] : std::vector<std::pair<std::string, int>>{{"gaussian:n=10", 2}, {"gaussian:n=10,dim=3", 1}}) {
            try {
                runPanel(R"({"source": ")" + src + R"(", "panels": [{"dynamics": "mean-field-network", "input_dim": )" + std::to_string(d) + "}]}");
                QFAIL("accepted");
            } catch (const tl::Error& e) {
                const QString msg(e.what());
                QVERIFY2(msg.contains("'input_dim'") && msg.contains(d == 2 ? "2-D" : "3-D") && !msg.contains('\n'), e.what());
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestMeanFieldNetwork)
#include "tst_mean_field_network.moc"
