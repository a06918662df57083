// flow-matching (science.md §2, survey §3, (7)): particles pushed by dx/dt = v_t(x) with
//  - closed-form: the exact conditional-expectation field for a Gaussian(-mixture) source law and
//    the empirical target (softmax kernel reductions); singular at t = 1, so it is integrated to
//    1 - delta and the particles are then snapped to E[x1 | x_{1-delta}];
//  - gaussian: the linear field of Prop. 3.2 for Gaussian source and target laws (+ gauge);
//  - learned: an MLP v_theta(t, x) trained with Adam on loss (8), independent or minibatch-OT coupling.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "dynamics/common.h"
#include "dynamics/registry.h"
#include "flows/empirical_posterior.h"
#include "flows/gaussian_path.h"
#include "flows/integrators.h"
#include "flows/mlp_field.h"
#include "util/error.h"

namespace tl::dyn {

namespace {

OdeOptions odeOptions(const ParamValues& p) {
    OdeOptions oo;
    oo.method = parseIntegrator(p.choice("integrator"));
    oo.steps = static_cast<int>(p.integer("steps"));
    oo.rtol = p.real("rtol");
    oo.atol = 0.1 * oo.rtol;
    return oo;
}

// The `field` choice, parsed once.
enum class Field { ClosedForm, Gaussian, Learned };

Field parseField(const std::string& s) {
    if (s == "closed-form") return Field::ClosedForm;
    if (s == "gaussian") return Field::Gaussian;
    if (s == "learned") return Field::Learned;
    throw Error("flow-matching: unknown field '" + s + "'");
}

// What every field's run shares: the source particles, their weights, the ODE settings, the frame times.
struct FlowSetup {
    const Measure& source;
    const Measure& target;
    const ParamValues& p;
    const std::vector<double>& times;
    RunContext& ctx;
    Eigen::MatrixXd X0;
    OdeOptions oo;

    bool keepGoing() const { return !ctx.cancelled(); }
    const std::vector<double>& weights() const { return source.cloud.weights; }
};

// The linear field of Prop. 3.2 between Gaussian laws, plus an optional gauge rotation (science.md §1).
RunSummary runGaussian(const FlowSetup& s) {
    const GaussianMixture& l0 = requireGaussian(s.source, "flow-matching gaussian", "source");
    const GaussianMixture& l1 = requireGaussian(s.target, "flow-matching gaussian", "target");
    requireDefinite(l0.components[0].cov, "flow-matching gaussian", "source");
    requireDefinite(l1.components[0].cov, "flow-matching gaussian", "target");
    const GaussianPath path{l0.components[0].mean, l1.components[0].mean, l0.components[0].cov, l1.components[0].cov};
    const double lambda = s.p.real("gauge");
    RunSummary sum;
    const std::string warning = gaugeStepWarning("flow-matching", lambda, [&](double t) { return path.covAt(t); }, s.oo.method, s.oo.steps);
    if (!warning.empty()) sum.warnings.push_back(warning);
    VelocityField field = [&](double t, const Eigen::MatrixXd& X) {
        Eigen::MatrixXd V = path.velocity(t, X);
        if (lambda != 0) V += gaugeField(lambda, path.meanAt(t), path.covAt(t), X);
        return V;
    };
    if (s.ctx.progress) s.ctx.progress(0, "integrating");
    FrameStream stream(field, s.weights(), s.times, s.ctx, [&](Frame& f) {
        f.overlays.push_back({"Prop. 3.2 (m_t, Sigma_t)", path.meanAt(f.t), path.covAt(f.t)});
    });
    const OdeTrajectory tr = integrate(field, s.X0, 0.0, 1.0, s.oo, [&] { return s.keepGoing(); }, stream.onStep());
    if (tr.cancelled) return RunSummary::cancelledAfter(tr.nfe);
    sum.nfe = tr.nfe;
    sum.straightness = straightness(tr, s.weights());
    sum.cancelled = !stream.finish(tr);
    return sum;
}

// The exact conditional-expectation field (7) for a Gaussian(-mixture) source law and the empirical
// target, integrated to 1 - delta, then snapped to the posterior mean.
RunSummary runClosedForm(const FlowSetup& s, const std::function<void(Frame&)>& overlay) {
    const GaussianMixture& law = requireMixture(s.source, "flow-matching closed-form", "source");
    const EmpiricalPosterior post(law, s.target.cloud, s.ctx.threads);
    const double tEnd = 1 - s.p.real("delta");
    VelocityField field = [&](double t, const Eigen::MatrixXd& X) { return post.flowVelocity(t, X); };
    if (s.ctx.progress) s.ctx.progress(0, "integrating");
    FrameStream stream(field, s.weights(), s.times, s.ctx, overlay);
    const OdeTrajectory tr = integrate(field, s.X0, 0.0, tEnd, s.oo, [&] { return s.keepGoing(); }, stream.onStep());
    if (tr.cancelled) return RunSummary::cancelledAfter(tr.nfe);
    RunSummary sum;
    sum.nfe = tr.nfe;
    sum.straightness = straightness(tr, s.weights());
    Eigen::MatrixXd snapped;
    post.evaluate(tEnd, tr.states.back(), snapped);
    sum.cancelled = !stream.finish(tr, &snapped);
    sum.note = "integrated to t = 1 - " + paramText(s.p.real("delta")) + ", then snapped to E[x1 | x]";
    return sum;
}

// An MLP v_theta(t, x) trained with Adam on loss (8), then integrated.
RunSummary runLearned(const FlowSetup& s, const std::function<void(Frame&)>& overlay) {
    MlpFieldOptions mo;
    mo.hidden = static_cast<int>(s.p.integer("hidden"));
    mo.iterations = static_cast<int>(s.p.integer("iterations"));
    mo.batch = static_cast<int>(s.p.integer("batch"));
    mo.learningRate = s.p.real("lr");
    mo.seed = static_cast<std::uint64_t>(s.p.integer("seed"));
    mo.threads = s.ctx.threads;
    mo.coupling = s.p.choice("coupling") == "minibatch-ot" ? MlpFieldOptions::Coupling::MinibatchOt : MlpFieldOptions::Coupling::Independent;
    MlpField net;
    net.train(s.source.cloud, s.target.cloud, mo, [&](int it, double loss) {
        // Every 25th step is plenty for a progress bar (the callback reaches the GUI thread).
        if (s.ctx.progress && (it % 25 == 0 || it == mo.iterations))
            s.ctx.progress(0.9 * it / std::max(1, mo.iterations), "training (loss " + paramText(loss) + ")");
        return !s.ctx.cancelled();
    });
    if (s.ctx.cancelled()) return RunSummary::cancelledAfter();
    VelocityField field = [&](double t, const Eigen::MatrixXd& X) { return net.velocity(t, X); };
    FrameStream stream(field, s.weights(), s.times, s.ctx, overlay);
    const OdeTrajectory tr = integrate(field, s.X0, 0.0, 1.0, s.oo, [&] { return s.keepGoing(); }, stream.onStep());
    if (tr.cancelled) return RunSummary::cancelledAfter(tr.nfe);
    RunSummary sum;
    sum.nfe = tr.nfe;
    sum.straightness = straightness(tr, s.weights());
    sum.cancelled = !stream.finish(tr);
    sum.note = "MLP trained for " + std::to_string(mo.iterations) + " iterations, final loss " + paramText(net.lastLoss());
    return sum;
}

class FlowMatching : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure& target, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const PointCloud& x = source.cloud;
        const PointCloud& y = target.cloud;
        requireSameDimension(x, y, "flow-matching");
        const Field field = parseField(p.choice("field"));
        const FlowSetup setup{source, target, p, times, ctx, toMatrix(x), odeOptions(p)};
        if (field == Field::Gaussian) return runGaussian(setup);
        // Interpolant moments for the overlay: source law (or cloud) and target cloud.
        const Eigen::VectorXd m0 = source.law ? source.law->mean() : x.mean();
        const Eigen::MatrixXd s0 = source.law ? source.law->covariance() : x.covariance();
        const Eigen::VectorXd m1 = y.mean();
        const Eigen::MatrixXd s1 = y.covariance();
        auto interpolant = [&](Frame& f) { f.overlays.push_back(interpolantOverlay(f.t, m0, s0, m1, s1)); };
        return field == Field::ClosedForm ? runClosedForm(setup, interpolant) : runLearned(setup, interpolant);
    }
};

}  // namespace

DynamicsInfo flowMatchingInfo() {
    return {"flow-matching",
            "Flow matching: particles pushed by the conditional-expectation field v_t(x) = E[x1 - x0 | x_t = x] (science.md §2)",
            {
                {"field", ParamType::Choice, "closed-form", 0, 0, {"closed-form", "gaussian", "learned"},
                 "closed-form (Gaussian/mixture source, empirical target), gaussian (Prop. 3.2, Gaussian source and target), learned (MLP)"},
                {"integrator", ParamType::Choice, "rk4", 0, 0, {"euler", "heun", "rk4", "dopri5"}, "ODE integrator"},
                {"steps", ParamType::Integer, "100", 1, 100000, {}, "integration steps (dopri5: initial step 1/steps; with a gauge, too few steps warn above 1 %, refuse above 50 % covariance error)"},
                {"rtol", ParamType::Real, "1e-5", 1e-12, 1, {}, "dopri5 relative tolerance (absolute = rtol / 10)", "integrator=dopri5"},
                {"delta", ParamType::Real, "0.001", 1e-6, 0.5, {}, "closed-form: integrate to 1 - delta, then snap to the posterior mean E[x1 given x]", "field=closed-form"},
                {"gauge", ParamType::Real, "0", -20, 20, {}, "gaussian: add lambda S Sigma_t^-1 (x - m_t), S antisymmetric (same densities)", "field=gaussian"},
                {"coupling", ParamType::Choice, "independent", 0, 0, {"independent", "minibatch-ot"}, "learned: pairing of x0 and x1 in training", "field=learned"},
                {"iterations", ParamType::Integer, "3000", 1, 1000000, {}, "learned: Adam iterations", "field=learned"},
                {"hidden", ParamType::Integer, "64", 4, 1024, {}, "learned: hidden units per layer", "field=learned"},
                {"batch", ParamType::Integer, "256", 2, 65536, {}, "learned: minibatch size", "field=learned"},
                {"lr", ParamType::Real, "0.002", 1e-7, 1, {}, "learned: Adam learning rate", "field=learned"},
                {"seed", ParamType::Integer, "0", 0, 1e15, {}, "learned: random seed (initialisation, minibatches)", "field=learned"},
            },
            [] { return std::make_unique<FlowMatching>(); }};
}

}  // namespace tl::dyn
