// diffusion (science.md §2, Prop. 3.3): sampling from noise (t = 0, the source law) to data
// (t = 1) with the exact score of rho_t = law of (1-t) x0 + t x1: empirical target (Tweedie:
// softmax kernel reductions) or, for Gaussian source and target laws, the Gaussian score
// -Sigma_t^{-1} (x - m_t). Samplers: the probability-flow ODE dx = v_t dt with v written through the
// score, v = (x - E[x0 | x]) / t, or the reverse SDE dx = (v + sigma_t^2 / 2 grad log rho_t) dt + sigma_t dW,
// sigma_t^2 = 2 noise (1 - t) (Euler-Maruyama, seeded), which has the same marginals for any sigma.
#include <cmath>

#include "dynamics/common.h"
#include "dynamics/registry.h"
#include "flows/empirical_posterior.h"
#include "flows/gaussian_path.h"
#include "flows/integrators.h"
#include "util/error.h"
#include "util/rng.h"

namespace tl::dyn {

namespace {

class Diffusion : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure& target, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const PointCloud& x = source.cloud;
        const PointCloud& y = target.cloud;
        requireSameDimension(x, y, "diffusion");
        const GaussianMixture& law = requireMixture(source, "diffusion", "source (the noise)");
        const bool gaussianTarget = law.isGaussian() && target.law && target.law->isGaussian();
        const double delta = gaussianTarget ? 0.0 : p.real("delta");
        const double tEnd = 1 - delta;
        const int steps = static_cast<int>(p.integer("steps"));
        const double noise = p.real("noise");
        const bool sde = p.choice("sampler") == "sde";

        std::unique_ptr<EmpiricalPosterior> post;
        GaussianPath path;
        if (gaussianTarget) {
            requireDefinite(target.law->components[0].cov, "diffusion", "target");
            path = {law.components[0].mean, target.law->components[0].mean, law.components[0].cov, target.law->components[0].cov};
        } else {
            post = std::make_unique<EmpiricalPosterior>(law, y, ctx.threads);
        }
        long nfe = 0;
        // Velocity (probability flow) and score at (t, X), one evaluation of the posterior.
        auto evaluate = [&](double t, const Eigen::MatrixXd& X, Eigen::MatrixXd& v, Eigen::MatrixXd* score) {
            ++nfe;
            if (gaussianTarget) {
                v = path.velocity(t, X);
                if (score) *score = -(X.rowwise() - path.meanAt(t).transpose()) * path.covAt(t).inverse().transpose();
                return;
            }
            if (t <= 1e-9) {  // v = (x - E[x0|x]) / t is 0/0 at t = 0: use its limit, E[x1|x] - x
                v = post->flowVelocity(t, X);
                if (score) *score = post->score(t, X);
                return;
            }
            v = post->velocityFromScore(t, X);
            if (score) *score = post->score(t, X);
        };

        const Eigen::MatrixXd X0 = toMatrix(x);
        const std::vector<double>& w = x.weights;
        const Eigen::VectorXd m0 = law.mean(), m1 = gaussianTarget ? target.law->mean() : y.mean();
        const Eigen::MatrixXd s0 = law.covariance(), s1 = gaussianTarget ? target.law->covariance() : y.covariance();
        const VelocityField velocity = [&](double t, const Eigen::MatrixXd& X) {
            Eigen::MatrixXd V;
            evaluate(t, X, V, nullptr);
            --nfe;  // the frames' velocities for drawing are not the sampler's evaluations
            return V;
        };
        // Frames are published while sampling (a panel moves after its first steps).
        FrameStream stream(velocity, w, times, ctx, [&](Frame& f) { f.overlays.push_back(interpolantOverlay(f.t, m0, s0, m1, s1)); });
        OdeTrajectory tr;
        double sdeEnergy = 0;
        Eigen::MatrixXd driftDisplacement;
        if (!sde) {
            VelocityField field = [&](double t, const Eigen::MatrixXd& X) {
                Eigen::MatrixXd v;
                evaluate(t, X, v, nullptr);
                return v;
            };
            OdeOptions oo;
            oo.method = parseIntegrator(p.choice("integrator"));
            oo.steps = steps;
            tr = integrate(field, X0, 0.0, tEnd, oo, [&] { return !ctx.cancelled(); }, stream.onStep());
            if (tr.cancelled) return RunSummary::cancelledAfter(nfe);
        } else {
            Rng rng(static_cast<std::uint64_t>(p.integer("seed")));
            const double h = tEnd / steps;
            Eigen::MatrixXd X = X0, v, s;
            const Eigen::Map<const Eigen::VectorXd> a(w.data(), static_cast<Eigen::Index>(w.size()));
            sdeEnergy = 0;
            driftDisplacement = Eigen::MatrixXd::Zero(X0.rows(), X0.cols());
            tr.times.push_back(0.0);
            tr.states.push_back(X);
            for (int k = 0; k < steps; ++k) {
                if (ctx.cancelled()) return RunSummary::cancelledAfter(nfe);
                const double t = k * h;
                evaluate(t, X, v, &s);
                sdeEnergy += h * a.dot(v.rowwise().squaredNorm());  // int |v_t(x_t)|^2 dt along the sampled path
                driftDisplacement += h * v;                          // int v_t(x_t) dt
                const double sigma2 = 2 * noise * (1 - t);
                X += h * (v + 0.5 * sigma2 * s);
                const double sd = std::sqrt(sigma2 * h);
                for (Eigen::Index i = 0; i < X.rows(); ++i)
                    for (Eigen::Index c = 0; c < X.cols(); ++c) X(i, c) += sd * rng.normal();
                if (!X.allFinite()) throw Error("diffusion: the SDE blew up at t = " + std::to_string(t + h));
                tr.times.push_back(k + 1 == steps ? tEnd : (k + 1) * h);
                tr.states.push_back(X);
                stream.reached(tr);
                if (ctx.progress) ctx.progress(static_cast<double>(k + 1) / steps, "sampling");
            }
        }
        RunSummary sum;
        // science.md §2: S = E int |v_t(x_t)|^2 dt - E |x1 - x0|^2 with v the velocity field. For the SDE
        // both terms use the probability-flow velocity along the sampled (noisy) path, the second as
        // |int v dt|^2 (the noise increments are not velocity): S >= 0, and = 0 iff v is constant in t.
        if (sde) {
            const Eigen::Map<const Eigen::VectorXd> a(w.data(), static_cast<Eigen::Index>(w.size()));
            sum.straightness = sdeEnergy - a.dot(driftDisplacement.rowwise().squaredNorm()) / tEnd;
        } else {
            sum.straightness = straightness(tr, w);
        }
        Eigen::MatrixXd snapped = tr.states.back();
        if (!gaussianTarget) post->evaluate(tEnd, tr.states.back(), snapped);  // final denoising step (Tweedie)
        const long samplingNfe = nfe;
        sum.cancelled = !stream.finish(tr, gaussianTarget ? nullptr : &snapped);
        sum.nfe = samplingNfe;
        sum.note = std::string(sde ? "reverse SDE (Euler-Maruyama)" : "probability-flow ODE") +
                   (gaussianTarget ? ", Gaussian score" : ", empirical score; integrated to 1 - delta, then denoised");
        return sum;
    }
};

}  // namespace

DynamicsInfo diffusionInfo() {
    return {"diffusion",
            "Score-based sampling from the source (noise) to the target with the exact score (science.md §2, Prop. 3.3)",
            {
                {"sampler", ParamType::Choice, "sde", 0, 0, {"ode", "sde"}, "probability-flow ODE or reverse SDE (Euler-Maruyama)"},
                {"steps", ParamType::Integer, "200", 1, 100000, {}, "sampling steps"},
                {"integrator", ParamType::Choice, "heun", 0, 0, {"euler", "heun", "rk4", "dopri5"}, "ode sampler: integrator", "sampler=ode"},
                {"noise", ParamType::Real, "1", 0, 100, {}, "sde: sigma_t^2 = 2 noise (1 - t) (0 = the ODE drift with Euler steps)", "sampler=sde"},
                {"delta", ParamType::Real, "0.001", 1e-6, 0.5, {}, "empirical target: stop at 1 - delta, then denoise with the posterior mean E[x1 given x]"},
                {"seed", ParamType::Integer, "0", 0, 1e15, {}, "sde: noise seed", "sampler=sde"},
            },
            [] { return std::make_unique<Diffusion>(); }};
}

}  // namespace tl::dyn
