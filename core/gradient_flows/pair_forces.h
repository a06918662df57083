// All-pairs interaction forces and energy for interacting particles (science.md §4, (17)-(18)):
// out_i = sum_j w_j grad W(x_i - x_j), with grad W(z) = g(|z|^2) z, and F = 1/2 sum_{i != j} w_i w_j W(x_i - x_j).
#pragma once
#include <cstddef>
#include <string>

namespace tl::gf {

// grad W(z) = g(|z|^2) z with g(r2) = ca * r2^pa - cb * r2^pb (pairs with r2 == 0, i.e. i == j or
// coincident points, contribute 0; so does any pair with r2 < 1e-300).
// The matching potential (what pairEnergy sums) is
//   W(r2) = ca * r2^(pa+1) / (2pa+2) - cb * r2^(pb+1) / (2pb+2),
// where a term with exponent p == -1 is the logarithm: c * r2^-1 integrates to c * 0.5 * ln(r2).
struct PairKernel {
    double ca = 1, pa = 1, cb = 1, pb = 0;
};

// Attractive-repulsive W(z) = |z|^a/a - |z|^b/b  -> ca=1, pa=(a-2)/2, cb=1, pb=(b-2)/2
// (a = 4, b = 2: g(r2) = r2 - 1; a uniform ring of radius 1/sqrt(3) is an equilibrium in 2-D).
PairKernel attractiveRepulsive(double a, double b);
// Quadratic-log W(z) = |z|^2/2 - ln|z|  -> ca=1, pa=0, cb=1, pb=-1 (W(r2) = r2/2 - 0.5 ln r2).
PairKernel quadraticLog();

// out[i*dim+k] = sum_j w_j g(|x_i - x_j|^2) (x_i - x_j)_k for dim in 1..3; x row-major n*dim, w the
// weights (sum 1: the mean-field 1/N is w_j; nullptr = uniform 1/n). The particle velocity of (17) (science.md §4)
// is -grad V(x_i) - out_i, and out_i = (d/dx_i of pairEnergy) / w_i. SIMD (Highway, dynamic
// dispatch), parallel over i; out must not alias x or w.
// Exponents with 2p an integer in [-8, 8] use multiplications, sqrt and division; any other p uses
// exp(p ln r2). threads = 0: all hardware threads. Throws tl::Error for dim outside 1..3.
void pairForces(int dim, const double* x, const double* w, std::size_t n, const PairKernel& k, double* out, int threads = 0);

// The interaction energy (18) (science.md §4) 1/2 sum_{i != j} w_i w_j W(x_i - x_j) with W as above (pairs with
// r2 < 1e-300 contribute 0), computed exactly: scalar std::pow / std::log, long double sums,
// the same result for any thread count.
double pairEnergy(int dim, const double* x, const double* w, std::size_t n, const PairKernel& k, int threads = 0);

// The SIMD target these kernels run on now, lower case ("avx3", "avx2", "sse4", "emu128"; util/simd.h).
std::string pairForcesTargetName();

namespace reference {
// Plain scalar pairForces (std::pow in double, long double sums), single-threaded.
void pairForces(int dim, const double* x, const double* w, std::size_t n, const PairKernel& k, double* out);
}  // namespace reference

}  // namespace tl::gf
