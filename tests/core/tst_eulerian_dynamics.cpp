// The Eulerian dynamics end to end (science.md §1, §3): benamou-brenier's frames follow the Bures
// geodesic between two non-commuting Gaussians and its kinetic energy is their W2^2; McCann's
// displacement convexity of the entropy along its frames; field-recovery's two fields carry the
// source samples through the mixture path with the mixture's moments, the least-squares field
// with the smaller kinetic energy, both satisfying continuity; bad input names the key.
#include "engine/runner.h"
#include "engine/scenario.h"
#include "ot/gaussian.h"
#include "util/error.h"

#include <QtTest>

#include <chrono>
#include <cmath>

using namespace std::chrono_literals;

namespace {

struct Run {
    std::vector<tl::FramePtr> frames;
    tl::RunSummary summary;
};

Run runPanel(const std::string& json) {
    const tl::Scenario s = tl::parseScenario(json, ".", "test");
    tl::Runner r(s, 0);
    r.start();
    if (!r.waitIdle(300s)) throw tl::Error("timed out");
    const tl::PanelStatus st = r.status(0);
    if (st.state != tl::PanelState::Done) throw tl::Error("panel failed: " + st.error);
    return {r.history(0)->snapshot(), st.summary};
}

double extra(const tl::RunSummary& s, const std::string& key) {
    for (const auto& [k, v] : s.extras)
        if (k == key) return v;
    throw tl::Error("no extra " + key);
}

Eigen::Matrix2d cov(const tl::Frame& f) {
    Eigen::Matrix2d c;
    c << f.metric("cov_xx"), f.metric("cov_xy"), f.metric("cov_xy"), f.metric("cov_yy");
    return c;
}

const std::string kSource = "gaussian:n=2000,mean=-1;0.3,cov=0.5;0.25;0.25;0.3,seed=1";
const std::string kTarget = "gaussian:n=2000,mean=1;-0.2,cov=0.25;-0.1;-0.1;0.6,seed=2";

// A one-panel scenario between the two Gaussians, 5 frames.
std::string between(const std::string& panel) {
    return "{\"source\": \"" + kSource + "\", \"target\": \"" + kTarget + "\", \"frames\": 5, \"panels\": [" + panel + "]}";
}

// McCann's closed forms on the 64^2 x 32 grid (benamouBrenierFollowsTheBuresGeodesic).
// Observed: entropy 0.0195 (absolute), int rho^2 4.0 % (the grid solution is slightly diffused
// between the ends, where the end frames are exact). A plain blend (1 - t) rho0 + t rho1, which is
// convex too, misses both by far more (checked in the test: it must fail these tolerances).
constexpr double kEntropyTol = 0.1;
constexpr double kU2Tol = 0.2;

}  // namespace

class TestEulerianDynamics : public QObject {
    Q_OBJECT
private slots:
    void benamouBrenierFollowsTheBuresGeodesic() {
        const Run r = runPanel(between("{\"dynamics\": \"benamou-brenier\"}"));
        Eigen::Vector2d m0(-1, 0.3), m1(1, -0.2);
        Eigen::Matrix2d S0, S1;
        S0 << 0.5, 0.25, 0.25, 0.3;
        S1 << 0.25, -0.1, -0.1, 0.6;
        const tl::GaussianOt g = tl::GaussianOt::fromParameters(m0, S0, m1, S1);
        const tl::Frame& mid = *r.frames[2];
        QCOMPARE(mid.t, 0.5);
        const double err = (cov(mid) - g.covarianceAt(0.5)).norm() / g.covarianceAt(0.5).norm();
        const double ke = extra(r.summary, "kinetic_energy");
        qInfo("benamou-brenier 64^2 x 32: covariance at t = 0.5 off by %.4f; kinetic energy %.4f vs Bures W2^2 %.4f", err, ke, g.w2sq);
        QVERIFY(err < 0.05);
        QVERIFY(std::abs(ke - g.w2sq) < 5e-3 * g.w2sq);  // observed 9e-4 (tst_eulerian: the grid's bias)
        // mass, positivity, velocities for the glyph layer, the closed-form overlay
        std::vector<double> entropy;
        for (const auto& f : r.frames) {
            QVERIFY(std::abs(f->metric("mass") - 1) < 1e-6);
            for (double v : f->density->values) QVERIFY(v >= 0);
            QCOMPARE(f->density->vx.size(), f->density->values.size());
            QCOMPARE(f->overlays.size(), std::size_t(1));
            entropy.push_back(f->metric("entropy"));
        }
        // McCann: entropy convex in t along the geodesic (second differences >= -1e-6 of its range)
        const double range = *std::max_element(entropy.begin(), entropy.end()) - *std::min_element(entropy.begin(), entropy.end());
        for (std::size_t k = 1; k + 1 < entropy.size(); ++k)
            QVERIFY2(entropy[k - 1] - 2 * entropy[k] + entropy[k + 1] >= -1e-6 * range, qPrintable(QString("at frame %1").arg(k)));
        // science.md (16), closed form along the displacement interpolation of Gaussians: with
        // M_t = (1 - t) I + t A (A the Bures map), Sigma_t = M_t Sigma_0 M_t, so
        //   E(t) = int rho log rho = E0 - log det M_t,   U2(t) = int rho^2 = U2(0) / det M_t
        // (the internal energy int rho^m / (m - 1) for m = 2). E0 and U2(0) from the grid's own first
        // frame (its sampling error cancels); the grid solution then follows the closed form within
        // the tolerances below, ~10x what this 64^2 x 32 grid achieves (printed).
        const Eigen::Matrix2d A = g.A;
        const double h2 = r.frames[0]->density->cellArea();
        auto u2 = [&](const tl::Frame& f) {
            double s = 0;
            for (double v : f.density->values) s += v * v * h2;
            return s;
        };
        const double u20 = u2(*r.frames[0]);
        double worstE = 0, worstU = 0;
        for (const auto& f : r.frames) {
            const double detM = ((1 - f->t) * Eigen::Matrix2d::Identity() + f->t * A).determinant();
            const double eErr = std::abs(f->metric("entropy") - (entropy[0] - std::log(detM)));
            const double uErr = std::abs(u2(*f) - u20 / detM) / (u20 / detM);
            qInfo("t = %.2f: entropy %.6f vs closed form %.6f; int rho^2 %.6f vs %.6f", f->t, f->metric("entropy"),
                  entropy[0] - std::log(detM), u2(*f), u20 / detM);
            worstE = std::max(worstE, eErr);
            worstU = std::max(worstU, uErr);
        }
        qInfo("McCann closed forms: worst entropy error %.2e (absolute), int rho^2 %.2e (relative)", worstE, worstU);
        QVERIFY2(worstE < kEntropyTol, qPrintable(QString::number(worstE)));
        QVERIFY2(worstU < kU2Tol, qPrintable(QString::number(worstU)));
        // the check can fail: the blend of the end densities at t = 1/2 is rejected by both
        tl::Frame blend = *r.frames[2];
        auto grid = std::make_shared<tl::DensityGrid>(*r.frames[2]->density);
        for (std::size_t k = 0; k < grid->values.size(); ++k)
            grid->values[k] = 0.5 * (r.frames.front()->density->values[k] + r.frames.back()->density->values[k]);
        double blendE = 0;
        for (double v : grid->values)
            if (v > 0) blendE += v * h2 * std::log(v);
        blend.density = grid;
        const double detMid = (0.5 * Eigen::Matrix2d::Identity() + 0.5 * A).determinant();
        const double blendEErr = std::abs(blendE - (entropy[0] - std::log(detMid)));
        const double blendUErr = std::abs(u2(blend) - u20 / detMid) / (u20 / detMid);
        qInfo("the blend of the ends at t = 1/2 misses by %.3f (entropy), %.1f %% (int rho^2)", blendEErr, 100 * blendUErr);
        QVERIFY(blendEErr > kEntropyTol);
        QVERIFY(blendUErr > kU2Tol);
    }

    void fieldsRecoveredFromTheMixturePath() {
        const Eigen::Vector2d m0(-1, 0.3), m1(1, -0.2);
        Eigen::Matrix2d S0, S1;
        S0 << 0.5, 0.25, 0.25, 0.3;
        S1 << 0.25, -0.1, -0.1, 0.6;
        const Eigen::Vector2d m = 0.5 * (m0 + m1);
        const Eigen::Matrix2d mix = 0.5 * (S0 + m0 * m0.transpose()) + 0.5 * (S1 + m1 * m1.transpose()) - m * m.transpose();
        double energy[2] = {0, 0};
        int k = 0;
        for (const char* field : {"least-squares", "dacorogna-moser"}) {
            const Run r = runPanel(between("{\"dynamics\": \"field-recovery\", \"field\": \"" + std::string(field) + "\"}"));
            const tl::Frame& mid = *r.frames[2];
            const Eigen::Vector2d mean(mid.metric("mean_x"), mid.metric("mean_y"));
            const double cerr = (cov(mid) - mix).norm() / mix.norm();
            // kinetic energy and continuity at t = 0.5 (the mixture path's end points are singular:
            // mass appears where rho_t = 0, so int int rho |v|^2 diverges there for any field)
            energy[k] = mid.metric("energy");
            const double residual = mid.metric("continuity_residual");
            qInfo("%s: mean off by %.4f, covariance off by %.4f at t = 0.5; kinetic energy there %.4g; continuity residual %.2e", field,
                  (mean - m).norm(), cerr, energy[k], residual);
            // Both fields solve the discrete continuity equation to the solver's tolerance (observed
            // 7e-11 and 7e-14 of |d_t rho|): asserted at 1e-9.
            QVERIFY2(residual < 1e-9, qPrintable(QString::number(residual)));
            QVERIFY((mean - m).norm() < 0.05);
            QVERIFY(cerr < 0.08);
            ++k;
        }
        QVERIFY(energy[0] <= energy[1]);
    }

    void badInputNamesTheKey() {
        const std::string head = std::string(R"({"source": "gaussian", "target": "gaussian:mean=1;0", "panels": [{"dynamics": )");
        const std::vector<std::pair<std::string, std::string>> cases = {
            {R"("benamou-brenier", "time_steps": 1})", "'time_steps'"},
            {R"("benamou-brenier", "grid": 4})", "'grid'"},
            {R"("field-recovery", "path": "geodesic"})", "'path'"},
            {R"("field-recovery", "field": "magic"})", "'field'"},
        };
        for (const auto& [panel, key] : cases) {
            try {
                tl::parseScenario(head + panel + "]}", ".", "t");
                QFAIL(qPrintable(QString::fromStdString("accepted: " + panel)));
            } catch (const tl::Error& e) {
                QVERIFY2(QString(e.what()).contains(QString::fromStdString(key)), e.what());
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestEulerianDynamics)
#include "tst_eulerian_dynamics.moc"
