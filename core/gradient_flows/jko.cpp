#include "gradient_flows/jko.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"
#include "util/parallel.h"

namespace tl::gf {

JkoSolver::JkoSolver(const DensityGrid& start, JkoEnergy energy, JkoOptions options)
    : grid_(start), energy_(std::move(energy)), opt_(options), K_(start.cells, start.h(), options.epsilon) {
    const std::size_t N = grid_.values.size();
    if (!energy_.V.empty() && energy_.V.size() != N) throw Error("internal: potential size does not match the grid");
    if (energy_.kind == JkoEnergyKind::PorousMedium && !(energy_.m > 1)) throw Error("porous-medium: key 'm' must be > 1");
    if (energy_.kind == JkoEnergyKind::Crowd) {
        if (!(energy_.maxDensity > 0)) throw Error("crowd: key 'max_density' must be > 0");
        if (energy_.maxDensity * 4 * grid_.extent * grid_.extent < 1)
            throw Error("crowd: key 'max_density' times the grid's area is below 1: no density of mass 1 fits");
    }
    b_.assign(N, 1.0);
}

double JkoSolver::energy() const {
    const double area = grid_.cellArea();
    double F = 0;
    for (std::size_t c = 0; c < grid_.values.size(); ++c) {
        const double rho = grid_.values[c];
        const double V = energy_.V.empty() ? 0.0 : energy_.V[c];
        switch (energy_.kind) {
            case JkoEnergyKind::Heat:
            case JkoEnergyKind::FokkerPlanck:
                if (rho > 0) F += area * rho * std::log(rho);
                break;
            case JkoEnergyKind::PorousMedium: F += area * std::pow(rho, energy_.m) / (energy_.m - 1); break;
            case JkoEnergyKind::Crowd: break;
        }
        F += area * rho * V;
    }
    return F;
}

// argmin_q sigma * [theta (q log(q / h^2) - q) + g(q) + V q] + KL(q | qTilde), q >= 0 (and the crowd
// bound). Stationarity in u = log q: (1 + sigma theta) u + sigma g'(e^u) = log qTilde - sigma (theta (-log h^2) + V).
double JkoSolver::proxCell(double qTilde, double V, double sigma, double theta) const {
    if (!(qTilde > 0)) return 0;
    const double area = grid_.cellArea();
    const double lead = 1 + sigma * theta;
    const double rhs = std::log(qTilde) - sigma * (V - theta * std::log(area));
    double u = rhs / lead;  // the solution without g (g' >= 0 moves it down)
    if (energy_.kind == JkoEnergyKind::PorousMedium) {
        // g(q) = h^2 (q/h^2)^m / (m - 1): g'(q) = m/(m-1) (q/h^2)^(m-1) = m/(m-1) e^((m-1)(u - log h^2)).
        // G(u) = lead u + sigma m/(m-1) e^((m-1)(u - log h^2)) - rhs is increasing and convex; Newton
        // from the right of the root (G(u0) >= 0) converges monotonically.
        const double m = energy_.m, c = sigma * m / (m - 1), la = std::log(area);
        for (int it = 0; it < 60; ++it) {
            const double e = c * std::exp((m - 1) * (u - la));
            const double G = lead * u + e - rhs;
            const double dG = lead + (m - 1) * e;
            const double du = G / dG;
            u -= du;
            if (std::abs(du) < 1e-13 * (1 + std::abs(u))) break;
        }
    }
    double q = std::exp(u);
    if (energy_.kind == JkoEnergyKind::Crowd) q = std::min(q, energy_.maxDensity * area);
    return q;
}

int JkoSolver::step(double tau, const std::stop_token& stop) {
    if (!(tau > 0)) throw Error("gradient-flow: the time step must be > 0");
    const std::size_t N = grid_.values.size();
    const double area = grid_.cellArea();
    const double eps = opt_.epsilon;
    const double sigma = 2 * tau / eps;
    // Entropy coefficient theta of the (corrected) energy: 1 for heat / Fokker-Planck, 0 otherwise,
    // minus eps / (4 tau) with the entropic correction (then sigma * correction = 1/2).
    double theta = (energy_.kind == JkoEnergyKind::Heat || energy_.kind == JkoEnergyKind::FokkerPlanck) ? 1.0 : 0.0;
    // Crowd motion has no diffusion to correct: there the anti-diffusive correction only sharpens
    // the congested front into grid-scale stripes, so the blur is left as a small diffusion.
    if (opt_.entropicCorrection && energy_.kind != JkoEnergyKind::Crowd) theta -= eps / (4 * tau);
    if (1 + sigma * theta <= 0.25)
        throw Error("gradient-flow: 'epsilon' is too large for 'tau' (the step would not be convex): use epsilon < 4 tau");

    std::vector<double> p(N), Kb(N), a(N), Ka(N), q(N), qOld(N, 0.0);
    for (std::size_t c = 0; c < N; ++c) p[c] = grid_.values[c] * area;
    const int threads = opt_.threads;
    auto updateA = [&] {
        K_.apply(b_.data(), Kb.data(), threads);
        for (std::size_t c = 0; c < N; ++c) a[c] = (p[c] > 0 && Kb[c] > 1e-300) ? p[c] / Kb[c] : 0.0;
        K_.apply(a.data(), Ka.data(), threads);
    };
    int it = 0;
    converged_ = false;
    for (; it < opt_.maxIterations; ++it) {
        if (stop.stop_requested()) return -1;
        updateA();
        double change = 0;
        for (std::size_t c = 0; c < N; ++c) {
            const double V = energy_.V.empty() ? 0.0 : energy_.V[c];
            q[c] = proxCell(Ka[c], V, sigma, theta);
            b_[c] = Ka[c] > 0 ? q[c] / Ka[c] : 0.0;
            change += std::abs(q[c] - qOld[c]);
        }
        if (!std::isfinite(change)) throw Error("gradient-flow: the scaling iterations diverged (non-finite values); try a larger 'epsilon'");
        std::swap(q, qOld);
        if (change < opt_.tolerance) {
            converged_ = true;
            ++it;
            break;
        }
    }
    // Final a-update: rows of pi = diag(a) K diag(b) sum to p exactly, so the new density
    // (the column sums b * K a) has the mass of p.
    updateA();
    double mass = 0;
    for (std::size_t c = 0; c < N; ++c) {
        const double qc = b_[c] * Ka[c];
        grid_.values[c] = qc / area;
        mass += qc;
    }
    if (!std::isfinite(mass) || !(mass > 0)) throw Error("gradient-flow: the density lost its mass (non-finite values); try a larger 'epsilon'");
    return it;
}

}  // namespace tl::gf
