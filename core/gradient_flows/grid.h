// Densities on a regular 2-D grid for the grid gradient flows (science.md §4): projecting a
// measure onto the grid, and the Gibbs kernel exp(-|x - y|^2 / eps) applied as a separable
// Gaussian convolution (two 1-D passes, never a cells^2 x cells^2 matrix), SIMD over rows.
#pragma once
#include <string>
#include <vector>

#include "engine/frame.h"
#include "measure/measure.h"

namespace tl::gf {

struct Projection {
    DensityGrid grid;
    bool exact = false;           // from the measure's exact density (else a smoothed histogram)
    double outsideFraction = 0;   // fraction of the measure's samples outside the grid
};

// The measure on the grid [-extent, extent]^2 with `cells` cells per side: its exact density at the
// cell centres when it has one, else a histogram of its samples smoothed by one cell ([1 2 1]/4 per
// axis); mass normalised to 1. Throws tl::Error unless the measure is 2-D and has mass on the grid.
Projection projectMeasure(const Measure& m, int cells, double extent, const std::string& who);

// K u with K_ij = exp(-|x_i - x_j|^2 / eps) on the grid (cell width h), truncated where the 1-D
// factor falls below 1e-22 of its peak. Symmetric: K^T = K.
class GaussianConvolution {
public:
    GaussianConvolution(int cells, double h, double eps);
    // out = K in (both cells*cells, row-major); `in` and `out` must differ. Parallel over rows.
    void apply(const double* in, double* out, int threads) const;
    int radius() const { return static_cast<int>(taps_.size()) - 1; }
    int cells() const { return n_; }

private:
    int n_;
    std::vector<double> taps_;             // taps_[d] = exp(-(d h)^2 / eps), d = 0..radius
    mutable std::vector<double> scratch_;  // the x-pass result
};

namespace reference {
// Dense 1-D passes without truncation (scalar): for tests.
void gaussianConvolution(int cells, double h, double eps, const double* in, double* out);
}  // namespace reference

}  // namespace tl::gf
