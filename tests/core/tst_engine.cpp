// Tests the dynamics engine end to end through tl::Runner (science.md §2-§3): ot-displacement
// (exact plan = straight lines, kinetic energy = W2^2; gaussian = Bures geodesic, with and without
// gauge), flow-matching (Prop. 3.2 covariances, closed-form memorisation, convergence in steps),
// diffusion (ODE vs SDE marginals, ODE = FM closed-form by Prop. 3.3), and the Runner itself
// (cancel latency, restart on new parameters, frame integrity, failing panels). Truth: exact OT
// (solveExact), closed-form Gaussian OT, matrix ODEs of linear fields, sampling error bounds.
#include "dynamics/common.h"
#include "engine/dynamics.h"
#include "engine/frame.h"
#include "engine/metrics.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "flows/gaussian_path.h"
#include "flows/integrators.h"
#include "measure/point_cloud.h"
#include "ot/exact.h"
#include "ot/gaussian.h"
#include "ot/sinkhorn.h"
#include "util/error.h"

#include <QtTest>

#include "test_support.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <thread>
#include <vector>

using Eigen::MatrixXd;
using Eigen::VectorXd;
using namespace std::chrono_literals;

namespace {

using KV = std::vector<std::pair<std::string, tl::ParamValue>>;

// A panel of `dynamics` with its declared defaults and the given (validated) parameters.
tl::PanelSpec panel(const std::string& dynamics, const KV& kv = {}) {
    const tl::DynamicsInfo& info = tl::findDynamics(dynamics);
    tl::PanelSpec p;
    p.dynamics = info.name;
    p.params = tl::defaultParams(info.params);
    for (const auto& [k, v] : kv) {
        const tl::ParamSpec* spec = nullptr;
        for (const auto& s : info.params)
            if (s.name == k) spec = &s;
        if (!spec) throw tl::Error("test: no parameter " + k);
        p.params.set(k, tl::checkParam(*spec, v, "test"));
    }
    return p;
}

tl::Scenario scenario(const std::string& source, const std::string& target, int frames, std::vector<tl::PanelSpec> panels) {
    tl::Scenario s;
    s.name = "test";
    s.source = source;
    s.target = target;
    s.frames = frames;
    s.panels = std::move(panels);
    return s;
}

std::unique_ptr<tl::Runner> start(const tl::Scenario& s) {
    auto r = std::make_unique<tl::Runner>(s, 2);
    r->start();
    return r;
}

QString stateText(const tl::PanelStatus& st) {
    return QString("%1%2").arg(tl::panelStateName(st.state)).arg(st.error.empty() ? QString() : QString(": ") + QString::fromStdString(st.error));
}

MatrixXd positions(const tl::Frame& f) {
    MatrixXd X(static_cast<Eigen::Index>(f.rows()), f.dim);
    for (std::size_t i = 0; i < f.rows(); ++i)
        for (int k = 0; k < f.dim; ++k) X(static_cast<Eigen::Index>(i), k) = f.positions[i * f.dim + k];
    return X;
}

double relErr(const MatrixXd& a, const MatrixXd& b) { return (a - b).norm() / std::max(1e-300, b.norm()); }

// Integrity of a panel's frames: every frame complete (positions rows x dim, weights summing to 1,
// velocities empty or rows x dim), the same rows in every frame, times strictly increasing and equal
// to the scenario times for the published prefix; `complete` = all frames present. Returns "" if fine.
QString checkFrames(const std::vector<tl::FramePtr>& frames, const tl::Scenario& s, bool complete) {
    const std::vector<double> times = s.times();
    if (complete && frames.size() != times.size()) return QString("%1 frames, expected %2").arg(frames.size()).arg(times.size());
    if (frames.size() > times.size()) return QString("%1 frames, more than %2").arg(frames.size()).arg(times.size());
    for (std::size_t k = 0; k < frames.size(); ++k) {
        if (!frames[k]) return "null frame";
        const tl::Frame& f = *frames[k];
        if (f.t != times[k]) return QString("frame %1 at t = %2, expected %3").arg(k).arg(f.t).arg(times[k]);
        if (k && !(f.t > frames[k - 1]->t)) return QString("times not increasing at frame %1").arg(k);
        if (f.rows() == 0 || f.positions.size() != f.rows() * f.dim) return QString("frame %1: %2 positions for %3 rows").arg(k).arg(f.positions.size()).arg(f.rows());
        if (!f.velocities.empty() && f.velocities.size() != f.positions.size()) return QString("frame %1: velocities size").arg(k);
        if (f.rows() != frames[0]->rows()) return QString("frame %1 has %2 rows, frame 0 has %3").arg(k).arg(f.rows()).arg(frames[0]->rows());
        double sum = 0;
        for (double w : f.weights) sum += w;
        if (std::abs(sum - 1) > 1e-9) return QString("frame %1: weights sum to %2").arg(k).arg(sum, 0, 'g', 17);
        for (double x : f.positions)
            if (!std::isfinite(x)) return QString("frame %1: non-finite position").arg(k);
    }
    return {};
}

// Waits (polling) until pred() or the timeout; returns pred().
template <class P>
bool waitFor(P pred, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!pred() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(2ms);
    return pred();
}

// The matrix flow of a linear field X -> X K_t^T (rows of M^T), fixed-step, same integrator as the panel.
tl::OdeTrajectory matrixFlow(const tl::VelocityField& f, int d, const tl::OdeOptions& oo) {
    return tl::integrate(f, MatrixXd::Identity(d, d), 0.0, 1.0, oo);
}

const std::string kSrcG = "gaussian:n=1000,mean=-1;0,cov=1;0;0;0.2,seed=3";
const std::string kTgtG = "gaussian:n=1000,mean=1.5;0.5,cov=0.6;0.5;0.5;0.7,seed=4";

}  // namespace

class TestEngine : public QObject {
    Q_OBJECT

private slots:
    // ot-displacement exact, N = M uniform: the plan is a permutation. Frame 0 is the source row by
    // row (bit-exact: (1-0) x + 0 y), the last frame is the target as a set with every particle on a
    // distinct target point (bit-exact), particles move on straight lines ((1-t) X0 + t X1 to 1e-12),
    // the mean is linear in t, the kinetic energy sum a_i |y - x|^2 equals the exact W2^2 at every frame
    // (same sum in a different order: 1e-9 relative), straightness 0 and path_length at t = 1 equals
    // sum a_i |y_sigma(i) - x_i|.
    void otExactPermutation() {
        const tl::Scenario s = scenario("gaussian:n=300,seed=11", "moons:n=300,seed=12", 11, {panel("ot-displacement", {{"method", std::string("exact")}})});
        auto r = start(s);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        const tl::PanelStatus st = r->status(0);
        QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
        const auto frames = r->history(0)->snapshot();
        const QString bad = checkFrames(frames, s, true);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
        const tl::PointCloud& x = r->source()->cloud;
        const tl::PointCloud& y = r->target()->cloud;
        QCOMPARE(frames[0]->rows(), x.size());
        QVERIFY(frames[0]->positions == x.points);
        // Last frame: each row exactly on a distinct target point.
        std::map<std::pair<double, double>, std::size_t> targetIndex;
        for (std::size_t j = 0; j < y.size(); ++j) targetIndex[{y.point(j)[0], y.point(j)[1]}] = j;
        QCOMPARE(targetIndex.size(), y.size());
        const tl::Frame& last = *frames.back();
        std::vector<int> used(y.size(), 0);
        double pathLength = 0;
        for (std::size_t i = 0; i < last.rows(); ++i) {
            auto it = targetIndex.find({last.positions[2 * i], last.positions[2 * i + 1]});
            QVERIFY2(it != targetIndex.end(), qPrintable(QString("particle %1 is not on a target point").arg(i)));
            ++used[it->second];
            pathLength += last.weights[i] * std::hypot(last.positions[2 * i] - x.point(i)[0], last.positions[2 * i + 1] - x.point(i)[1]);
        }
        QVERIFY2(std::all_of(used.begin(), used.end(), [](int u) { return u == 1; }), "the plan is not a permutation");
        const tl::OtResult exact = tl::solveExact(x, y);
        QVERIFY(exact.ok());
        const MatrixXd X0 = positions(*frames.front()), X1 = positions(last);
        const VectorXd m0 = X0.colwise().mean(), m1 = X1.colwise().mean();
        double worstKe = 0, worstLine = 0, worstMean = 0;
        for (const auto& f : frames) {
            const double ke = f->metric("kinetic_energy");
            worstKe = std::max(worstKe, std::abs(ke - exact.cost) / exact.cost);
            worstLine = std::max(worstLine, (positions(*f) - ((1 - f->t) * X0 + f->t * X1)).cwiseAbs().maxCoeff());
            const VectorXd mt = (1 - f->t) * m0 + f->t * m1;
            worstMean = std::max({worstMean, std::abs(f->metric("mean_x") - mt[0]), std::abs(f->metric("mean_y") - mt[1])});
        }
        qInfo("ot exact N=M=300: W2^2 = %.6f, max |KE - W2^2|/W2^2 = %.2g, straight-line residual %.2g, mean residual %.2g, "
              "path_length %.6f vs %.6f, final divergence %.3g",
              exact.cost, worstKe, worstLine, worstMean, last.metric("path_length"), pathLength, st.finalDivergence);
        QVERIFY2(worstKe < 1e-9, qPrintable(QString("kinetic energy differs from W2^2 by %1").arg(worstKe)));
        QVERIFY(worstLine < 1e-12);
        QVERIFY(worstMean < 1e-12);
        QVERIFY(std::abs(last.metric("path_length") - pathLength) < 1e-9 * pathLength);
        QCOMPARE(st.summary.straightness, 0.0);
        QCOMPARE(st.generation, std::uint64_t(1));
        // The last frame is the target as a set: the debiased Sinkhorn divergence of a measure to itself
        // is 0 up to the metric's marginal tolerance (1e-3), far below the source's distance.
        QVERIFY2(std::isfinite(st.finalDivergence) && std::abs(st.finalDivergence) < 1e-2, qPrintable(QString("final divergence %1").arg(st.finalDivergence)));
    }

    // ot-displacement exact with N != M: sources are split. Rows = plan entries; the first N rows start
    // at source i in order; grouping rows by start point gives mass a_i = 1/N, by end point b_j = 1/M
    // (1e-12: sums of network-simplex masses); weights sum to 1 in every frame; KE = W2^2.
    void otExactSplit() {
        const tl::Scenario s = scenario("gaussian:n=200,seed=13", "moons:n=300,seed=14", 6, {panel("ot-displacement")});
        auto r = start(s);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        const tl::PanelStatus st = r->status(0);
        QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
        const auto frames = r->history(0)->snapshot();
        const QString bad = checkFrames(frames, s, true);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
        const tl::PointCloud& x = r->source()->cloud;
        const tl::PointCloud& y = r->target()->cloud;
        const tl::Frame& f0 = *frames.front();
        const tl::Frame& f1 = *frames.back();
        QVERIFY2(f0.rows() >= y.size() && f0.rows() <= x.size() + y.size() - 1, qPrintable(QString("%1 rows").arg(f0.rows())));
        for (std::size_t i = 0; i < x.size(); ++i) QVERIFY(f0.positions[2 * i] == x.point(i)[0] && f0.positions[2 * i + 1] == x.point(i)[1]);
        std::map<std::pair<double, double>, double> startMass, endMass;
        for (std::size_t i = 0; i < f0.rows(); ++i) {
            startMass[{f0.positions[2 * i], f0.positions[2 * i + 1]}] += f0.weights[i];
            endMass[{f1.positions[2 * i], f1.positions[2 * i + 1]}] += f1.weights[i];
        }
        QCOMPARE(startMass.size(), x.size());
        QCOMPARE(endMass.size(), y.size());
        double worstA = 0, worstB = 0;
        for (std::size_t i = 0; i < x.size(); ++i) worstA = std::max(worstA, std::abs(startMass[{x.point(i)[0], x.point(i)[1]}] - x.weights[i]));
        for (std::size_t j = 0; j < y.size(); ++j) worstB = std::max(worstB, std::abs(endMass[{y.point(j)[0], y.point(j)[1]}] - y.weights[j]));
        QVERIFY2(worstA < 1e-12 && worstB < 1e-12, qPrintable(QString("marginals off by %1 / %2").arg(worstA).arg(worstB)));
        const tl::OtResult exact = tl::solveExact(x, y);
        for (const auto& f : frames) QVERIFY(std::abs(f->metric("kinetic_energy") - exact.cost) < 1e-9 * exact.cost);
        qInfo("ot exact N=200, M=300: %zu rows, W2^2 = %.6f, marginal errors %.2g / %.2g", f0.rows(), exact.cost, worstA, worstB);
    }

    // ot-displacement sinkhorn: particles move on straight lines to the barycentric map T(x_i) =
    // sum_j pi_ij y_j / a_i of the entropic plan. At eps = 1e-2 (squared-distance units, ~2 % of the
    // mean cost) the plan is a blurred permutation: the kinetic energy sum a_i |T(x_i) - x_i|^2 is within
    // 5 % of the exact W2^2 (Jensen: it is <= <pi_eps, C>, which tends to W2^2 as eps -> 0), and T(x_i)
    // lies within the blur length sqrt(eps) = 0.1 of the exact partner y_sigma(i) on average (a wrong
    // map is O(1) away), while frame 0 is the source.
    void otSinkhornBarycentric() {
        const tl::Scenario s = scenario("gaussian:n=200,seed=15", "moons:n=200,seed=16", 5,
                                        {panel("ot-displacement", {{"method", std::string("sinkhorn")}, {"epsilon", 1e-2}})});
        auto r = start(s);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        const tl::PanelStatus st = r->status(0);
        QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
        const auto frames = r->history(0)->snapshot();
        const QString bad = checkFrames(frames, s, true);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
        const tl::PointCloud& x = r->source()->cloud;
        const tl::PointCloud& y = r->target()->cloud;
        QVERIFY(frames[0]->positions == x.points);
        tl::ExactOptions eo;
        const tl::OtResult exact = tl::solveExact(x, y, eo);
        std::vector<std::size_t> partner(x.size());
        for (const auto& e : exact.plan) partner[e.i] = e.j;
        const tl::Frame& last = *frames.back();
        double meanDist = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
            meanDist += std::hypot(last.positions[2 * i] - y.point(partner[i])[0], last.positions[2 * i + 1] - y.point(partner[i])[1]) / x.size();
        const MatrixXd X0 = positions(*frames.front()), X1 = positions(last);
        double worstLine = 0, worstKe = 0;
        for (const auto& f : frames) {
            worstLine = std::max(worstLine, (positions(*f) - ((1 - f->t) * X0 + f->t * X1)).cwiseAbs().maxCoeff());
            worstKe = std::max(worstKe, std::abs(f->metric("kinetic_energy") - exact.cost) / exact.cost);
        }
        qInfo("ot sinkhorn eps 1e-2: |KE - W2^2|/W2^2 = %.3g, mean |T(x) - y_sigma(x)| = %.3g, straight-line residual %.2g, note '%s'", worstKe,
              meanDist, worstLine, st.summary.note.c_str());
        QVERIFY2(worstKe < 0.05, qPrintable(QString("kinetic energy off W2^2 by %1").arg(worstKe)));
        QVERIFY2(meanDist < 0.1, qPrintable(QString("barycentric map %1 from the exact map").arg(meanDist)));
        QVERIFY(worstLine < 1e-12);
        QCOMPARE(st.summary.straightness, 0.0);
    }

    // ot-displacement gaussian: frames are the exact linear image of the samples, so their covariance
    // is the Bures geodesic covarianceAt(t) of the clouds' moments to roundoff (1e-8). With a gauge,
    // RK4 (200 steps) keeps the covariance on the geodesic to integrator error (1e-6) while particles
    // move differently (O(1) shift; we require > 1e-2 of the spread) and paths are no longer straight.
    void otGaussianBuresGeodesic() {
        const tl::Scenario s = scenario("gaussian:n=500,mean=-1;0,cov=1;0;0;0.2,seed=3", "gaussian:n=500,mean=1.5;0.5,cov=0.6;0.5;0.5;0.7,seed=4", 11,
                                        {panel("ot-displacement", {{"method", std::string("gaussian")}}),
                                         panel("ot-displacement", {{"method", std::string("gaussian")}, {"gauge", 2.0}, {"steps", 200LL}})});
        auto r = start(s);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        for (int k = 0; k < 2; ++k) {
            const tl::PanelStatus st = r->status(k);
            QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
        }
        const auto plain = r->history(0)->snapshot(), gauged = r->history(1)->snapshot();
        QString bad = checkFrames(plain, s, true) + checkFrames(gauged, s, true);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
        const tl::GaussianOt bures = tl::GaussianOt::fromClouds(r->source()->cloud, r->target()->cloud);
        double worstPlain = 0, worstGauge = 0, worstMean = 0, maxShift = 0;
        for (std::size_t k = 0; k < plain.size(); ++k) {
            const double t = plain[k]->t;
            const MatrixXd St = bures.covarianceAt(t);
            const tl::PointCloud pc = tl::frameCloud(*plain[k]), gc = tl::frameCloud(*gauged[k]);
            worstPlain = std::max(worstPlain, relErr(pc.covariance(), St));
            worstGauge = std::max(worstGauge, relErr(gc.covariance(), St));
            worstMean = std::max({worstMean, (pc.mean() - bures.meanAt(t)).norm(), (gc.mean() - bures.meanAt(t)).norm()});
            const double shift = (positions(*plain[k]) - positions(*gauged[k])).rowwise().norm().maxCoeff() / std::sqrt(St.trace());
            if (k > 0 && k + 1 < plain.size()) maxShift = std::max(maxShift, shift);
            if (k == 0) QVERIFY(shift == 0);
            // The overlay is the same geodesic.
            bool found = false;
            for (const auto& o : plain[k]->overlays)
                if (o.label == "Bures geodesic") found = relErr(o.cov, St) < 1e-14;
            QVERIFY2(found, "no Bures geodesic overlay");
        }
        const tl::PanelStatus sg = r->status(1);
        qInfo("ot gaussian: max |cov - Bures S_t|/|S_t| = %.2g (plain), %.2g (gauge 2, RK4 200); mean residual %.2g; "
              "max particle shift with gauge / spread = %.3g; straightness plain %.3g, gauge %.3g, gauge nfe %ld",
              worstPlain, worstGauge, worstMean, maxShift, r->status(0).summary.straightness, sg.summary.straightness, sg.summary.nfe);
        QVERIFY2(worstPlain < 1e-8, qPrintable(QString("plain: %1").arg(worstPlain)));
        QVERIFY2(worstGauge < 1e-6, qPrintable(QString("gauge: %1").arg(worstGauge)));
        QVERIFY(worstMean < 1e-9);
        QVERIFY2(maxShift > 1e-2, qPrintable(QString("gauge did not change the paths (%1)").arg(maxShift)));
        QCOMPARE(r->status(0).summary.straightness, 0.0);
        QVERIFY(sg.summary.straightness > 1e-3);
        QCOMPARE(sg.summary.nfe, 800L);
    }

    // flow-matching gaussian (Prop. 3.2): frame covariance ~ (1-t)^2 S0 + t^2 S1 to sampling error
    // (relative Frobenius std <= sqrt((1 + d)/n): 4 sigma ~0.22 for n = 1000), and exactly the linear
    // image M_t C0 M_t^T of the samples' covariance C0 with M_t from the matrix ODE integrated by the
    // same RK4 (1e-9: roundoff). Same with a gauge (whose matrix flow differs, and whose particles move
    // differently while the covariance stays S_t). The overlay is (m_t, S_t); nfe = 4 x steps.
    void fmGaussianCovariance() {
        const tl::Scenario s = scenario(kSrcG, kTgtG, 11,
                                        {panel("flow-matching", {{"field", std::string("gaussian")}, {"integrator", std::string("rk4")}, {"steps", 100LL}}),
                                         panel("flow-matching", {{"field", std::string("gaussian")}, {"integrator", std::string("rk4")}, {"steps", 100LL}, {"gauge", 2.0}})});
        auto r = start(s);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        const auto& l0 = r->source()->law->components[0];
        const auto& l1 = r->target()->law->components[0];
        const tl::GaussianPath path{l0.mean, l1.mean, l0.cov, l1.cov};
        const tl::GaussianPath centred{VectorXd::Zero(2), VectorXd::Zero(2), l0.cov, l1.cov};
        tl::OdeOptions oo;
        oo.steps = 100;
        const tl::OdeTrajectory mf[2] = {
            matrixFlow([&](double t, const MatrixXd& X) { return centred.velocity(t, X); }, 2, oo),
            matrixFlow([&](double t, const MatrixXd& X) { return MatrixXd(centred.velocity(t, X) + tl::gaugeField(2.0, VectorXd::Zero(2), centred.covAt(t), X)); }, 2, oo)};
        const tl::PointCloud& x = r->source()->cloud;
        const MatrixXd C0 = x.covariance();
        const VectorXd c0 = x.mean() - l0.mean;
        const double n = static_cast<double>(x.size());
        const double sampTol = 4 * std::sqrt(3.0 / n);
        std::vector<tl::FramePtr> frames[2];
        for (int p = 0; p < 2; ++p) {
            const tl::PanelStatus st = r->status(p);
            QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
            QCOMPARE(st.summary.nfe, 400L);
            frames[p] = r->history(p)->snapshot();
            const QString bad = checkFrames(frames[p], s, true);
            QVERIFY2(bad.isEmpty(), qPrintable(bad));
            double worstSamp = 0, worstExact = 0, worstMean = 0;
            for (std::size_t k = 0; k < frames[p].size(); ++k) {
                const tl::Frame& f = *frames[p][k];
                const std::size_t step = k * 10;
                QVERIFY(std::abs(mf[p].times[step] - f.t) < 1e-12);
                const MatrixXd M = mf[p].states[step].transpose();
                const tl::PointCloud pc = tl::frameCloud(f);
                worstSamp = std::max(worstSamp, relErr(pc.covariance(), path.covAt(f.t)));
                worstExact = std::max(worstExact, relErr(pc.covariance(), M * C0 * M.transpose()));
                worstMean = std::max(worstMean, (pc.mean() - path.meanAt(f.t) - M * c0).norm());
                QVERIFY(!f.overlays.empty() && relErr(f.overlays[0].cov, path.covAt(f.t)) < 1e-14);
            }
            qInfo("fm gaussian%s: max |cov - S_t|/|S_t| = %.3g (tol %.3g), max |cov - M C0 M^T| = %.2g, affine-mean residual %.2g, straightness %.3g",
                  p ? " + gauge 2" : "", worstSamp, sampTol, worstExact, worstMean, st.summary.straightness);
            QVERIFY2(worstSamp < sampTol, qPrintable(QString("covariance off S_t by %1").arg(worstSamp)));
            QVERIFY2(worstExact < 1e-9, qPrintable(QString("covariance is not the linear image: %1").arg(worstExact)));
            QVERIFY(worstMean < 1e-10);
        }
        const double shift = (positions(*frames[0][5]) - positions(*frames[1][5])).rowwise().norm().maxCoeff();
        QVERIFY2(shift > 1e-2, qPrintable(QString("gauge shift %1").arg(shift)));
    }

    // Closed-form FM memorises: the last frame is E[x1 | x_{1-delta}] (delta = 1e-3), a softmax average of
    // targets with weights ~exp(-|y_j - y_k|^2 / (2 delta^2)). A particle whose nearest target is isolated
    // by >= 10 delta (weights of the others <= e^-40) must sit on it (distance < 1e-3, generous); near a
    // tighter cluster (moons noise 0.05 puts some of 300 points ~0.002 apart) the snapped point is a
    // convex combination of those close targets: within half of that local spacing. Frame 0 is the
    // source; the particles spread over many targets (the empirical target law: ~63 % of 300 atoms hit
    // by 300 draws; we require 40 %), which a collapsing field would fail.
    void fmClosedFormMemorises() {
        const tl::Scenario s = scenario("gaussian:n=300,seed=21", "moons:n=300,seed=22", 6, {panel("flow-matching", {{"field", std::string("closed-form")}})});
        auto r = start(s);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        const tl::PanelStatus st = r->status(0);
        QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
        const auto frames = r->history(0)->snapshot();
        const QString bad = checkFrames(frames, s, true);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
        QVERIFY(frames[0]->positions == r->source()->cloud.points);
        const tl::PointCloud& y = r->target()->cloud;
        const tl::Frame& last = *frames.back();
        double worstIsolated = 0, worstClustered = 0;  // distance, distance / local spacing
        int clustered = 0;
        std::vector<int> hit(y.size(), 0);
        for (std::size_t i = 0; i < last.rows(); ++i) {
            double best = 1e9;
            std::size_t jb = 0;
            for (std::size_t j = 0; j < y.size(); ++j) {
                const double d = std::hypot(last.positions[2 * i] - y.point(j)[0], last.positions[2 * i + 1] - y.point(j)[1]);
                if (d < best) best = d, jb = j;
            }
            double spacing = 1e9;
            for (std::size_t j = 0; j < y.size(); ++j)
                if (j != jb) spacing = std::min(spacing, std::hypot(y.point(jb)[0] - y.point(j)[0], y.point(jb)[1] - y.point(j)[1]));
            if (spacing >= 0.01) {
                worstIsolated = std::max(worstIsolated, best);
            } else {
                ++clustered;
                worstClustered = std::max(worstClustered, best / spacing);
            }
            hit[jb] = 1;
        }
        const int distinct = static_cast<int>(std::count(hit.begin(), hit.end(), 1));
        qInfo("fm closed-form: max distance to the nearest (isolated) target %.2g; %d particles near clustered targets, max distance / spacing %.2f; "
              "%d distinct targets of %zu; nfe %ld, straightness %.3g",
              worstIsolated, clustered, worstClustered, distinct, y.size(), st.summary.nfe, st.summary.straightness);
        QVERIFY2(worstIsolated < 1e-3, qPrintable(QString("particle %1 away from every target").arg(worstIsolated)));
        QVERIFY2(worstClustered <= 0.5, qPrintable(QString("particle %1 local spacings from its target").arg(worstClustered)));
        QVERIFY(distinct > static_cast<int>(0.4 * y.size()));
        QCOMPARE(st.summary.nfe, 400L);  // rk4 (default), 100 steps (default)
    }

    // Reverse SDE vs probability-flow ODE (Prop. 3.3), Gaussian -> Gaussian (the Gaussian score):
    // rho_t is the law of (1-t) x0 + t x1 with x0 ~ N(m0, S0), x1 ~ N(m1, S1) independent, so
    // m_t = (1-t) m0 + t m1 and Sigma_t = (1-t)^2 S0 + t^2 S1 for every noise level. At noise 0.3, 1
    // and 3 (and the ODE), n = 20 000 samples: the covariance at five times within 4 sqrt(3/n)
    // relative (Frobenius; the sampling error of a 2-D covariance has std <= sqrt((1+d)/n)), the mean
    // within 4 sigma / sqrt(n) per axis. Without its score drift the noise alone would add
    // (2t - t^2) * noise * I to the covariance (0.75 I at t = 1/2, noise 1: ~20x the tolerance).
    void reverseSdeMarginalsAtThreeNoiseLevels() {
#ifdef TL_SANITIZED
        const int n = 4000;  // the same code paths; the tolerance follows n
#else
        const int n = 20000;
#endif
        const std::string nn = std::to_string(n);
        MatrixXd S0 = MatrixXd::Identity(2, 2), S1(2, 2);
        S1 << 0.5, 0.2, 0.2, 0.3;
        VectorXd m0 = VectorXd::Zero(2), m1(2);
        m1 << 2, -1;
        std::vector<tl::PanelSpec> panels = {panel("diffusion", {{"sampler", std::string("ode")}, {"integrator", std::string("rk4")}, {"steps", 200LL}})};
        const std::vector<double> noises = {0.3, 1, 3};
        for (double noise : noises) panels.push_back(panel("diffusion", {{"sampler", std::string("sde")}, {"noise", noise}, {"steps", 2000LL}, {"seed", 5LL}}));
        const tl::Scenario s = scenario("gaussian:n=" + nn + ",seed=41", "gaussian:n=" + nn + ",mean=2;-1,cov=0.5;0.2;0.2;0.3,seed=42", 5, panels);
        auto r = start(s);
        QVERIFY(r->waitIdle(300s * tltest::kSlowdown));
        const double covTol = 4 * std::sqrt(3.0 / n);
        for (std::size_t p = 0; p < panels.size(); ++p) {
            const tl::PanelStatus st = r->status(p);
            QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
            const auto fr = r->history(p)->snapshot();
            QCOMPARE(fr.size(), std::size_t(5));
            double worstCov = 0, worstMean = 0;
            for (const auto& f : fr) {
                const double t = f->t;
                const tl::PointCloud c = tl::frameCloud(*f);
                const MatrixXd St = (1 - t) * (1 - t) * S0 + t * t * S1;
                const VectorXd mt = (1 - t) * m0 + t * m1;
                worstCov = std::max(worstCov, relErr(c.covariance(), St));
                for (int k = 0; k < 2; ++k) worstMean = std::max(worstMean, std::abs(c.mean()[k] - mt[k]) / std::sqrt(St(k, k) / n));
            }
            const QString label = p == 0 ? QString("ODE") : QString("SDE noise %1").arg(noises[p - 1]);
            qInfo("%s: worst covariance error %.4f (tolerance %.4f), worst mean error %.2f sigma/sqrt(n)", qPrintable(label), worstCov, covTol,
                  worstMean);
            QVERIFY2(worstCov < covTol, qPrintable(QString("%1: covariance off by %2").arg(label).arg(worstCov)));
            QVERIFY2(worstMean < 4, qPrintable(QString("%1: mean off by %2 sigma").arg(label).arg(worstMean)));
        }
    }

    // diffusion (Prop. 3.3): the probability-flow ODE and the reverse SDE have the same marginals.
    // From the same 800 source samples: at t = 0.5 and 1 the means agree within 4 sqrt(2) sigma / sqrt(n)
    // per axis (two samples' means, each with std sigma / sqrt(n)), covariances within 15 %, and both
    // match the interpolant mean (1-t) m0 + t mean(y) within 4 sigma_t / sqrt(n); at t = 1 the Sinkhorn
    // divergence (eps 0.05) between the two clouds is < 0.05 while both are far (> 0.5) from the source.
    // The diffusion ODE and the closed-form FM ODE integrate the same field (velocity through the score
    // vs directly) with the same Heun steps: same particles to 1e-6.
    void diffusionOdeVsSde() {
        const tl::Scenario s = scenario("gaussian:n=800,seed=31", "moons:n=800,seed=32", 3,
                                        {panel("diffusion", {{"sampler", std::string("ode")}, {"integrator", std::string("heun")}, {"steps", 200LL}}),
                                         panel("diffusion", {{"sampler", std::string("sde")}, {"steps", 200LL}, {"seed", 7LL}}),
                                         panel("flow-matching", {{"field", std::string("closed-form")}, {"integrator", std::string("heun")}, {"steps", 200LL}})});
        auto r = start(s);
        QVERIFY(r->waitIdle(180s * tltest::kSlowdown));
        std::vector<tl::FramePtr> fr[3];
        for (int p = 0; p < 3; ++p) {
            const tl::PanelStatus st = r->status(p);
            QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
            fr[p] = r->history(p)->snapshot();
            const QString bad = checkFrames(fr[p], s, true);
            QVERIFY2(bad.isEmpty(), qPrintable(bad));
        }
        const double n = 800;
        const tl::PointCloud& y = r->target()->cloud;
        const VectorXd m0 = r->source()->law->mean(), my = y.mean();
        for (int k : {1, 2}) {
            const double t = fr[0][k]->t;
            const tl::PointCloud a = tl::frameCloud(*fr[0][k]), b = tl::frameCloud(*fr[1][k]);
            const VectorXd ma = a.mean(), mb = b.mean(), mt = (1 - t) * m0 + t * my;
            const MatrixXd ca = a.covariance(), cb = b.covariance();
            const double covDiff = relErr(cb, ca);
            double worstMeanZ = 0, worstTheoryZ = 0;
            for (int c = 0; c < 2; ++c) {
                const double sigma = std::sqrt(std::max(ca(c, c), cb(c, c)));
                worstMeanZ = std::max(worstMeanZ, std::abs(ma[c] - mb[c]) / (std::sqrt(2.0) * sigma / std::sqrt(n)));
                worstTheoryZ = std::max({worstTheoryZ, std::abs(ma[c] - mt[c]) / (sigma / std::sqrt(n)), std::abs(mb[c] - mt[c]) / (sigma / std::sqrt(n))});
            }
            qInfo("diffusion t=%.1f: ODE mean (%.4f, %.4f), SDE mean (%.4f, %.4f), theory (%.4f, %.4f); mean gap %.2f sigma, "
                  "max gap to theory %.2f sigma; |cov_sde - cov_ode|/|cov_ode| = %.3f",
                  t, ma[0], ma[1], mb[0], mb[1], mt[0], mt[1], worstMeanZ, worstTheoryZ, covDiff);
            QVERIFY2(worstMeanZ < 4, qPrintable(QString("t=%1: means differ by %2 sigma").arg(t).arg(worstMeanZ)));
            QVERIFY2(worstTheoryZ < 4, qPrintable(QString("t=%1: mean off theory by %2 sigma").arg(t).arg(worstTheoryZ)));
            QVERIFY2(covDiff < 0.15, qPrintable(QString("t=%1: covariances differ by %2").arg(t).arg(covDiff)));
        }
        tl::SinkhornOptions so;
        so.epsilon = 0.05;
        so.tolerance = 1e-4;
        so.threads = 2;
        const tl::PointCloud a1 = tl::frameCloud(*fr[0][2]), b1 = tl::frameCloud(*fr[1][2]);
        const double sOdeSde = tl::sinkhornDivergence(a1, b1, so);
        const double sOdeSrc = tl::sinkhornDivergence(a1, r->source()->cloud, so);
        const double sSdeSrc = tl::sinkhornDivergence(b1, r->source()->cloud, so);
        double odeVsFm = 0;
        for (std::size_t k = 0; k < fr[0].size(); ++k)
            odeVsFm = std::max(odeVsFm, (positions(*fr[0][k]) - positions(*fr[2][k])).cwiseAbs().maxCoeff());
        qInfo("diffusion t=1: S_eps(ODE, SDE) = %.4f, S_eps(ODE, source) = %.3f, S_eps(SDE, source) = %.3f; final divergences to target: "
              "ODE %.4f, SDE %.4f; max |diffusion ODE - FM closed-form| = %.2g",
              sOdeSde, sOdeSrc, sSdeSrc, r->status(0).finalDivergence, r->status(1).finalDivergence, odeVsFm);
        QVERIFY2(sOdeSde < 0.05, qPrintable(QString("S_eps(ODE, SDE) = %1").arg(sOdeSde)));
        QVERIFY(sOdeSrc > 0.5 && sSdeSrc > 0.5);
        QVERIFY2(odeVsFm < 1e-6, qPrintable(QString("diffusion ODE and FM closed-form differ by %1").arg(odeVsFm)));
        QCOMPARE(r->status(0).summary.nfe, r->status(2).summary.nfe);
    }

    // Error decreases with steps: FM gaussian with Euler 5 / 20 / 80 steps against RK4 with 1000 steps
    // (error ~1e-12, i.e. exact here). Euler is first order: the error falls by ~4 per 4x steps; we
    // require monotone decrease and a ratio in [3, 5.5] for the finer pair.
    void errorDecreasesWithSteps() {
        auto fm = [](const std::string& method, long long steps) {
            return panel("flow-matching", {{"field", std::string("gaussian")}, {"integrator", method}, {"steps", steps}});
        };
        const tl::Scenario s = scenario("gaussian:n=300,mean=-1;0,cov=1;0;0;0.2,seed=3", "gaussian:n=300,mean=1.5;0.5,cov=0.6;0.5;0.5;0.7,seed=4", 3,
                                        {fm("euler", 5), fm("euler", 20), fm("euler", 80), fm("rk4", 1000)});
        auto r = start(s);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        MatrixXd X[4];
        for (int p = 0; p < 4; ++p) {
            const tl::PanelStatus st = r->status(p);
            QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
            X[p] = positions(*r->history(p)->snapshot().back());
        }
        QCOMPARE(r->status(0).summary.nfe, 5L);
        QCOMPARE(r->status(3).summary.nfe, 4000L);
        double e[3];
        for (int p = 0; p < 3; ++p) e[p] = std::sqrt((X[p] - X[3]).rowwise().squaredNorm().mean());
        qInfo("fm gaussian euler final-frame RMS error vs RK4-1000: 5 steps %.4g, 20 steps %.4g, 80 steps %.4g (ratio %.2f)", e[0], e[1], e[2], e[1] / e[2]);
        QVERIFY(e[0] > e[1] && e[1] > e[2]);
        QVERIFY2(e[1] / e[2] > 3 && e[1] / e[2] < 5.5, qPrintable(QString("ratio %1").arg(e[1] / e[2])));
    }

    // cancel() during integration (closed-form FM, n = 2000, 20000 RK4 steps: minutes of work) returns
    // from waitIdle quickly: the integrator checks the stop token before every step (~tens of ms).
    // We assert < 1 s. The panel ends Cancelled and whatever was published is whole.
    void cancelDuringIntegration() {
        const tl::Scenario s = scenario("gaussian:n=2000,seed=41", "moons:n=2000,seed=42", 11,
                                        {panel("flow-matching", {{"field", std::string("closed-form")}, {"steps", 20000LL}})});
        auto r = start(s);
        QVERIFY(waitFor([&] { return r->status(0).state == tl::PanelState::Running; }, 30s * tltest::kSlowdown));
        std::this_thread::sleep_for(300ms);
        QVERIFY2(r->status(0).state == tl::PanelState::Running, qPrintable(stateText(r->status(0))));
        const auto t0 = std::chrono::steady_clock::now();
        r->cancel();
        const bool idle = r->waitIdle(10s * tltest::kSlowdown);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        qInfo("cancel during integration: waitIdle returned after %.1f ms", ms);
        QVERIFY(idle);
        QVERIFY2(ms < 1000, qPrintable(QString("cancel took %1 ms").arg(ms)));
        const tl::PanelStatus st = r->status(0);
        QVERIFY2(st.state == tl::PanelState::Cancelled, qPrintable(stateText(st)));
        const QString bad = checkFrames(r->history(0)->snapshot(), s, false);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
    }

    // cancel() while frames are being published (closed-form FM, n = 2000, 400 frames, each needing a
    // field evaluation): latency < 1 s, fewer than 400 frames, and every published frame is whole,
    // in time order, at the scenario's times (no frame lost, duplicated or half-written).
    void cancelDuringFrames() {
        const tl::Scenario s = scenario("gaussian:n=2000,seed=43", "moons:n=2000,seed=44", 400,
                                        {panel("flow-matching", {{"field", std::string("closed-form")}, {"steps", 10LL}})});
        auto r = start(s);
        QVERIFY(waitFor([&] { return r->history(0)->size() >= 5; }, 60s * tltest::kSlowdown));
        const auto t0 = std::chrono::steady_clock::now();
        r->cancel();
        const bool idle = r->waitIdle(10s * tltest::kSlowdown);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const auto frames = r->history(0)->snapshot();
        qInfo("cancel during frame publication: waitIdle returned after %.1f ms with %zu of 400 frames", ms, frames.size());
        QVERIFY(idle);
        QVERIFY2(ms < 1000, qPrintable(QString("cancel took %1 ms").arg(ms)));
        const tl::PanelStatus st = r->status(0);
        QVERIFY2(st.state == tl::PanelState::Cancelled, qPrintable(stateText(st)));
        QVERIFY(frames.size() >= 5 && frames.size() < 400);
        const QString bad = checkFrames(frames, s, false);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
    }

    // setPanelParams during a run restarts that panel: generation 1 -> 2, the final frames come from the
    // new parameters (Euler 10 steps: nfe 10, and bit-identical to a fresh run with those parameters),
    // all frames present once, in order; the other panel is untouched (generation 1, Done).
    void restartOnNewParams() {
        const std::string src = "gaussian:n=1000,seed=45", tgt = "moons:n=1000,seed=46";
        const tl::PanelSpec slow = panel("flow-matching", {{"field", std::string("closed-form")}, {"steps", 5000LL}});
        const tl::PanelSpec fast = panel("flow-matching", {{"field", std::string("closed-form")}, {"integrator", std::string("euler")}, {"steps", 10LL}});
        const tl::Scenario s = scenario(src, tgt, 11, {slow, panel("ot-displacement", {{"method", std::string("gaussian")}})});
        auto r = start(s);
        QVERIFY(waitFor([&] { return r->status(0).state == tl::PanelState::Running; }, 30s * tltest::kSlowdown));
        std::this_thread::sleep_for(200ms);
        QCOMPARE(r->status(0).generation, std::uint64_t(1));
        r->setPanelParams(0, fast.params);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        const tl::PanelStatus st = r->status(0), other = r->status(1);
        QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
        QVERIFY2(other.state == tl::PanelState::Done, qPrintable(stateText(other)));
        QCOMPARE(st.generation, std::uint64_t(2));
        QCOMPARE(other.generation, std::uint64_t(1));
        QCOMPARE(st.summary.nfe, 10L);
        const auto frames = r->history(0)->snapshot();
        const QString bad = checkFrames(frames, s, true);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
        // A fresh run with the new parameters gives the same frames.
        auto fresh = start(scenario(src, tgt, 11, {fast}));
        QVERIFY(fresh->waitIdle(120s * tltest::kSlowdown));
        const auto ref = fresh->history(0)->snapshot();
        QCOMPARE(ref.size(), frames.size());
        double diff = 0;
        for (std::size_t k = 0; k < ref.size(); ++k) diff = std::max(diff, (positions(*ref[k]) - positions(*frames[k])).cwiseAbs().maxCoeff());
        qInfo("restart: generation %llu, nfe %ld, max difference to a fresh run %.2g", static_cast<unsigned long long>(st.generation), st.summary.nfe, diff);
        QVERIFY(diff < 1e-12);
    }

    // Panels added and removed while others run (issue 11 §1): the others keep their runs and frames;
    // a removed panel's job (here mid-computation) is stopped and joined by the runner, not the caller;
    // a spec change of the dynamics drops the old frames; a title alone recomputes nothing.
    void addRemoveAndRespecPanels() {
        const tl::PanelSpec slow = panel("flow-matching", {{"field", std::string("closed-form")}, {"steps", 5000LL}});
        const tl::PanelSpec quick = panel("ot-displacement", {{"method", std::string("gaussian")}});
        auto r = start(scenario("gaussian:n=600,seed=71", "moons:n=600,seed=72", 11, {quick}));
        QVERIFY(r->waitIdle(60s * tltest::kSlowdown));
        const auto first = r->history(0)->snapshot();
        QCOMPARE(r->addPanel(slow), std::size_t(1));
        QCOMPARE(r->panelCount(), std::size_t(2));
        QCOMPARE(r->scenario().panels.size(), std::size_t(2));
        QVERIFY(waitFor([&] { return r->status(1).generation == 1; }, 30s * tltest::kSlowdown));
        QCOMPARE(r->status(0).generation, std::uint64_t(1));
        QCOMPARE(r->status(0).state, tl::PanelState::Done);
        QCOMPARE(r->addPanel(quick), std::size_t(2));
        r->removePanel(1);  // the slow one, while it computes
        QCOMPARE(r->panelCount(), std::size_t(2));
        QVERIFY(r->waitIdle(60s * tltest::kSlowdown));
        QCOMPARE(r->status(1).state, tl::PanelState::Done);
        QCOMPARE(r->status(0).generation, std::uint64_t(1));
        const auto still = r->history(0)->snapshot();
        QCOMPARE(still.size(), first.size());
        for (std::size_t k = 0; k < first.size(); ++k) QVERIFY(still[k] == first[k]);
        // a title alone: no new run
        tl::PanelSpec titled = r->scenario().panels[1];
        titled.title = "renamed";
        r->setPanelSpec(1, titled);
        QCOMPARE(r->status(1).generation, std::uint64_t(1));
        QCOMPARE(r->status(1).state, tl::PanelState::Done);
        QCOMPARE(r->scenario().panels[1].title, std::string("renamed"));
        // another dynamics: a new run that never shows the old frames
        r->setPanelSpec(1, panel("flow-matching", {{"field", std::string("closed-form")}, {"integrator", std::string("euler")}, {"steps", 10LL}}));
        QVERIFY(r->history(1)->size() == 0 || r->status(1).generation == 2);
        QVERIFY(r->waitIdle(60s * tltest::kSlowdown));
        QCOMPARE(r->status(1).state, tl::PanelState::Done);
        QCOMPARE(r->status(1).generation, std::uint64_t(2));
        QCOMPARE(r->status(1).summary.nfe, 10L);
        QCOMPARE(r->status(0).generation, std::uint64_t(1));
        QVERIFY_THROWS_EXCEPTION(tl::Error, r->removePanel(5));
    }

    // A parameter change after a run finished: the panel is busy at once (no window in which the old
    // run still reads as done) and scenario() describes the new parameters; the old frames stay shown
    // until the new run completes.
    void paramsChangeIsBusyAtOnce() {
        const tl::PanelSpec a = panel("flow-matching", {{"field", std::string("closed-form")}, {"integrator", std::string("euler")}, {"steps", 10LL}});
        const tl::PanelSpec b = panel("flow-matching", {{"field", std::string("closed-form")}, {"integrator", std::string("euler")}, {"steps", 3000LL}});
        auto r = start(scenario("gaussian:n=800,seed=47", "moons:n=800,seed=48", 11, {a}));
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        QCOMPARE(r->status(0).state, tl::PanelState::Done);
        const auto before = r->history(0)->snapshot();
        r->setPanelParams(0, b.params);
        QVERIFY(r->status(0).state != tl::PanelState::Done);
        QCOMPARE(r->scenario().panels[0].params.integer("steps"), 3000LL);
        QVERIFY(waitFor([&] { return r->status(0).generation == 2; }, 30s * tltest::kSlowdown));
        QCOMPARE(r->history(0)->size(), before.size());  // the last complete run, while the new one computes
        QVERIFY(r->history(0)->at(0) == before.front());
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        QCOMPARE(r->status(0).state, tl::PanelState::Done);
        QCOMPARE(r->status(0).summary.nfe, 3000L);
    }

    // New parameters after cancel() restart the compute thread (runner.cpp): the panel runs again with
    // them (generation 2, Done, the new method's note) and waitIdle returns true (it used to time out:
    // idle_ was cleared with no thread left to set it). A 50-point run takes milliseconds: 2 s is generous.
    void setParamsAfterCancel() {
        const tl::Scenario s = scenario("gaussian:n=50,seed=61", "moons:n=50,seed=62", 3, {panel("ot-displacement")});
        auto r = start(s);
        QVERIFY(r->waitIdle(30s * tltest::kSlowdown));
        r->cancel();
        QVERIFY(r->waitIdle(2s * tltest::kSlowdown));
        std::this_thread::sleep_for(100ms);  // let the compute thread wind down
        r->setPanelParams(0, panel("ot-displacement", {{"method", std::string("gaussian")}}).params);
        const bool idle = r->waitIdle(2s * tltest::kSlowdown);
        const tl::PanelStatus st = r->status(0);
        qInfo("after cancel + setPanelParams: waitIdle %s, panel %s, generation %llu", idle ? "true" : "false (timed out)", qPrintable(stateText(st)),
              static_cast<unsigned long long>(st.generation));
        QVERIFY2(idle, qPrintable(QString("waitIdle timed out although panel 0 is '%1' and nothing runs").arg(tl::panelStateName(st.state))));
        QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
        QCOMPARE(st.generation, std::uint64_t(2));
        const QString bad = checkFrames(r->history(0)->snapshot(), s, true);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
        // The gaussian method's frames: covariance on the Bures geodesic (exact linear image, 1e-8).
        const tl::GaussianOt bures = tl::GaussianOt::fromClouds(r->source()->cloud, r->target()->cloud);
        const auto last = r->history(0)->snapshot().back();
        QVERIFY(relErr(tl::frameCloud(*last).covariance(), bures.covarianceAt(1.0)) < 1e-8);
    }

    // A panel whose measures do not fit fails with a plain message and does not stop the others:
    // closed-form FM and diffusion need a Gaussian(-mixture) source law, moons has none.
    void failingPanelDoesNotStopOthers() {
        const tl::Scenario s = scenario("moons:n=300,seed=51", "gaussian:n=300,seed=52", 5,
                                        {panel("flow-matching", {{"field", std::string("closed-form")}}), panel("ot-displacement"), panel("diffusion"),
                                         panel("flow-matching", {{"field", std::string("gaussian")}})});
        auto r = start(s);
        QVERIFY(r->waitIdle(120s * tltest::kSlowdown));
        QVERIFY(r->error().empty());
        for (int k : {0, 2, 3}) {
            const tl::PanelStatus st = r->status(k);
            QVERIFY2(st.state == tl::PanelState::Failed, qPrintable(QString("panel %1: %2").arg(k).arg(stateText(st))));
            QVERIFY2(QString::fromStdString(st.error).contains("Gaussian"), st.error.c_str());
            qInfo("panel %d failed: %s", k, st.error.c_str());
        }
        const tl::PanelStatus ok = r->status(1);
        QVERIFY2(ok.state == tl::PanelState::Done, qPrintable(stateText(ok)));
        const QString bad = checkFrames(r->history(1)->snapshot(), s, true);
        QVERIFY2(bad.isEmpty(), qPrintable(bad));
    }

    // Measures that cannot be sampled (bad SPEC) or do not match (1-D vs 2-D) fail every panel with the
    // reason, and the runner reports it.
    // After the measures failed to sample, a parameter change retries (the thread had returned:
    // the runner must neither hang in waitIdle nor ignore the change).
    void retryAfterSamplingFailure() {
        tl::Scenario s = scenario("gaussian:n=50,seed=1", "gaussian:n=50,cov=-1,seed=2", 3, {panel("ot-displacement")});
        auto r = start(s);
        QVERIFY(r->waitIdle(10s * tltest::kSlowdown));
        QVERIFY2(r->status(0).state == tl::PanelState::Failed, qPrintable(stateText(r->status(0))));
        // The message names the scenario key, not only the generator.
        QVERIFY2(QString::fromStdString(r->error()).contains("key 'target'"), r->error().c_str());
        std::this_thread::sleep_for(50ms);
        r->setPanelParams(0, panel("ot-displacement", {{"method", std::string("gaussian")}}).params);
        QVERIFY2(r->waitIdle(10s * tltest::kSlowdown), "waitIdle hung after a sampling failure and a parameter change");
        QVERIFY2(r->status(0).state == tl::PanelState::Failed, qPrintable(stateText(r->status(0))));  // same bad measure: fails again
    }

    // A panel interrupted by cancel() runs again when the runner restarts for another panel.
    void cancelledPanelRunsAgainOnRestart() {
        const tl::Scenario s = scenario("gaussian:n=2000,seed=71", "moons:n=2000,seed=72", 5,
                                        {panel("flow-matching", {{"integrator", std::string("euler")}, {"steps", 100000LL}}),
                                         panel("ot-displacement", {{"method", std::string("gaussian")}})});
        auto r = start(s);
        QVERIFY(waitFor([&] { return r->status(0).state == tl::PanelState::Running; }, 10s * tltest::kSlowdown));
        r->cancel();
        QVERIFY(r->waitIdle(5s * tltest::kSlowdown));
        QVERIFY2(r->status(0).state == tl::PanelState::Cancelled, qPrintable(stateText(r->status(0))));
        r->setPanelParams(0, panel("flow-matching", {{"integrator", std::string("euler")}, {"steps", 20LL}}).params);
        QVERIFY(r->waitIdle(60s * tltest::kSlowdown));
        QVERIFY2(r->status(0).state == tl::PanelState::Done, qPrintable(stateText(r->status(0))));
        QVERIFY2(r->status(1).state == tl::PanelState::Done, qPrintable(stateText(r->status(1))));  // it had never run
        QCOMPARE(r->history(1)->size(), std::size_t(5));
    }

    // The SDE's straightness uses the probability-flow velocity, not the noise increments: it stays
    // O(1), close to the ODE's, and does not grow with the number of steps (noise alone would give
    // ~ noise * d * steps = 400 and 800 here).
    void sdeStraightnessIsAboutTheField() {
        double straight[3];
        int k = 0;
        for (auto [sampler, steps] : {std::pair<const char*, long long>{"ode", 200}, {"sde", 200}, {"sde", 400}}) {
            const tl::Scenario s = scenario("gaussian:n=400,seed=81", "moons:n=400,seed=82", 3,
                                            {panel("diffusion", {{"sampler", std::string(sampler)}, {"steps", steps}})});
            auto r = start(s);
            QVERIFY(r->waitIdle(60s * tltest::kSlowdown));
            QVERIFY2(r->status(0).state == tl::PanelState::Done, qPrintable(stateText(r->status(0))));
            straight[k++] = r->status(0).summary.straightness;
        }
        qInfo("straightness: ODE %.3f, SDE 200 steps %.3f, SDE 400 steps %.3f", straight[0], straight[1], straight[2]);
        QVERIFY(straight[0] > 0 && straight[0] < 5);
        QVERIFY2(std::abs(straight[1] - straight[0]) < 0.5 * straight[0] + 0.5, "SDE straightness far from the ODE's");
        QVERIFY2(std::abs(straight[2] - straight[1]) < 0.5 * straight[1] + 0.5, "SDE straightness grows with steps");
    }

    // Fields that invert Sigma_t at t = 1 refuse a singular target with a plain message instead of
    // 'the flow blew up' or NaN velocities.
    void singularTargetCovarianceIsRefused_data() {
        QTest::addColumn<QString>("dynamics");
        QTest::newRow("flow-matching gaussian") << "flow-matching";
        QTest::newRow("ot-displacement gaussian + gauge") << "ot-displacement";
    }
    void singularTargetCovarianceIsRefused() {
        QFETCH(QString, dynamics);
        const tl::PanelSpec p = dynamics == "flow-matching"
                                    ? panel("flow-matching", {{"field", std::string("gaussian")}, {"integrator", std::string("euler")}})
                                    : panel("ot-displacement", {{"method", std::string("gaussian")}, {"gauge", 1.0}});
        const tl::Scenario s = scenario("gaussian:n=200,seed=91", "gaussian:n=200,cov=1;0;0;0,seed=92", 3, {p});
        auto r = start(s);
        QVERIFY(r->waitIdle(30s * tltest::kSlowdown));
        const tl::PanelStatus st = r->status(0);
        QVERIFY2(st.state == tl::PanelState::Failed, qPrintable(stateText(st)));
        QVERIFY2(QString::fromStdString(st.error).contains("non-degenerate"), st.error.c_str());
    }

    // The learned field (MLP + Adam, loss (8)) on Gaussian -> moons reaches a small Sinkhorn
    // divergence to the target (the source itself is far), and the minibatch-OT coupling gives
    // markedly straighter paths than the independent one (science.md §2: OT couplings straighten).
    void learnedFieldOnMoons() {
        auto learned = [](const char* coupling) {
            return panel("flow-matching", {{"field", std::string("learned")}, {"coupling", std::string(coupling)}, {"iterations", 1500LL},
                                           {"batch", 128LL}, {"integrator", std::string("rk4")}, {"steps", 20LL}, {"seed", 3LL}});
        };
        const tl::Scenario s = scenario("gaussian:n=600,seed=101", "moons:n=600,seed=102", 5, {learned("independent"), learned("minibatch-ot")});
        auto r = start(s);
        QVERIFY(r->waitIdle(300s * tltest::kSlowdown));
        double div[2], straight[2];
        for (int k = 0; k < 2; ++k) {
            const tl::PanelStatus st = r->status(k);
            QVERIFY2(st.state == tl::PanelState::Done, qPrintable(stateText(st)));
            div[k] = st.finalDivergence;
            straight[k] = st.summary.straightness;
        }
        tl::SinkhornOptions o;
        o.epsilon = s.divergenceEpsilon;
        o.tolerance = 1e-3;
        const double sourceDiv = tl::sinkhornDivergence(r->source()->cloud, r->target()->cloud, o);
        qInfo("learned field: divergence to moons independent %.4f, minibatch-OT %.4f (source %.4f); straightness %.4f vs %.4f", div[0], div[1],
              sourceDiv, straight[0], straight[1]);
        // Small: a tenth of where the particles started (finite training and n = 600 sampling noise
        // keep it above 0; a field that did not learn the moons stays near the source's value).
        QVERIFY2(div[0] < 0.1 * sourceDiv && div[1] < 0.1 * sourceDiv, "the learned field did not reach the moons");
        QVERIFY2(straight[1] < 0.5 * straight[0], "minibatch-OT coupling is not straighter than the independent coupling");
    }

    void measureErrorsFailAllPanels_data() {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("expect");
        QTest::newRow("bad n") << "gaussian:n=abc" << "moons:n=10" << "'n'";
        QTest::newRow("dimension mismatch") << "gaussian:n=10,mean=0" << "moons:n=10" << "1-D";
    }
    void measureErrorsFailAllPanels() {
        QFETCH(QString, source);
        QFETCH(QString, target);
        QFETCH(QString, expect);
        auto r = start(scenario(source.toStdString(), target.toStdString(), 3, {panel("ot-displacement"), panel("diffusion")}));
        QVERIFY(r->waitIdle(30s * tltest::kSlowdown));
        QVERIFY2(QString::fromStdString(r->error()).contains(expect), r->error().c_str());
        for (int k = 0; k < 2; ++k) {
            const tl::PanelStatus st = r->status(k);
            QVERIFY2(st.state == tl::PanelState::Failed, qPrintable(stateText(st)));
            QVERIFY(!st.error.empty());
        }
    }
};

QTEST_GUILESS_MAIN(TestEngine)
#include "tst_engine.moc"
