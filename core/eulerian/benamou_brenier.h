// Dynamic optimal transport between two grid densities (science.md §3, Benamou–Brenier Thm 4.2, (11)–(12)):
// W2^2 = min int_0^1 int |m|^2 / rho dx dt subject to d_t rho + div m = 0, rho(0) = rho0, rho(1) = rho1,
// no flux through the box (cost |x - y|^2, no 1/2). Solved by Douglas–Rachford proximal splitting on a
// staggered space-time grid (Papadakis, Peyré, Oudet 2014, "Optimal transport with proximal splitting",
// SIAM J. Imaging Sci. 7(1), §3-4): min J(V) + i_C(U) + i_{V = I(U)}, with
//   U = (rho on time nodes, m_x on x-faces, m_y on y-faces)    the staggered variables,
//   V = I(U)                                                  their averages at the space-time cell centres,
//   C = {div_{t,x} U = 0, the boundary data}                 projected onto by one space-time Neumann Poisson
//                                                             solve (fast cosine transforms, NeumannPoisson3),
//   J(V) = sum |m|^2 / (2 rho)                                its prox: the largest root of a cubic (Newton),
//   the graph {V = I(U)}                                      projected onto by tridiagonal solves per line.
// DR: x = P_graph(z), y = prox_{gamma (J + i_C)}(2x - z), z += alpha (y - x). Warm start (multilevel): the
// same problem on grids coarser by 2, 4, ... (2 x 2 cell averages; time halved while even), each level's z
// interpolated (multilinear) to the next; this cuts the full-grid iterations about tenfold.
#pragma once
#include <functional>
#include <vector>

#include "engine/frame.h"

namespace tl::eulerian {

struct BenamouBrenierOptions {
    int timeSteps = 32;            // time cells; frames at t_k = k / timeSteps, k = 0..timeSteps
    int maxIterations = 3000;      // DR iterations cap, per grid level
    double tolerance = 1e-3;       // a level stops when its primal and dual residuals are both below this
    double gamma = 0;              // DR step; 0 = automatic: gammaScale * max(rho0, rho1) (DR is not scale-free in rho)
    double gammaScale = 0.05;
    double relaxation = 1.8;       // DR relaxation alpha in (0, 2)
    bool multilevel = true;        // warm start from coarser grids (needs an even number of cells)
    int coarsestCells = 16;        // halve the cells while the result keeps at least this many per side
    double relativeFloor = 1e-6;   // velocities m / rho only where rho > relativeFloor * max(rho0, rho1) (else 0)
    int threads = 0;               // 0 = all hardware threads
    // Called after every iteration with (iteration, primal residual, dual residual); the iteration count
    // runs on across the levels (coarse ones first). Returning false cancels promptly: the result then
    // has cancelled = true, its counters and residuals, and no frames.
    std::function<bool(int, double, double)> progress;
};

struct BenamouBrenierResult {
    int timeSteps = 0;
    std::vector<double> times;                  // t_k = k / timeSteps, timeSteps + 1 entries
    // Per time node k (timeSteps + 1 entries), at the cell centres of the input grid. Inside, the density
    // is the mean of the two space-time cells around the node, f_k / 2 + (f_{k-1} + f_{k+1}) / 4, which
    // is what the energy sees (it drops a slowly converging mode that alternates in time); the ends are
    // the (normalised) inputs. Negative values are clipped and each frame renormalised to mass 1.
    std::vector<DensityGrid> densities;
    std::vector<std::vector<double>> momentumX, momentumY;  // m: faces averaged, the two time cells averaged
    std::vector<std::vector<double>> velocityX, velocityY;  // m / rho where rho > velocityFloor, else 0
    double kineticEnergy = 0;                   // sum |m|^2 / rho h^2 dt over the centred cells of V (~ W2^2)
    double clippedMass = 0;                     // the largest negative mass clipped from one frame
    double velocityFloor = 0;                   // the absolute density floor used for the velocities
    int iterations = 0;                         // DR iterations on the full grid
    int coarseIterations = 0;                   // DR iterations on the coarser grids (multilevel)
    int levels = 1;                             // grids used, the full one included
    double primalResidual = 0;                  // ||I(U) - V|| / ||V|| at y (the coupling violation)
    double dualResidual = 0;                    // ||x_k - x_{k-1}|| / ||x_k|| (U part of the projected iterate)
    bool converged = false;                     // the full grid met the tolerance
    bool cancelled = false;
    double seconds = 0;                         // wall time of the whole call (setup and frames included)
    double secondsPerIteration = 0;             // per full-grid iteration
    double poissonFraction = 0;                 // share of the iteration time (all levels) in the Poisson solves
    double gamma = 0;                           // the DR step used
};

// Solves (11)–(12) (science.md §3, Thm 4.2) between rho0 and rho1.
// rho0, rho1: the same grid (cells >= 2, extent > 0), values >= 0 with positive mass (both are
// renormalised to mass 1). Throws tl::Error on mismatched or invalid input or non-finite iterates.
BenamouBrenierResult benamouBrenier(const DensityGrid& rho0, const DensityGrid& rho1, const BenamouBrenierOptions& opt = {});

}  // namespace tl::eulerian
