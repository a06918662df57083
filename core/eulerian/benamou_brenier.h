// Dynamic optimal transport between two grid densities (science.md §3, Benamou–Brenier (11)-(12)):
// W2^2 = min int_0^1 int |m|^2 / rho dx dt subject to d_t rho + div m = 0, rho(0) = rho0, rho(1) = rho1,
// no flux through the box (cost |x - y|^2, no 1/2). Solved by Douglas–Rachford proximal splitting on a
// staggered space-time grid (Papadakis, Peyré, Oudet 2014, "Optimal transport with proximal splitting",
// SIAM J. Imaging Sci. 7(1)): min J(V) + i_C(U) + i_{V = I(U)}, with
//   U = (rho on time nodes, m_x on x-faces, m_y on y-faces)    the staggered variables,
//   V = I(U)                                                  their averages at the space-time cell centres,
//   C = {div_{t,x} U = 0 with the boundary data}             projected onto by one space-time Neumann Poisson
//                                                             solve (fast cosine transforms, NeumannPoisson3),
//   J(V) = sum |m|^2 / (2 rho)                                its prox: the largest root of a cubic (Newton),
//   the graph {V = I(U)}                                      projected onto by tridiagonal solves per line.
#pragma once
#include <functional>
#include <vector>

#include "engine/frame.h"

namespace tl::eulerian {

struct BenamouBrenierOptions {
    int timeSteps = 32;            // time cells; frames at t_k = k / timeSteps, k = 0..timeSteps
    int maxIterations = 3000;      // Douglas–Rachford iterations cap
    double tolerance = 2e-4;       // stop when the primal and the dual residual are both below this
    double gamma = 0;              // DR step; 0 = automatic (gammaScale * max(rho0, rho1))
    double gammaScale = 0.5;       // used when gamma == 0 (the splitting is not scale-free in rho)
    double relaxation = 1.8;       // DR relaxation alpha in (0, 2)
    double relativeFloor = 1e-6;   // velocity m / rho only where rho > relativeFloor * max(rho0, rho1) (else 0)
    int threads = 0;               // 0 = all hardware threads
    // Called after every iteration with (iteration (1-based), primal residual, dual residual); returning
    // false cancels: the result then holds the current iterate and cancelled = true.
    std::function<bool(int, double, double)> progress;
};

struct BenamouBrenierResult {
    int timeSteps = 0;
    std::vector<double> times;                  // t_k = k / timeSteps, timeSteps + 1 entries
    // Per time node k (timeSteps + 1 entries), at the cell centres of the input grid:
    std::vector<DensityGrid> densities;         // >= 0, mass 1; k = 0 and k = timeSteps are the inputs
    std::vector<std::vector<double>> momentumX, momentumY;  // m = rho v (averaged faces / time cells)
    std::vector<std::vector<double>> velocityX, velocityY;  // m / rho where rho > floor, else 0
    double kineticEnergy = 0;                   // sum |m|^2 / rho h^2 dt over the centred cells (~ W2^2)
    double clippedMass = 0;                     // largest negative mass clipped from one frame (before renormalising)
    double velocityFloor = 0;                   // the absolute density floor used for the velocities
    int iterations = 0;
    double primalResidual = 0;                  // ||I(U) - V|| / ||V|| after the prox step (coupling violation)
    double dualResidual = 0;                    // ||x_k - x_{k-1}|| / ||x_k|| of the projected iterate
    bool converged = false;
    bool cancelled = false;
    double seconds = 0;                         // solver wall time (setup included)
    double secondsPerIteration = 0;
    double poissonFraction = 0;                 // share of the iteration time spent in the Poisson solve
    double gamma = 0;                           // the DR step used
};

// rho0, rho1: the same grid (cells >= 2, extent > 0), values >= 0 with positive mass (both are
// renormalised to mass 1). Throws tl::Error on mismatched or invalid input or non-finite iterates.
BenamouBrenierResult benamouBrenier(const DensityGrid& rho0, const DensityGrid& rho1, const BenamouBrenierOptions& opt = {});

}  // namespace tl::eulerian
