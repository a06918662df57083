// Eulerian velocity fields on a density grid (science.md §1, survey §2): fast Neumann Poisson solvers (the 5-point /
// 7-point Laplacian diagonalised by DCT-II/III, FFTW), the Dacorogna–Moser field (3) and the least-squares
// field (4)-(6) -div(rho grad phi) = d_t rho (PCG, DCT preconditioner), and the continuity residual (2).
//
// Discretisation (one for everything here): a MAC grid. Scalars (rho, d_t rho, potentials) live at the
// cell centres, normal velocities and fluxes on the cell faces; face densities are the arithmetic mean of
// the two cells; div F_i = sum over axes (F_{i+1/2} - F_{i-1/2}) / h; zero flux through the box boundary.
// Cell-centred velocities are the average of each cell's two faces per axis (= central differences of
// the potential). The face values are exact for the discrete continuity equation; the cell averages
// carry an O(h^2) reconstruction error.
#pragma once
#include <memory>
#include <vector>

namespace tl::eulerian {

// L u = f on an nx x ny cell-centred grid (cell widths hx, hy; row-major u[iy * nx + ix]) with
// homogeneous Neumann boundary (mirror ghost cells): L = the 5-point Laplacian. Solved exactly by a
// 2-D DCT-II (FFTW REDFT10), division by the eigenvalues, DCT-III (REDFT01): O(n^2 log n). Plans are
// made once (constructor); an instance is not safe to use from two threads at once (scratch buffer).
class NeumannPoisson {
public:
    NeumannPoisson(int n, double h, int threads = 1) : NeumannPoisson(n, n, h, h, threads) {}
    // Throws tl::Error unless nx, ny >= 1 and hx, hy > 0. `threads` (0 = all) split the transforms.
    NeumannPoisson(int nx, int ny, double hx, double hy, int threads = 1);
    ~NeumannPoisson();
    NeumannPoisson(const NeumannPoisson&) = delete;
    NeumannPoisson& operator=(const NeumannPoisson&) = delete;

    // u = the zero-mean solution of L u = f - mean(f). Returns mean(f) (0 for a compatible f).
    // f and u may be the same array.
    double solve(const double* f, double* u);
    // u = (c - L)^{-1} f for c > 0 (the shifted operator is definite); c = 0 is -solve(f, u).
    void solveShifted(const double* f, double* u, double c);
    // out = L u (the 5-point Neumann operator itself; for residuals and tests). out != u.
    void apply(const double* u, double* out) const;

    int nx() const;
    int ny() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

// The 3-D version (space x space x time for Benamou–Brenier): an nx x ny x nt cell-centred grid with
// widths hx, hy, ht, Neumann on all six faces, the 7-point Laplacian; layout u[(k * ny + iy) * nx + ix].
// Direct: a 2-D DCT-II of every time slice, per 2-D mode a tridiagonal (Thomas) solve along t, 2-D
// DCT-III back; O(N log n), the same solution as a 3-D DCT without its strided transform along t.
class NeumannPoisson3 {
public:
    NeumannPoisson3(int nx, int ny, int nt, double hx, double hy, double ht, int threads = 1);
    ~NeumannPoisson3();
    NeumannPoisson3(const NeumannPoisson3&) = delete;
    NeumannPoisson3& operator=(const NeumannPoisson3&) = delete;

    double solve(const double* f, double* u);
    void solveShifted(const double* f, double* u, double c);
    void apply(const double* u, double* out) const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

// ---- velocity fields from d_t rho ---------------------------------------------------------------

// A velocity field on the n x n grid of a DensityGrid (cell width h).
struct VelocityField {
    int cells = 0;
    double h = 0;
    std::vector<double> vx, vy;   // at the cell centres, n * n, row-major [iy * n + ix]
    std::vector<double> faceX;    // normal velocity on x-faces: [iy * (n + 1) + ix], ix = 0..n (0 at ix = 0, n)
    std::vector<double> faceY;    // normal velocity on y-faces: [iy * n + ix], iy = 0..n (0 at iy = 0, n)
    std::vector<double> potential;  // phi (least squares: v = grad phi) or psi (Dacorogna–Moser: v = grad psi / rho)
    int iterations = 0;           // PCG iterations (least squares); 0 for Dacorogna–Moser (one DCT solve)
    double solverResidual = 0;    // least squares: final ||d_t rho - A phi|| / ||d_t rho||
    bool converged = true;        // least squares: the tolerance was met within the iteration cap
    double incompatibility = 0;   // mean of d_t rho that was removed (should be ~0: mass is conserved)
    int floorFaces = 0;           // Dacorogna–Moser: faces with rho_face <= floor, where v is set to 0
    double floor = 0;             // the absolute density floor used (both fields)
    double kineticEnergy = 0;     // sum over faces of rho_face |v_face|^2 h^2 (the discrete int |v|^2 d rho)
};

struct LeastSquaresOptions {
    double tolerance = 1e-10;     // relative residual ||d_t rho + div(rho_face grad phi)|| / ||d_t rho|| of the solve
    int maxIterations = 1000;     // PCG cap (converged = false when reached)
    double relativeFloor = 1e-12; // the solve raises rho_face to relativeFloor * max(rho) (the field is exact for
                                  // that density; the continuity residual for rho itself moves by ~ this floor)
    int threads = 1;
};

// The minimal-energy field (science.md §1, (4)–(6)): v = grad phi with -div(rho grad phi) = d_t rho (faces: rho_face
// grad phi), Neumann, by conjugate gradients preconditioned with the DCT Laplacian, symmetrically scaled
// by the operator's diagonal and shifted by the box's first Neumann eigenvalue: M^{-1} = D^{-1/2}
// (c - L)^{-1} D^{-1/2} (60-95 iterations to 1e-10 for Gaussians over [-4, 4]^2 on 48^2 to 128^2 grids;
// the unscaled Laplacian stalls near 1e-3 after 1000 there). It is the exact minimiser of the face
// kinetic energy under the face continuity equation (for rho_face floored, see the options). rho and
// drho_dt are n * n, n = sqrt(size); h the cell width. Data that send mass where rho ~ 0 (rho = rho0,
// d_t rho = rho1 - rho0 with rho1 off rho0's bulk) give a field through the floor density: the
// continuity residual for rho itself is then large (reported honestly by continuityResidual). Throws
// tl::Error on sizes that do not match, a negative or non-finite rho, or rho = 0 everywhere.
VelocityField leastSquaresField(const std::vector<double>& rho, const std::vector<double>& drho_dt, double h,
                                const LeastSquaresOptions& opt = {});

struct DacorognaMoserOptions {
    double relativeFloor = 0;     // rho_face <= relativeFloor * max(rho): velocity 0 there (counted in floorFaces);
                                  // 0: only where rho_face = 0. The field is huge where rho is tiny (v ~ grad psi / rho).
    bool throwBelowFloor = false; // instead throw tl::Error when any face with flux lies below the floor
    int threads = 1;
};

// Dacorogna–Moser (science.md §1, (3)): L psi = -d_t rho (one DCT solve), v = grad psi / rho (faces: grad psi / rho_face;
// centres: the averaged flux / rho at the centre, 0 where rho <= floor). Its flux grad psi satisfies the
// continuity equation exactly; the velocity does so except on floor faces, where it is undefined.
VelocityField dacorognaMoserField(const std::vector<double>& rho, const std::vector<double>& drho_dt, double h,
                                  const DacorognaMoserOptions& opt = {});

// Residual of the continuity equation (science.md §1, (2)): ||d_t rho + div(rho v)|| / ||d_t rho|| (2-norms
// over the cells) with exactly the solvers' discrete continuity equation: face flux = rho_face v_face, div
// as above. For both fields here it is zero up to the solver tolerance / rounding wherever v is defined
// (Dacorogna–Moser: not on floor faces).
double continuityResidual(const std::vector<double>& rho, const std::vector<double>& drho_dt, const VelocityField& v);
// The same from raw face velocities (layouts of VelocityField::faceX / faceY).
double continuityResidualFaces(const std::vector<double>& rho, const std::vector<double>& drho_dt,
                               const std::vector<double>& faceX, const std::vector<double>& faceY, double h);
// The same divergence from cell-centred velocities (any field, e.g. a closed form sampled at the centres):
// the face flux is the mean of the two cells' momenta rho v. This reconstruction adds an O(h^2) error
// (a [1 2 1] / 4 filter of the flux): 7.5 % (least squares) and 1.7 % (Dacorogna–Moser) for the mixture of
// two Gaussians (std 0.36-0.8) of the tests on a 64^2 grid over [-4, 4]^2; 2.1 % and 0.4 % on 128^2.
double continuityResidualCells(const std::vector<double>& rho, const std::vector<double>& drho_dt, const std::vector<double>& vx,
                               const std::vector<double>& vy, double h);

// sum_cells rho |v|^2 h^2 from cell-centred velocities.
double kineticEnergy(const std::vector<double>& rho, const std::vector<double>& vx, const std::vector<double>& vy, double h);

}  // namespace tl::eulerian
