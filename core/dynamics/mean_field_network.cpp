// mean-field-network (science.md §5, (19)-(23)): the neurons theta_i = (a_i, w_i) in R^(1+d) of a
// two-layer network f(x) = (1/N) sum_i a_i sigma(w_i.x) as particles, trained by the Wasserstein
// gradient flow (15) d theta_i/dt = -grad_theta (dF/dmu)(theta_i) of F = 1/2 E|f(x) - y|^2 against a seeded
// teacher (neural/two_layer.h), population (exact) or empirical risk. Metric: the loss F. Overlays:
// the teacher's neurons (markers: where the neurons concentrate, cf. Thm 6.1); for a linear network the
// Gaussian closure (23) of Prop. 6.2 from the source's mean and covariance.
#include <algorithm>
#include <cmath>
#include <vector>

#include "dynamics/common.h"
#include "dynamics/registry.h"
#include "neural/two_layer.h"
#include "util/error.h"

namespace tl::dyn {

namespace {

class MeanFieldNetwork : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure&, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const std::string who = "mean-field-network";
        const PointCloud& X0 = source.cloud;
        const int d = static_cast<int>(p.integer("input_dim"));
        const int dim = d + 1;
        if (X0.dim != dim)
            throw Error(who + ": key 'input_dim' = " + std::to_string(d) + " needs a " + std::to_string(dim) +
                        "-D source (neurons (a, w) in R^(1+d)) but the source is " + std::to_string(X0.dim) + "-D");
        const std::size_t n = X0.size();
        const nn::Activation act = p.choice("activation") == "linear" ? nn::Activation::Linear : nn::Activation::Relu;
        const bool empirical = p.choice("risk") == "empirical";
        const Integrator integrator = parseIntegrator(p.choice("integrator"));
        const long stepsTotal = p.integer("steps");
        const nn::TwoLayerRisk risk(act, nn::makeTeacher(static_cast<int>(p.integer("teacher_neurons")), d,
                                                          static_cast<std::uint64_t>(p.integer("teacher_seed"))),
                                    empirical ? static_cast<long>(p.integer("samples")) : 0, static_cast<std::uint64_t>(p.integer("seed")));
        std::vector<double> w = X0.weights;
        double wsum = 0;
        for (double v : w) wsum += v;
        for (double& v : w) v /= wsum;

        RunSummary sum;
        // drift = -grad_theta (dF/dmu)(theta_i); returns the risk F at x
        std::vector<double> grad(n * dim);
        auto drift = [&](const std::vector<double>& x, std::vector<double>& out) {
            out.resize(n * dim);
            const double F = risk.evaluate(x.data(), w.data(), n, grad.data(), ctx.threads);
            for (std::size_t k = 0; k < n * dim; ++k) out[k] = -grad[k];
            ++sum.nfe;
            return F;
        };

        MarkerOverlay teacherMarks{"teacher", dim, {}};
        for (const auto& row : risk.teacher().rows()) teacherMarks.points.insert(teacherMarks.points.end(), row.begin(), row.end());

        // Gaussian closure (23) for a linear network, from the source sample's mean and covariance.
        const bool closure = act == nn::Activation::Linear;
        Eigen::VectorXd cm = Eigen::VectorXd::Zero(dim);
        Eigen::MatrixXd cS = Eigen::MatrixXd::Zero(dim, dim);
        if (closure) {
            for (std::size_t i = 0; i < n; ++i)
                for (int r = 0; r < dim; ++r) cm[r] += w[i] * X0.points[i * dim + r];
            for (std::size_t i = 0; i < n; ++i)
                for (int r = 0; r < dim; ++r)
                    for (int q = 0; q < dim; ++q) cS(r, q) += w[i] * (X0.points[i * dim + r] - cm[r]) * (X0.points[i * dim + q] - cm[q]);
        }

        double lastLoss = 0;
        auto frameOf = [&](double t, const std::vector<double>& x) {
            Frame f;
            f.t = t;
            f.dim = dim;
            f.positions = x;
            f.weights = w;
            lastLoss = drift(x, f.velocities);
            if (!std::isfinite(lastLoss)) throw Error(who + ": the loss became non-finite near t = " + std::to_string(t) + "; use more 'steps'");
            f.setMetric("loss", lastLoss);
            f.markers.push_back(teacherMarks);
            if (closure) f.overlays.push_back({"Gaussian closure (23)", cm, cS});
            return f;
        };

        std::vector<double> x = X0.points;
        ctx.publish(frameOf(times.front(), x));
        long done = 0;
        auto atFrame = [&](std::size_t f, const std::vector<double>& y) {
            if (closure) {
                // small RK4 steps (at most 0.01) over the frame interval
                const double span = times[f] - times[f - 1];
                const long sub = std::max<long>(1, static_cast<long>(std::ceil(span / 0.01)));
                for (long s = 0; s < sub; ++s) nn::linearClosureStep(cm, cS, risk.C(), risk.c(), span / static_cast<double>(sub));
                if (!cm.allFinite() || !cS.allFinite()) throw Error(who + ": the Gaussian closure blew up near t = " + std::to_string(times[f]));
            }
            ctx.publish(frameOf(times[f], y));
        };
        if (!stepParticles(x, times, stepsTotal, integrator, drift, nullptr, atFrame, ctx, who, "neurons", done)) {
            sum.cancelled = true;
            return sum;
        }
        sum.note = std::to_string(done) + " " + integratorName(integrator) + " steps, " + (empirical ? "empirical" : "population") + " risk";
        sum.extras.push_back({"final_loss", lastLoss});
        sum.tables.push_back({"teacher", risk.teacher().rows()});
        return sum;
    }
};

}  // namespace

DynamicsInfo meanFieldNetworkInfo() {
    DynamicsInfo info{
        "mean-field-network",
        "Training a two-layer network f(x) = (1/N) sum a_i sigma(w_i.x) as particles theta_i = (a_i, w_i) in R^(1+d) "
        "(science.md §5, (19)-(23)): gradient flow of 1/2 E|f(x) - y|^2, x ~ N(0, I_d), against a teacher "
        "y = (1/k) sum a*_j sigma(w*_j.x) with |w*_j| = 1 uniform on the circle (d = 2) or +-1 (d = 1) and a*_j uniform "
        "in [0.5, 1.5] with signs +, -, +, ...; the source (1+d-D) is the initialisation. Markers: the teacher's neurons "
        "(a*_j, w*_j); student neurons gather on their directions w*_j with the sign of a*_j. Linear: the Gaussian closure (23)",
        {
            {"input_dim", ParamType::Integer, "2", 1, 2, {}, "d, the input dimension (the source must be (1+d)-D)"},
            {"activation", ParamType::Choice, "relu", 0, 0, {"relu", "linear"}, "sigma, for the students and the teacher"},
            {"teacher_neurons", ParamType::Integer, "3", 1, 1000, {}, "k, the teacher's neurons"},
            {"teacher_seed", ParamType::Integer, "1", 0, 1e15, {}, "seed of the teacher's neurons"},
            {"risk", ParamType::Choice, "population", 0, 0, {"population", "empirical"},
             "population: exact expectation over x ~ N(0, I); empirical: mean over a fixed sample"},
            {"samples", ParamType::Integer, "1000", 1, 1000000, {}, "empirical: sample size M", "risk=empirical"},
            {"seed", ParamType::Integer, "0", 0, 1e15, {}, "empirical: seed of the sample", "risk=empirical"},
            {"integrator", ParamType::Choice, "rk4", 0, 0, {"euler", "heun", "rk4"}, "time integrator"},
            {"steps", ParamType::Integer, "500", 1, 10000000, {}, "time steps over the whole duration"},
        },
        [] { return std::make_unique<MeanFieldNetwork>(); }};
    info.needsTarget = false;
    return info;
}

}  // namespace tl::dyn
