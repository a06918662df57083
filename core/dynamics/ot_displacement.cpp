// ot-displacement (science.md §3, Thm 4.2, Prop. 4.3): displacement interpolation of an OT plan. Exact plans move
// mass pi_ij on straight lines from x_i to y_j (a source point whose mass the plan splits is split
// into several particles); Sinkhorn moves each particle along its barycentric map; gaussian uses
// the closed-form linear Brenier map of the clouds' moments (with an optional gauge rotation that
// changes the paths but not the Bures-geodesic densities). Overlay: the Bures geodesic.
#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dynamics/common.h"
#include "dynamics/registry.h"
#include "flows/gaussian_path.h"
#include "ot/exact.h"
#include "ot/gaussian.h"
#include "ot/sinkhorn.h"
#include "util/error.h"

namespace tl::dyn {

namespace {

// Straight-line transport: particle k moves from row k of P0 to row k of P1 carrying mass w[k].
struct StraightPlan {
    Eigen::MatrixXd P0, P1;
    std::vector<double> w;
    std::string note;
};

// The exact plan (science.md §3, (10)) as straight lines: row i is source i's heaviest plan entry;
// further pieces of split sources follow. Empty when cancelled.
std::optional<StraightPlan> exactPlan(const PointCloud& x, const PointCloud& y, RunContext& ctx) {
    ExactOptions eo{.threads = ctx.threads, .stop = ctx.stop};
    if (ctx.progress) eo.progress = [&](double f, const std::string& stage) { ctx.progress(0.95 * f, stage); };
    const OtResult r = solveExact(x, y, eo);
    if (r.status == OtStatus::Cancelled || ctx.cancelled()) return std::nullopt;
    if (!r.ok()) throw Error("ot-displacement: " + r.message);
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
    StraightPlan plan;
    plan.P0.resize(static_cast<Eigen::Index>(rows.size()), x.dim);
    plan.P1.resize(plan.P0.rows(), x.dim);
    plan.w.resize(rows.size());
    for (std::size_t k = 0; k < rows.size(); ++k) {
        for (int c = 0; c < x.dim; ++c) {
            plan.P0(static_cast<Eigen::Index>(k), c) = x.point(rows[k].i)[c];
            plan.P1(static_cast<Eigen::Index>(k), c) = rows[k].mass > 0 ? y.point(rows[k].j)[c] : x.point(rows[k].i)[c];
        }
        plan.w[k] = rows[k].mass;
    }
    plan.note = extra.empty() ? "exact plan is a permutation" : std::to_string(extra.size()) + " particles split by the plan";
    return plan;
}

// Each source particle along the Sinkhorn plan's barycentric map. Empty when cancelled.
std::optional<StraightPlan> sinkhornPlan(const PointCloud& x, const PointCloud& y, double epsilon, RunContext& ctx) {
    SinkhornOptions so;
    so.epsilon = epsilon;
    so.threads = ctx.threads;
    so.computeBarycentricMap = true;
    so.progress = [&](int, double) { return !ctx.cancelled(); };
    const SinkhornResult r = sinkhorn(x, y, so);
    if (r.status == OtStatus::Cancelled) return std::nullopt;
    if (r.status == OtStatus::NumericalError) throw Error("ot-displacement: " + r.message);
    StraightPlan plan;
    plan.P0 = toMatrix(x);
    plan.P1 = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(r.barycentricMap.data(), plan.P0.rows(), x.dim);
    plan.w = x.weights;
    plan.note = "barycentric map at epsilon " + paramText(epsilon) + (r.ok() ? "" : " (" + r.message + ")");
    return plan;
}

// The linear Brenier map of the moments (science.md §3, Prop. 4.3): x -> m1 + A (x - m0).
StraightPlan gaussianPlan(const PointCloud& x, const GaussianOt& bures) {
    StraightPlan plan;
    plan.P0 = toMatrix(x);
    plan.P1 = (plan.P0.rowwise() - bures.m0.transpose()) * bures.A.transpose();
    plan.P1 = plan.P1.rowwise() + bures.m1.transpose();
    plan.w = x.weights;
    return plan;
}

// The Gaussian map with a gauge rotation: integrates v_t(x) = (m1 - m0) + (A - I) B_t^{-1} (x - m_t)
// + lambda S Sigma_t^{-1} (x - m_t), B_t = (1-t) I + t A; the added field is divergence-free for
// N(m_t, Sigma_t) (science.md §1), so the densities stay on the Bures geodesic.
RunSummary runGauged(const StraightPlan& plan, const GaussianOt& bures, double lambda, int steps, const std::vector<double>& times,
                     RunContext& ctx, const std::function<void(Frame&)>& overlays) {
    // The field inverts B_1 = A and Sigma_1: both must be non-singular.
    requireDefinite(bures.A, "ot-displacement gaussian with a gauge", "target");
    const int d = static_cast<int>(plan.P0.cols());
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
    oo.steps = steps;
    RunSummary sum;
    const std::string warning = gaugeStepWarning("ot-displacement", lambda, [&](double t) { return bures.covarianceAt(t); }, oo.method, oo.steps);
    if (!warning.empty()) sum.warnings.push_back(warning);
    FrameStream stream(field, plan.w, times, ctx, overlays);
    const OdeTrajectory tr = integrate(field, plan.P0, 0.0, 1.0, oo, [&] { return !ctx.cancelled(); }, stream.onStep());
    if (tr.cancelled) return RunSummary::cancelledAfter(tr.nfe);
    sum.nfe = tr.nfe;
    sum.straightness = straightness(tr, plan.w);
    sum.cancelled = !stream.finish(tr);
    sum.note = "Bures geodesic with gauge rotation lambda = " + paramText(lambda);
    return sum;
}

// Publishes (1 - t) P0 + t P1 at every frame time.
RunSummary interpolateStraight(const StraightPlan& plan, const std::vector<double>& times, RunContext& ctx,
                               const std::function<void(Frame&)>& overlays) {
    const Eigen::MatrixXd V = plan.P1 - plan.P0;
    for (std::size_t k = 0; k < times.size(); ++k) {
        if (ctx.cancelled()) return RunSummary::cancelledAfter();
        const double t = times[k];
        Frame f = makeFrame(t, (1 - t) * plan.P0 + t * plan.P1, plan.w, &V);
        overlays(f);
        ctx.publish(std::move(f));
        if (ctx.progress) ctx.progress(static_cast<double>(k + 1) / times.size(), "interpolating");
    }
    RunSummary sum;
    sum.straightness = 0;  // straight lines at constant speed
    sum.note = plan.note;
    return sum;
}

class OtDisplacement : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure& target, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const PointCloud& x = source.cloud;
        const PointCloud& y = target.cloud;
        requireSameDimension(x, y, "ot-displacement");
        const OtMethod method = parseOtMethod(p.choice("method"));
        GaussianOt bures;
        bool haveBures = true;
        try {
            bures = GaussianOt::fromClouds(x, y);
        } catch (const Error&) {
            haveBures = false;  // degenerate source covariance: no overlay
        }
        auto overlays = [&](Frame& f) {
            if (haveBures) f.overlays.push_back({"Bures geodesic", bures.meanAt(f.t), bures.covarianceAt(f.t)});
        };
        if (ctx.progress) ctx.progress(0.0, std::string("solving OT (") + methodName(method) + ")");
        std::optional<StraightPlan> plan;
        switch (method) {
            case OtMethod::Exact: plan = exactPlan(x, y, ctx); break;
            case OtMethod::Sinkhorn: plan = sinkhornPlan(x, y, p.real("epsilon"), ctx); break;
            case OtMethod::Gaussian:
                if (!haveBures) throw Error("ot-displacement gaussian: the source covariance is singular");
                plan = gaussianPlan(x, bures);
                break;
        }
        if (!plan || ctx.cancelled()) return RunSummary::cancelledAfter();
        const double lambda = p.real("gauge");
        if (method == OtMethod::Gaussian && lambda != 0)
            return runGauged(*plan, bures, lambda, static_cast<int>(p.integer("steps")), times, ctx, overlays);
        return interpolateStraight(*plan, times, ctx, overlays);
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
                {"steps", ParamType::Integer, "200", 1, 100000, {}, "gaussian with gauge: RK4 steps (too few for the gauge: a warning above 1 %, a refusal above 50 % covariance error)", "method=gaussian"},
            },
            [] { return std::make_unique<OtDisplacement>(); }};
}

}  // namespace tl::dyn
