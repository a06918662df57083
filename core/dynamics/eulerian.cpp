// Eulerian transport on a grid (science.md §1, §3): `benamou-brenier` solves dynamic OT (11) between
// the source and target densities on a space-time grid by proximal splitting (eulerian/benamou_brenier.h);
// `field-recovery` computes, along a path of densities (the mixture (1-t) rho0 + t rho1, or the
// displacement interpolation), a velocity field satisfying the continuity equation (2): the
// least-squares field (4)-(6) or Dacorogna-Moser's (3), and advects the source samples through it
// (RK4, bilinear interpolation) — two fields, the same densities, different particles.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "dynamics/registry.h"
#include "eulerian/benamou_brenier.h"
#include "eulerian/poisson.h"
#include "gradient_flows/grid.h"
#include "ot/gaussian.h"
#include "util/error.h"

namespace tl::dyn {

namespace {

// Bilinear interpolation of a cell-centred field at (x, y) (clamped to the outermost centres).
double bilinear(const DensityGrid& g, const std::vector<double>& f, double x, double y) {
    const int n = g.cells;
    const double h = g.h();
    const double u = std::clamp((x + g.extent) / h - 0.5, 0.0, n - 1.0), v = std::clamp((y + g.extent) / h - 0.5, 0.0, n - 1.0);
    const int i0 = std::min(static_cast<int>(u), n - 2), j0 = std::min(static_cast<int>(v), n - 2);
    const double a = u - i0, b = v - j0;
    auto at = [&](int j, int i) { return f[static_cast<std::size_t>(j) * n + i]; };
    return (1 - b) * ((1 - a) * at(j0, i0) + a * at(j0, i0 + 1)) + b * ((1 - a) * at(j0 + 1, i0) + a * at(j0 + 1, i0 + 1));
}

// The Bures geodesic overlay between the measures' Gaussian laws (when both have one).
std::optional<GaussianOt> buresOf(const Measure& s, const Measure& t) {
    if (!(s.law && s.law->isGaussian() && t.law && t.law->isGaussian())) return std::nullopt;
    try {
        return GaussianOt::fromParameters(s.law->mean(), s.law->covariance(), t.law->mean(), t.law->covariance());
    } catch (const Error&) {
        return std::nullopt;
    }
}

double kineticDensity(const DensityGrid& g) {  // int rho |v|^2 dx
    double e = 0;
    for (std::size_t c = 0; c < g.values.size() && c < g.vx.size(); ++c) e += g.values[c] * (g.vx[c] * g.vx[c] + g.vy[c] * g.vy[c]);
    return e * g.cellArea();
}

class BenamouBrenierDynamics : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure& target, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const std::string who = "benamou-brenier";
        const int cells = static_cast<int>(p.integer("grid"));
        const double extent = p.real("extent");
        const gf::Projection p0 = gf::projectMeasure(source, cells, extent, who + " (source)");
        const gf::Projection p1 = gf::projectMeasure(target, cells, extent, who + " (target)");
        eulerian::BenamouBrenierOptions o;
        o.timeSteps = static_cast<int>(p.integer("time_steps"));
        o.maxIterations = static_cast<int>(p.integer("iterations"));
        o.tolerance = p.real("tolerance");
        o.threads = ctx.threads;
        std::vector<std::vector<double>> trace;  // {iteration, primal, dual}: the chart's curve, the summary's table
        o.progress = [&](int it, double primal, double dual) {
            if (it % 5 == 0 || it < 5) {
                trace.push_back({static_cast<double>(it), primal, dual});
                if (ctx.convergence) ctx.convergence(it, {{"primal residual", primal}, {"dual residual", dual}});
            }
            if (ctx.progress && it % 10 == 0) {
                std::ostringstream s;
                s.precision(2);
                s << "iteration " << it << ": primal " << primal << ", dual " << dual;
                ctx.progress(std::min(0.99, static_cast<double>(it) / o.maxIterations), s.str());
            }
            return !ctx.cancelled();
        };
        const eulerian::BenamouBrenierResult r = eulerian::benamouBrenier(p0.grid, p1.grid, o);
        if (r.cancelled || ctx.cancelled()) return RunSummary::cancelledAfter();
        RunSummary sum;
        const auto bures = buresOf(source, target);
        const int K = r.timeSteps;
        for (double t : times) {
            // linear interpolation in time between the solver's time steps
            const double u = std::clamp(t, 0.0, 1.0) * K;
            const int k = std::min(static_cast<int>(u), K - 1);
            const double a = u - k;
            auto g = std::make_shared<DensityGrid>(r.densities[k]);
            const DensityGrid& b = r.densities[k + 1];
            for (std::size_t c = 0; c < g->values.size(); ++c) g->values[c] = (1 - a) * g->values[c] + a * b.values[c];
            g->vx.resize(g->values.size());
            g->vy.resize(g->values.size());
            for (std::size_t c = 0; c < g->values.size(); ++c) {
                g->vx[c] = (1 - a) * r.velocityX[k][c] + a * r.velocityX[k + 1][c];
                g->vy[c] = (1 - a) * r.velocityY[k][c] + a * r.velocityY[k + 1][c];
            }
            Frame f;
            f.t = t;
            f.dim = 2;
            f.setMetric("energy", kineticDensity(*g));
            f.density = g;
            if (bures) f.overlays.push_back({"Bures geodesic", bures->meanAt(t), bures->covarianceAt(t)});
            ctx.publish(std::move(f));
        }
        std::ostringstream note;
        note << r.iterations << " Douglas-Rachford iterations (" << r.levels << " grid levels), primal residual " << r.primalResidual
             << ", dual " << r.dualResidual << (r.converged ? "" : " (iteration cap reached)") << "; " << r.secondsPerIteration * 1e3
             << " ms per iteration, " << std::lround(100 * r.poissonFraction) << "% in the Poisson solves";
        sum.note = note.str();
        sum.extras = {{"kinetic_energy", r.kineticEnergy},
                      {"iterations", static_cast<double>(r.iterations)},
                      {"primal_residual", r.primalResidual},
                      {"dual_residual", r.dualResidual}};
        if (bures) sum.extras.emplace_back("bures_w2_squared", bures->w2sq);
        sum.tables.emplace_back("convergence", std::move(trace));  // rows {iteration, primal residual, dual residual}
        return sum;
    }
};

class FieldRecovery : public Dynamics {
public:
    RunSummary run(const Measure& source, const Measure& target, const ParamValues& p, const std::vector<double>& times,
                   RunContext& ctx) override {
        const std::string who = "field-recovery";
        const int cells = static_cast<int>(p.integer("grid"));
        const double extent = p.real("extent");
        const bool leastSquares = p.choice("field") == "least-squares";
        const bool mixture = p.choice("path") == "mixture";
        const long steps = p.integer("steps");
        if (source.cloud.dim != 2) throw Error(who + ": needs 2-D measures");
        const gf::Projection p0 = gf::projectMeasure(source, cells, extent, who + " (source)");
        const gf::Projection p1 = gf::projectMeasure(target, cells, extent, who + " (target)");
        const double h = p0.grid.h();
        const std::size_t N = p0.grid.values.size();
        auto bures = buresOf(source, target);
        std::optional<eulerian::BenamouBrenierResult> bb;
        if (!mixture && !bures) {
            if (ctx.progress) ctx.progress(0, "solving Benamou-Brenier for the displacement path");
            eulerian::BenamouBrenierOptions o;
            o.threads = ctx.threads;
            o.progress = [&](int, double, double) { return !ctx.cancelled(); };
            bb = eulerian::benamouBrenier(p0.grid, p1.grid, o);
            if (bb->cancelled || ctx.cancelled()) return RunSummary::cancelledAfter();
        }
        // rho_t and d/dt rho_t on the grid (cell values as densities).
        auto gaussianOnGrid = [&](const Eigen::Vector2d& m, const Eigen::Matrix2d& S) {
            std::vector<double> v(N);
            const Eigen::Matrix2d P = S.inverse();
            const double norm = 1 / (2 * M_PI * std::sqrt(S.determinant()));
            double sum = 0;
            for (int iy = 0; iy < cells; ++iy)
                for (int ix = 0; ix < cells; ++ix) {
                    const Eigen::Vector2d d = Eigen::Vector2d(p0.grid.center(ix), p0.grid.center(iy)) - m;
                    v[static_cast<std::size_t>(iy) * cells + ix] = norm * std::exp(-0.5 * d.dot(P * d));
                    sum += v[static_cast<std::size_t>(iy) * cells + ix];
                }
            for (double& x : v) x /= sum * h * h;
            return v;
        };
        auto path = [&](double t, std::vector<double>& rho, std::vector<double>& drho) {
            t = std::clamp(t, 0.0, 1.0);
            rho.resize(N);
            drho.resize(N);
            if (mixture) {
                for (std::size_t c = 0; c < N; ++c) {
                    rho[c] = (1 - t) * p0.grid.values[c] + t * p1.grid.values[c];
                    drho[c] = p1.grid.values[c] - p0.grid.values[c];
                }
            } else if (bures) {
                const double dt = 1e-4, ta = std::max(0.0, t - dt), tb = std::min(1.0, t + dt);
                rho = gaussianOnGrid(bures->meanAt(t), bures->covarianceAt(t));
                const auto ra = gaussianOnGrid(bures->meanAt(ta), bures->covarianceAt(ta));
                const auto rb = gaussianOnGrid(bures->meanAt(tb), bures->covarianceAt(tb));
                for (std::size_t c = 0; c < N; ++c) drho[c] = (rb[c] - ra[c]) / (tb - ta);
            } else {
                const int K = bb->timeSteps;
                const double u = t * K;
                const int k = std::min(static_cast<int>(u), K - 1);
                const double a = u - k;
                for (std::size_t c = 0; c < N; ++c) {
                    rho[c] = (1 - a) * bb->densities[k].values[c] + a * bb->densities[k + 1].values[c];
                    drho[c] = (bb->densities[k + 1].values[c] - bb->densities[k].values[c]) * K;
                }
            }
        };
        // Fields on a uniform time lattice (twice the step count: RK4's half steps hit it), cached.
        const double T = 1.0;
        const long lattice = 2 * steps;
        std::map<long, std::shared_ptr<const eulerian::VelocityField>> cache;
        double residualMax = 0, kinetic = 0;
        int floorFaces = 0;
        // The path's end points are singular for any field when rho0 and rho1 have different supports
        // (mass appears where rho_t = 0: |v| ~ 1/t): fields are solved on [delta, 1 - delta].
        const double delta = 1e-3;
        std::map<long, double> residualAt;
        std::map<long, std::vector<double>> rhoAt;  // the path's density on the lattice (particle floor for DM)
        std::map<long, double> rhoPeak;
        auto fieldAt = [&](long q) {
            auto it = cache.find(q);
            if (it != cache.end()) return it->second;
            std::vector<double> rho, drho;
            path(std::clamp(T * static_cast<double>(q) / lattice, delta, T - delta), rho, drho);
            std::shared_ptr<const eulerian::VelocityField> v;
            if (leastSquares) {
                eulerian::LeastSquaresOptions o;
                o.threads = ctx.threads;
                v = std::make_shared<eulerian::VelocityField>(eulerian::leastSquaresField(rho, drho, h, o));
            } else {
                eulerian::DacorognaMoserOptions o;
                o.relativeFloor = p.real("density_floor");
                o.threads = ctx.threads;
                v = std::make_shared<eulerian::VelocityField>(eulerian::dacorognaMoserField(rho, drho, h, o));
            }
            double norm = 0;
            for (double x : drho) norm += x * x;
            if (norm > 0) {
                residualAt[q] = eulerian::continuityResidual(rho, drho, *v);
                residualMax = std::max(residualMax, residualAt[q]);
            }
            floorFaces = std::max(floorFaces, v->floorFaces);
            if (!leastSquares) {
                rhoPeak[q] = *std::max_element(rho.begin(), rho.end());
                rhoAt[q] = std::move(rho);
            }
            cache[q] = v;
            return v;
        };
        DensityGrid geom = p0.grid;  // geometry for interpolation
        // The velocity at (t, x): bilinear in space, linear in time between the lattice's fields.
        auto velocity = [&](double t, double x, double y, double& vx, double& vy) {
            const double u = std::clamp(t, 0.0, T) / T * lattice;
            const long q = std::min(static_cast<long>(u), lattice - 1);
            const double a = u - static_cast<double>(q);
            const auto f0 = fieldAt(q), f1 = fieldAt(q + 1);
            vx = (1 - a) * bilinear(geom, f0->vx, x, y) + a * bilinear(geom, f1->vx, x, y);
            vy = (1 - a) * bilinear(geom, f0->vy, x, y) + a * bilinear(geom, f1->vy, x, y);
        };
        // Advect the source samples: RK4 with a per-particle adaptive step. Both fields are unbounded where
        // rho_t is small (Dacorogna-Moser's grad psi / rho in the tails, either field near t = 0 where mass
        // appears), so a fixed step flings those particles off; here no RK4 substep moves a particle more
        // than cfl cells, which bounds the substeps by the path length in cells, not by the speed.
        const double cfl = p.real("cfl");
        const long maxSubsteps = 4000;  // per particle and step; a particle that needs more stays put (counted)
        const std::size_t n = source.cloud.size();
        std::vector<double> X = source.cloud.points;
        RunSummary sum;
        long substeps = 0, stalled = 0;
        auto advect = [&](std::size_t i, double t0, double t1) {
            double x = X[2 * i], y = X[2 * i + 1], t = t0;
            long sub = 0;
            const double lim = cfl * h, edge = extent - 0.5 * h;
            while (t < t1 - 1e-14 * T) {
                if (++sub > maxSubsteps) {
                    ++stalled;
                    break;
                }
                double ax, ay;
                velocity(t, x, y, ax, ay);
                double dt = t1 - t;
                const double speed = std::hypot(ax, ay);
                if (speed * dt > lim) dt = lim / speed;
                for (int attempt = 0;; ++attempt) {
                    double bx, by, cx, cy, dx, dy;
                    velocity(t + 0.5 * dt, x + 0.5 * dt * ax, y + 0.5 * dt * ay, bx, by);
                    velocity(t + 0.5 * dt, x + 0.5 * dt * bx, y + 0.5 * dt * by, cx, cy);
                    velocity(t + dt, x + dt * cx, y + dt * cy, dx, dy);
                    const double mx = dt / 6 * (ax + 2 * bx + 2 * cx + dx), my = dt / 6 * (ay + 2 * by + 2 * cy + dy);
                    sum.nfe += 3;
                    // the later stages may see a much faster field (the step was sized on the first): shrink
                    if (std::hypot(mx, my) > 2 * lim && attempt < 30) {
                        dt *= 0.25;
                        continue;
                    }
                    x = std::clamp(x + mx, -edge, edge);
                    y = std::clamp(y + my, -edge, edge);
                    t += dt;
                    break;
                }
                sum.nfe += 1;
            }
            substeps += sub;
            X[2 * i] = x;
            X[2 * i + 1] = y;
        };
        auto publish = [&](double t) {
            Frame f;
            f.t = t;
            f.dim = 2;
            f.positions = X;
            f.weights = source.cloud.weights;
            f.velocities.resize(X.size());
            for (std::size_t i = 0; i < n; ++i) velocity(t, X[2 * i], X[2 * i + 1], f.velocities[2 * i], f.velocities[2 * i + 1]);
            const long q = std::lround(std::clamp(t, 0.0, T) / T * lattice);
            auto g = std::make_shared<DensityGrid>(p0.grid);
            std::vector<double> drho;
            path(t, g->values, drho);
            const auto v = fieldAt(q);
            g->vx = v->vx;
            g->vy = v->vy;
            f.setMetric("energy", v->kineticEnergy);
            if (residualAt.count(q)) f.setMetric("continuity_residual", residualAt[q]);
            f.density = g;
            if (bures && !mixture) f.overlays.push_back({"Bures geodesic", bures->meanAt(t), bures->covarianceAt(t)});
            ctx.publish(std::move(f));
        };
        publish(times.front());
        std::size_t next = 1;
        const double dt = T / static_cast<double>(steps);
        for (long s = 0; s < steps; ++s) {
            const double t0 = s * dt, t1 = (s + 1) * dt;
            for (std::size_t i = 0; i < n; ++i) {
                if ((i & 255) == 0 && ctx.cancelled()) {
                    sum.cancelled = true;
                    return sum;
                }
                advect(i, t0, t1);
            }
            while (next < times.size() && times[next] <= t1 + 1e-12) {
                publish(times[next]);
                ++next;
            }
            if (ctx.progress) ctx.progress(t1, "advecting: step " + std::to_string(s + 1));
        }
        while (next < times.size()) publish(times[next++]);
        // kinetic energy int int rho |v|^2 dx dt by the trapezoid rule on the lattice (over [delta, 1 - delta]
        // in effect: for the mixture path the integral diverges logarithmically at the end points)
        for (long q = 0; q <= lattice; ++q) kinetic += (q == 0 || q == lattice ? 0.5 : 1.0) * fieldAt(q)->kineticEnergy / lattice;
        std::ostringstream note;
        note << (leastSquares ? "least-squares" : "Dacorogna-Moser") << " field on the " << (mixture ? "mixture" : "displacement")
             << " path; continuity residual <= " << residualMax << " (fields on [" << delta << ", " << 1 - delta << "])";
        if (!leastSquares && floorFaces) note << "; " << floorFaces << " faces below the density floor (velocity 0 there)";
        note << "; " << static_cast<double>(substeps) / std::max<std::size_t>(1, n) << " adaptive RK4 substeps per particle";
        if (stalled) note << "; " << stalled << " times a particle needed over " << maxSubsteps << " substeps in one step and was held";
        sum.note = note.str();
        sum.extras = {{"kinetic_energy", kinetic}, {"continuity_residual", residualMax}};
        return sum;
    }
};

}  // namespace

DynamicsInfo benamouBrenierInfo() {
    return {"benamou-brenier",
            "Dynamic optimal transport between the source and target densities on a space-time grid, by proximal splitting "
            "(science.md §3, Benamou-Brenier (11))",
            {
                {"grid", ParamType::Integer, "64", 8, 512, {}, "cells per side"},
                {"extent", ParamType::Real, "4", 1e-3, 1e6, {}, "the grid covers [-extent, extent]^2"},
                {"time_steps", ParamType::Integer, "32", 2, 1024, {}, "time cells of the space-time grid"},
                {"iterations", ParamType::Integer, "3000", 1, 1000000, {}, "Douglas-Rachford iterations cap"},
                {"tolerance", ParamType::Real, "0.001", 1e-12, 1, {}, "stop when the primal and dual residuals are below this"},
            },
            [] { return std::make_unique<BenamouBrenierDynamics>(); }};
}

DynamicsInfo fieldRecoveryInfo() {
    return {"field-recovery",
            "Velocity fields recovered from a path of densities (science.md §1): least squares (the minimal-energy gradient "
            "field) or Dacorogna-Moser, and the source samples advected through them",
            {
                {"path", ParamType::Choice, "mixture", 0, 0, {"mixture", "displacement"},
                 "(1-t) rho0 + t rho1, or the displacement interpolation (closed-form for Gaussians, else a Benamou-Brenier solve)"},
                {"field", ParamType::Choice, "least-squares", 0, 0, {"least-squares", "dacorogna-moser"},
                 "v = grad phi with -div(rho grad phi) = d/dt rho, or v = grad psi / rho with Laplacian psi = -d/dt rho"},
                {"grid", ParamType::Integer, "64", 8, 512, {}, "cells per side"},
                {"extent", ParamType::Real, "4", 1e-3, 1e6, {}, "the grid covers [-extent, extent]^2"},
                {"steps", ParamType::Integer, "50", 1, 100000, {}, "time steps of the field lattice (RK4 substeps adapt within each)"},
                {"cfl", ParamType::Real, "0.5", 1e-3, 10, {},
                 "adaptive RK4: the most cells a particle moves in one substep (the fields are unbounded where rho is small)"},
                {"density_floor", ParamType::Real, "0", 0, 1, {}, "dacorogna-moser: velocity 0 where rho <= floor * max rho (v = grad psi / rho is undefined where rho = 0)", "field=dacorogna-moser"},
            },
            [] { return std::make_unique<FieldRecovery>(); }};
}

}  // namespace tl::dyn
