// interacting-particles (science.md §4, (17)-(18)): dx_i = (-grad V(x_i) - (1/N) sum_j grad W(x_i - x_j)) dt
// + sqrt(2D) dB_i with seeded noise; W attractive-repulsive |z|^a/a - |z|^b/b or quadratic-log
// |z|^2/2 - ln|z|; D > 0 with no interaction is Langevin for Fokker-Planck. The all-pairs sum runs
// on the SIMD, multi-threaded pair-force kernel (gradient_flows/pair_forces.h), O(N) memory.
// Metrics: the free energy of the empirical measure (potential + interaction; `potential_energy`
// when D > 0, whose entropy term an empirical measure lacks), the mean radius.
#include <cmath>
#include <vector>

#include "dynamics/common.h"
#include "dynamics/registry.h"
#include "gradient_flows/pair_forces.h"
#include "gradient_flows/potential.h"
#include "util/error.h"
#include "util/rng.h"

namespace tl::dyn {

namespace {

enum class Interaction { None, AttractiveRepulsive, QuadraticLog };

Interaction parseInteraction(const std::string& s) {
    if (s == "none") return Interaction::None;
    if (s == "attractive-repulsive") return Interaction::AttractiveRepulsive;
    if (s == "quadratic-log") return Interaction::QuadraticLog;
    throw Error("interacting-particles: key 'interaction' must be none, attractive-repulsive or quadratic-log (got '" + s + "')");
}

class InteractingParticles : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure&, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const std::string who = "interacting-particles";
        const PointCloud& X0 = source.cloud;
        const int dim = X0.dim;
        const std::size_t n = X0.size();
        const gf::Potential V = gf::Potential::parse(p.choice("potential"), p.real("potential_strength"), 8.0, ctx.baseDir, who);
        const Interaction interaction = parseInteraction(p.choice("interaction"));
        const bool interacting = interaction != Interaction::None;
        const gf::PairKernel K =
            interaction == Interaction::QuadraticLog ? gf::quadraticLog() : gf::attractiveRepulsive(p.real("a"), p.real("b"));
        const double D = p.real("noise");
        const Integrator integrator = parseIntegrator(p.choice("integrator"));
        const long stepsTotal = p.integer("steps");
        Rng rng(static_cast<std::uint64_t>(p.integer("seed")));
        std::vector<double> w = X0.weights;
        double wsum = 0;
        for (double v : w) wsum += v;
        for (double& v : w) v /= wsum;

        RunSummary sum;
        // drift(x) = -grad V(x_i) - sum_j w_j grad W(x_i - x_j)
        std::vector<double> force(n * dim);
        auto drift = [&](const std::vector<double>& x, std::vector<double>& out) {
            out.assign(n * dim, 0.0);
            if (interacting) {
                gf::pairForces(dim, x.data(), w.data(), n, K, force.data(), ctx.threads);
                for (std::size_t k = 0; k < n * dim; ++k) out[k] = -force[k];
            }
            if (!V.isNone()) {
                double g[3];
                for (std::size_t i = 0; i < n; ++i) {
                    V.gradient(&x[i * dim], dim, g);
                    for (int c = 0; c < dim; ++c) out[i * dim + c] -= g[c];
                }
            }
            ++sum.nfe;
        };
        auto frameOf = [&](double t, const std::vector<double>& x) {
            Frame f;
            f.t = t;
            f.dim = dim;
            f.positions = x;
            f.weights = w;
            drift(x, f.velocities);
            double E = 0, cx[3] = {0, 0, 0};
            for (std::size_t i = 0; i < n; ++i) {
                if (!V.isNone()) E += w[i] * V.value(&x[i * dim], dim);
                for (int c = 0; c < dim; ++c) cx[c] += w[i] * x[i * dim + c];
            }
            if (interacting) E += gf::pairEnergy(dim, x.data(), w.data(), n, K, ctx.threads);
            double radius = 0;
            for (std::size_t i = 0; i < n; ++i) {
                double r2 = 0;
                for (int c = 0; c < dim; ++c) r2 += (x[i * dim + c] - cx[c]) * (x[i * dim + c] - cx[c]);
                radius += w[i] * std::sqrt(r2);
            }
            // Without noise, potential + interaction is the free energy the flow decreases; with noise the
            // free energy also holds an entropy the empirical measure has none of, so the sum is named
            // for what it is (it is not comparable with a grid panel's energy).
            if (interacting || !V.isNone()) f.setMetric(D > 0 ? "potential_energy" : "energy", E);
            f.setMetric("mean_radius", radius);
            return f;
        };

        std::vector<double> x = X0.points;
        ctx.publish(frameOf(times.front(), x));
        long done = 0;
        auto noise = [&](std::vector<double>& y, double dt) {
            const double s2 = std::sqrt(2 * D * dt);
            for (double& v : y) v += s2 * rng.normal();
        };
        if (!stepParticles(x, times, stepsTotal, integrator, drift, D > 0 ? std::function<void(std::vector<double>&, double)>(noise) : nullptr,
                           [&](std::size_t f, const std::vector<double>& y) { ctx.publish(frameOf(times[f], y)); }, ctx, who, "particles",
                           done)) {
            sum.cancelled = true;
            return sum;
        }
        sum.note = std::to_string(done) + " " + integratorName(integrator) + " steps" + (D > 0 ? " with noise (Euler-Maruyama increments)" : "");
        return sum;
    }
};

}  // namespace

DynamicsInfo interactingParticlesInfo() {
    DynamicsInfo info{
        "interacting-particles",
        "Particles in a potential with mean-field pair interactions and optional noise (science.md §4, (17)): aggregation "
        "patterns, Langevin dynamics",
        {
            {"potential", ParamType::Choice, "none", 0, 0, {"none", "quadratic", "double-well", "image:PATH"},
             "V: |x|^2/2, (x1^2-1)^2 + |x_rest|^2/2, or a grey image 8 units wide centred at 0 (brighter = higher)"},
            {"potential_strength", ParamType::Real, "1", 0, 1000, {}, "factor on V", "potential!=none"},
            {"interaction", ParamType::Choice, "attractive-repulsive", 0, 0, {"none", "attractive-repulsive", "quadratic-log"},
             "W: |z|^a/a - |z|^b/b, or |z|^2/2 - ln|z|"},
            {"a", ParamType::Real, "4", 0.01, 20, {}, "attractive-repulsive: attraction exponent (a > b)", "interaction=attractive-repulsive"},
            {"b", ParamType::Real, "2", 0.01, 20, {}, "attractive-repulsive: repulsion exponent", "interaction=attractive-repulsive"},
            {"noise", ParamType::Real, "0", 0, 100, {}, "diffusion coefficient D (noise sqrt(2D) dB)"},
            {"integrator", ParamType::Choice, "rk4", 0, 0, {"euler", "heun", "rk4"}, "drift integrator (noise added per step)"},
            {"steps", ParamType::Integer, "600", 1, 10000000, {}, "time steps over the whole duration"},
            {"seed", ParamType::Integer, "0", 0, 1e15, {}, "noise seed"},
        },
        [] { return std::make_unique<InteractingParticles>(); }};
    info.needsTarget = false;
    info.validate = [](const ParamValues& p, const std::string& ctx) {
        if (parseInteraction(p.choice("interaction")) == Interaction::AttractiveRepulsive && !(p.real("a") > p.real("b")))
            throw Error(ctx + ": key 'a' must be greater than key 'b' (got a = " + paramText(p.real("a")) + ", b = " + paramText(p.real("b")) + ")");
    };
    return info;
}

}  // namespace tl::dyn
