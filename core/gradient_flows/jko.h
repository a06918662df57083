// Entropic JKO steps on a grid (science.md §4, survey §5, JKO (13) -> (15) as tau -> 0; Peyré 2015, "Entropic
// approximation of Wasserstein gradient flows"): rho_{k+1} = argmin_rho W_eps(rho_k, rho) / (2 tau) + F(rho), solved
// by the scaling iterations a = p / (K b), b = prox^KL_{sigma F}(K a) / (K a), sigma = 2 tau / eps,
// with K = exp(-|x - y|^2 / eps) applied as a separable Gaussian convolution.
//
// Energies F (cell masses q, cell area h^2, rho = q / h^2):
//   heat           int rho log rho                      -> d/dt rho = Laplacian rho (Thm 5.1)
//   fokker-planck  int rho log rho + int V rho          -> d/dt rho = Laplacian rho + div(rho grad V)
//   porous-medium  int rho^m / (m - 1) (+ int V rho)     -> d/dt rho = Laplacian(rho^m) (+ div(rho grad V)) (16)
//   crowd          int V rho, rho <= max_density         -> transport down V under congestion
// Entropic correction (on by default): the entropic blur of W_eps adds a linear diffusion of
// coefficient eps / (4 tau) (OT_eps(p, q) = W2^2 + (eps/2) int q log q + terms free of q, to first
// order); the solver subtracts eps/(4 tau) int rho log rho from F so the scheme approximates the
// PDE of F itself (heat, Fokker-Planck, porous medium; not crowd, which has no diffusion to offset).
// The per-step problem stays strictly convex (1 + sigma * theta >= 1/2).
#pragma once
#include <stop_token>
#include <vector>

#include "engine/frame.h"
#include "gradient_flows/grid.h"

namespace tl::gf {

enum class JkoEnergyKind { Heat, FokkerPlanck, PorousMedium, Crowd };

struct JkoEnergy {
    JkoEnergyKind kind = JkoEnergyKind::Heat;
    double m = 2;                 // porous-medium exponent (> 1)
    double maxDensity = 1;        // crowd congestion bound on rho
    std::vector<double> V;        // potential at the cell centres (empty = 0)
};

struct JkoOptions {
    double epsilon = 0.005;       // entropic regularisation, absolute (units of the squared-distance cost)
    int maxIterations = 500;      // scaling iterations per step
    double tolerance = 1e-7;      // stop when the L1 change of the step's density is below this
    bool entropicCorrection = true;
    int threads = 0;
};

class JkoSolver {
public:
    // Throws tl::Error (plain message) on impossible options (eps >= 4 tau with the correction is
    // checked per step; crowd start above max_density is clipped by the first step).
    JkoSolver(const DensityGrid& start, JkoEnergy energy, JkoOptions options);

    // One JKO step (13) (science.md §4) of size tau from the current density. Returns the scaling iterations used, or -1
    // when `stop` was requested (the density is then unchanged). Throws tl::Error if the iterates
    // stop being finite.
    int step(double tau, const std::stop_token& stop = {});

    const DensityGrid& density() const { return grid_; }
    // F(rho) of the current density (the energy itself, without the entropic correction).
    double energy() const;
    // Whether the last step met the tolerance (false: it used maxIterations).
    bool converged() const { return converged_; }

private:
    double proxCell(double qTilde, double V, double sigma, double theta) const;
    DensityGrid grid_;
    JkoEnergy energy_;
    JkoOptions opt_;
    GaussianConvolution K_;
    std::vector<double> b_;  // kept across steps (warm start)
    bool converged_ = true;
};

}  // namespace tl::gf
