// ot-displacement (science.md §3): displacement interpolation of an OT plan. Exact plans move
// mass pi_ij on straight lines from x_i to y_j (a source point whose mass the plan splits is split
// into several particles); Sinkhorn moves each particle along its barycentric map; gaussian uses
// the closed-form linear Brenier map of the clouds' moments (with an optional gauge rotation that
// changes the paths but not the Bures-geodesic densities). Overlay: the Bures geodesic.
#include <algorithm>

#include "dynamics/common.h"
#include "dynamics/registry.h"
#include "flows/gaussian_path.h"
#include "ot/exact.h"
#include "ot/gaussian.h"
#include "ot/sinkhorn.h"
#include "util/error.h"

namespace tl::dyn {

namespace {

class OtDisplacement : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure& target, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const PointCloud& x = source.cloud;
        const PointCloud& y = target.cloud;
        if (x.dim != y.dim) throw Error("ot-displacement: source and target dimensions differ");
        const std::string method = p.choice("method");
        const double lambda = p.real("gauge");
        GaussianOt bures;
        bool haveBures = true;
        try {
            bures = GaussianOt::fromClouds(x, y);
        } catch (const Error&) {
            haveBures = false;  // degenerate source covariance: no overlay
        }
        RunSummary sum;
        // Straight-line plans: start points P0, end points P1 (one row per particle), weights.
        Eigen::MatrixXd P0, P1;
        std::vector<double> w;
        if (ctx.progress) ctx.progress(0.0, "solving OT (" + method + ")");
        if (method == "exact") {
            const OtResult r = solveExact(x, y, ExactOptions{.threads = ctx.threads, .stop = ctx.stop});
            if (r.status == OtStatus::Cancelled || ctx.cancelled()) {
                RunSummary cancelled;
                cancelled.cancelled = true;
                return cancelled;
            }
            if (!r.ok()) throw Error("ot-displacement: " + r.message);
            // Row i: source i's heaviest plan entry; further pieces of split sources follow.
            std::vector<std::vector<PlanEntry>> bySource(x.size());
            for (const auto& e : r.plan) bySource[e.i].push_back(e);
            std::vector<PlanEntry> rows(x.size(), PlanEntry{0, 0, 0.0}), extra;
            for (std::size_t i = 0; i < x.size(); ++i) {
                auto& v = bySource[i];
                std::sort(v.begin(), v.end(), [](const PlanEntry& a, const PlanEntry& b) { return a.mass > b.mass; });
                if (v.empty()) {  // zero-weight source point: stays put with no mass
                    rows[i] = {static_cast<std::uint32_t>(i), 0, 0.0};
                    continue;
                }
                rows[i] = v.front();
                extra.insert(extra.end(), v.begin() + 1, v.end());
            }
            rows.insert(rows.end(), extra.begin(), extra.end());
            P0.resize(static_cast<Eigen::Index>(rows.size()), x.dim);
            P1.resize(P0.rows(), x.dim);
            w.resize(rows.size());
            for (std::size_t k = 0; k < rows.size(); ++k) {
                for (int c = 0; c < x.dim; ++c) {
                    P0(static_cast<Eigen::Index>(k), c) = x.point(rows[k].i)[c];
                    P1(static_cast<Eigen::Index>(k), c) = rows[k].mass > 0 ? y.point(rows[k].j)[c] : x.point(rows[k].i)[c];
                }
                w[k] = rows[k].mass;
            }
            sum.note = extra.empty() ? "exact plan is a permutation" : std::to_string(extra.size()) + " particles split by the plan";
        } else if (method == "sinkhorn") {
            SinkhornOptions so;
            so.epsilon = p.real("epsilon");
            so.threads = ctx.threads;
            so.computeBarycentricMap = true;
            so.progress = [&](int, double) { return !ctx.cancelled(); };
            const SinkhornResult r = sinkhorn(x, y, so);
            if (r.status == OtStatus::Cancelled) return RunSummary::cancelledAfter();
            if (r.status == OtStatus::NumericalError) throw Error("ot-displacement: " + r.message);
            P0 = toMatrix(x);
            P1 = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(r.barycentricMap.data(), P0.rows(), x.dim);
            w = x.weights;
            sum.note = "barycentric map at epsilon " + paramText(so.epsilon) + (r.ok() ? "" : " (" + r.message + ")");
        } else {
            if (!haveBures) throw Error("ot-displacement gaussian: the source covariance is singular");
            P0 = toMatrix(x);
            P1 = (P0.rowwise() - bures.m0.transpose()) * bures.A.transpose();
            P1 = P1.rowwise() + bures.m1.transpose();
            w = x.weights;
        }
        if (ctx.cancelled()) return RunSummary::cancelledAfter();

        auto overlays = [&](Frame& f, double t) {
            if (haveBures) f.overlays.push_back({"Bures geodesic", bures.meanAt(t), bures.covarianceAt(t)});
        };
        if (method == "gaussian" && lambda != 0) {
            // The field inverts B_1 = A and Sigma_1: both must be non-singular.
            requireDefinite(bures.A, "ot-displacement gaussian with a gauge", "target");
            // Gauge: integrate v_t(x) = (m1 - m0) + (A - I) B_t^{-1} (x - m_t) + lambda S Sigma_t^{-1} (x - m_t),
            // B_t = (1-t) I + t A; the added field is divergence-free for N(m_t, Sigma_t).
            const int d = x.dim;
            const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(d, d);
            VelocityField field = [&](double t, const Eigen::MatrixXd& X) {
                const Eigen::MatrixXd B = (1 - t) * I + t * bures.A;
                const Eigen::MatrixXd M = (bures.A - I) * B.inverse();
                const Eigen::VectorXd mt = bures.meanAt(t);
                Eigen::MatrixXd V = ((X.rowwise() - mt.transpose()) * M.transpose()).rowwise() + (bures.m1 - bures.m0).transpose();
                return Eigen::MatrixXd(V + gaugeField(lambda, mt, bures.covarianceAt(t), X));
            };
            OdeOptions oo;
            oo.method = Integrator::Rk4;
            oo.steps = static_cast<int>(p.integer("steps"));
            FrameStream stream(field, w, times, ctx, [&](Frame& f) { overlays(f, f.t); });
            const OdeTrajectory tr = integrate(field, P0, 0.0, 1.0, oo, [&] { return !ctx.cancelled(); }, stream.onStep());
            if (tr.cancelled) return RunSummary::cancelledAfter(tr.nfe);
            sum.nfe = tr.nfe;
            sum.straightness = straightness(tr, w);
            sum.cancelled = !stream.finish(tr);
            sum.note = "Bures geodesic with gauge rotation lambda = " + paramText(lambda);
            return sum;
        }
        const Eigen::MatrixXd V = P1 - P0;
        for (std::size_t k = 0; k < times.size(); ++k) {
            if (ctx.cancelled()) return RunSummary::cancelledAfter();
            const double t = times[k];
            Frame f = makeFrame(t, (1 - t) * P0 + t * P1, w, &V);
            overlays(f, t);
            ctx.publish(std::move(f));
            if (ctx.progress) ctx.progress(static_cast<double>(k + 1) / times.size(), "interpolating");
        }
        sum.straightness = 0;  // straight lines at constant speed
        return sum;
    }
};

}  // namespace

DynamicsInfo otDisplacementInfo() {
    return {"ot-displacement",
            "Displacement interpolation of an optimal transport plan (straight lines; science.md §3)",
            {
                {"method", ParamType::Choice, "exact", 0, 0, {"exact", "sinkhorn", "gaussian"},
                 "exact plan, Sinkhorn barycentric map, or the Gaussian (Brenier) linear map of the moments"},
                {"epsilon", ParamType::Real, "0.01", 1e-8, 1e6, {}, "Sinkhorn regularisation, absolute (squared-distance units)", "method=sinkhorn"},
                {"gauge", ParamType::Real, "0", -20, 20, {}, "gaussian only: rotation lambda S Sigma_t^-1 (x - m_t) added to the field (same densities)", "method=gaussian"},
                {"steps", ParamType::Integer, "200", 1, 100000, {}, "gaussian with gauge: RK4 steps", "method=gaussian"},
            },
            [] { return std::make_unique<OtDisplacement>(); }};
}

}  // namespace tl::dyn
