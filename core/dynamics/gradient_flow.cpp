// gradient-flow (science.md §4, survey §5, JKO (13), Thm 5.1, porous medium (16)): the source density on a
// grid, moved down an energy by entropic JKO steps (gradient_flows/jko.h). Frames carry the
// density; metrics: energy F, entropy, the inner iterations per step. Overlays where closed forms
// exist: heat / Ornstein-Uhlenbeck from a Gaussian start (2-sigma ellipse), the Barenblatt support.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "dynamics/registry.h"
#include "gradient_flows/grid.h"
#include "gradient_flows/jko.h"
#include "gradient_flows/potential.h"
#include "measure/barenblatt.h"
#include "measure/spec.h"
#include "util/error.h"

namespace tl::dyn {

namespace {

gf::JkoEnergyKind energyKind(const std::string& s) {
    if (s == "heat") return gf::JkoEnergyKind::Heat;
    if (s == "fokker-planck") return gf::JkoEnergyKind::FokkerPlanck;
    if (s == "porous-medium") return gf::JkoEnergyKind::PorousMedium;
    if (s == "crowd") return gf::JkoEnergyKind::Crowd;
    throw Error("gradient-flow: key 'energy' must be heat, fokker-planck, porous-medium or crowd (got '" + s + "')");
}

// The closed-form Gaussian of the heat / OU flow from N(m0, S0) at time t (potential strength s).
GaussianOverlay gaussianFlowOverlay(double t, const Eigen::VectorXd& m0, const Eigen::MatrixXd& S0, bool quadratic, double s) {
    const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(S0.rows(), S0.cols());
    if (!quadratic || s == 0) return {"heat flow  Σ0 + 2t I", m0, S0 + 2 * t * I};
    const double e = std::exp(-s * t);
    return {"Ornstein-Uhlenbeck", e * m0, e * e * S0 + (1 - e * e) / s * I};
}

class GradientFlow : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure&, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const std::string who = "gradient-flow";
        const int cells = static_cast<int>(p.integer("grid"));
        const double extent = p.real("extent");
        const double tauMax = p.real("tau");
        gf::JkoEnergy energy;
        energy.kind = energyKind(p.choice("energy"));
        energy.m = p.real("m");
        energy.maxDensity = p.real("max_density");
        const gf::Potential V = gf::Potential::parse(p.choice("potential"), p.real("potential_strength"), 2 * extent, ctx.baseDir, who);
        if (ctx.progress) ctx.progress(0.0, "projecting the source onto the grid");
        const gf::Projection proj = gf::projectMeasure(source, cells, extent, who);
        if (!V.isNone()) {
            energy.V.resize(proj.grid.values.size());
            for (int iy = 0; iy < cells; ++iy)
                for (int ix = 0; ix < cells; ++ix) {
                    const double x[2] = {proj.grid.center(ix), proj.grid.center(iy)};
                    energy.V[static_cast<std::size_t>(iy) * cells + ix] = V.value(x, 2);
                }
        }
        gf::JkoOptions opt;
        opt.epsilon = p.real("epsilon");
        opt.maxIterations = static_cast<int>(p.integer("iterations"));
        opt.tolerance = p.real("tolerance");
        opt.entropicCorrection = p.flag("entropic_correction");
        opt.threads = ctx.threads;
        gf::JkoSolver solver(proj.grid, energy, opt);

        // Closed forms: heat / OU from a Gaussian source; Barenblatt support for the pure porous medium.
        const bool gaussianStart = source.law && source.law->isGaussian();
        const bool gaussianFlow = gaussianStart && (energy.kind == gf::JkoEnergyKind::Heat ||
                                                    (energy.kind == gf::JkoEnergyKind::FokkerPlanck && (V.isNone() || V.isQuadratic())));
        std::optional<BarenblattProfile> barenblatt;
        if (energy.kind == gf::JkoEnergyKind::PorousMedium && V.isNone()) {
            std::map<std::string, std::string> kv;
            if (specKind(source.spec, &kv) == "barenblatt" && std::stod(kv["dim"]) == 2 && std::abs(std::stod(kv["m"]) - energy.m) < 1e-12)
                barenblatt = BarenblattProfile(std::stod(kv["m"]), std::stod(kv["t0"]), 1.0, 2);
        }
        auto publish = [&](double t, int iterations) {
            Frame f;
            f.t = t;
            f.dim = 2;
            f.density = std::make_shared<const DensityGrid>(solver.density());
            f.setMetric("energy", solver.energy());
            if (iterations >= 0) f.setMetric("jko_iterations", iterations);
            if (gaussianFlow)
                f.overlays.push_back(gaussianFlowOverlay(t, source.law->mean(), source.law->covariance(), V.isQuadratic(), V.strength()));
            if (barenblatt) {  // the support circle drawn as a 2-sigma ellipse of radius R(t0 + t)
                const double R = barenblatt->radius(barenblatt->t0 + t);
                f.overlays.push_back({"Barenblatt support", Eigen::Vector2d::Zero(), (R * R / 4) * Eigen::Matrix2d::Identity()});
            }
            ctx.publish(std::move(f));
        };

        RunSummary sum;
        publish(times.front(), -1);
        long steps = 0, iterTotal = 0, capped = 0;
        int iterMax = 0;
        const double T = times.back();
        for (std::size_t k = 1; k < times.size(); ++k) {
            const double dt = times[k] - times[k - 1];
            const long n = std::max<long>(1, static_cast<long>(std::ceil(dt / tauMax - 1e-9)));
            const double tau = dt / static_cast<double>(n);
            long frameIters = 0;
            for (long s = 0; s < n; ++s) {
                const int it = solver.step(tau, ctx.stop);
                if (it < 0) {
                    sum.cancelled = true;
                    return sum;
                }
                ++steps;
                iterTotal += it;
                frameIters += it;
                iterMax = std::max(iterMax, it);
                if (!solver.converged()) ++capped;
                if (ctx.progress)
                    ctx.progress((times[k - 1] + (s + 1) * tau) / T, "JKO step " + std::to_string(steps) + ": " + std::to_string(it) + " iterations");
            }
            publish(times[k], static_cast<int>(frameIters / n));
        }
        char note[256];
        std::snprintf(note, sizeof note, "%ld entropic JKO steps, %.1f scaling iterations per step on average (max %d)", steps,
                      steps ? double(iterTotal) / double(steps) : 0.0, iterMax);
        sum.note = note;
        if (capped) sum.note += "; " + std::to_string(capped) + " steps stopped at the 'iterations' cap";
        if (!proj.exact) sum.note += "; source projected as a smoothed histogram";
        if (proj.outsideFraction > 0.005) {
            std::snprintf(note, sizeof note, "; %.1f%% of the source lies outside the grid (increase 'extent')", 100 * proj.outsideFraction);
            sum.note += note;
        }
        return sum;
    }
};

}  // namespace

DynamicsInfo gradientFlowInfo() {
    DynamicsInfo info{
        "gradient-flow",
        "Wasserstein gradient flow of a density on a grid by entropic JKO steps (science.md §4): heat, Fokker-Planck, porous "
        "medium or crowd motion",
        {
            {"energy", ParamType::Choice, "heat", 0, 0, {"heat", "fokker-planck", "porous-medium", "crowd"},
             "F: heat = int rho log rho; fokker-planck = + int V rho; porous-medium = int rho^m/(m-1) (+ int V rho); crowd = int V rho "
             "with rho <= max_density"},
            {"potential", ParamType::Choice, "none", 0, 0, {"none", "quadratic", "double-well", "image:PATH"},
             "V: |x|^2/2, (x^2-1)^2 + y^2/2, or a grey image spanning the grid (brighter = higher)"},
            {"potential_strength", ParamType::Real, "1", 0, 1000, {}, "factor on V", "potential!=none"},
            {"m", ParamType::Real, "2", 1.0001, 10, {}, "porous-medium exponent m > 1", "energy=porous-medium"},
            {"max_density", ParamType::Real, "1", 1e-6, 1e9, {}, "crowd: congestion bound on the density", "energy=crowd"},
            {"grid", ParamType::Integer, "128", 8, 2048, {}, "cells per side"},
            {"extent", ParamType::Real, "4", 1e-3, 1e6, {}, "the grid covers [-extent, extent]^2"},
            {"tau", ParamType::Real, "0.01", 1e-6, 100, {}, "largest JKO time step (frame intervals are split into equal steps)"},
            {"epsilon", ParamType::Real, "0.005", 1e-8, 100, {}, "entropic regularisation of W (absolute, squared-distance units); "
             "about the cell area or more"},
            {"iterations", ParamType::Integer, "500", 1, 1000000, {}, "cap on scaling iterations per step"},
            {"tolerance", ParamType::Real, "1e-7", 0, 1, {}, "stop a step when the L1 change of its density is below this"},
            {"entropic_correction", ParamType::Boolean, "true", 0, 0, {},
             "subtract the entropic blur's extra diffusion eps/(4 tau) from F, so the flow is that of F itself (not for crowd)"},
        },
        [] { return std::make_unique<GradientFlow>(); }};
    info.needsTarget = false;
    return info;
}

}  // namespace tl::dyn
