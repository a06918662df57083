#include "gradient_flows/grid.h"

#include <algorithm>
#include <cmath>

#include "gradient_flows/grid_kernels.h"
#include "util/error.h"
#include "util/parallel.h"

namespace tl::gf {

namespace {

using kernels::axpy;  // the inner loop of both convolution passes (grid_kernels.h)

void blur121(std::vector<double>& v, int n) {
    std::vector<double> t(v.size());
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            const std::size_t c = static_cast<std::size_t>(iy) * n + ix;
            t[c] = 0.5 * v[c] + 0.25 * (ix > 0 ? v[c - 1] : 0.0) + 0.25 * (ix + 1 < n ? v[c + 1] : 0.0);
        }
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            const std::size_t c = static_cast<std::size_t>(iy) * n + ix;
            v[c] = 0.5 * t[c] + 0.25 * (iy > 0 ? t[c - n] : 0.0) + 0.25 * (iy + 1 < n ? t[c + n] : 0.0);
        }
}

}  // namespace

Projection projectMeasure(const Measure& m, int cells, double extent, const std::string& who) {
    if (m.cloud.dim != 2)
        throw Error(who + ": grid panels need a 2-D source (got " + std::to_string(m.cloud.dim) + "-D)");
    Projection r;
    DensityGrid& g = r.grid;
    g.cells = cells;
    g.extent = extent;
    g.values.assign(static_cast<std::size_t>(cells) * cells, 0.0);
    const double h = g.h();
    double outside = 0;
    for (std::size_t i = 0; i < m.cloud.size(); ++i) {
        const double* x = m.cloud.point(i);
        if (std::abs(x[0]) >= extent || std::abs(x[1]) >= extent) outside += m.cloud.weights[i];
    }
    r.outsideFraction = outside;
    bool exact = false;
    if (m.density) {
        double sum = 0;
        bool finite = true;
        for (int iy = 0; iy < cells && finite; ++iy)
            for (int ix = 0; ix < cells; ++ix) {
                const double x[2] = {g.center(ix), g.center(iy)};
                const double v = m.density(x);
                if (!std::isfinite(v) || v < 0) {
                    finite = false;
                    break;
                }
                g.values[static_cast<std::size_t>(iy) * cells + ix] = v;
                sum += v;
            }
        exact = finite && sum > 0;
    }
    if (!exact) {
        std::fill(g.values.begin(), g.values.end(), 0.0);
        for (std::size_t i = 0; i < m.cloud.size(); ++i) {
            const double* x = m.cloud.point(i);
            const auto ix = static_cast<long long>(std::floor((x[0] + extent) / h));
            const auto iy = static_cast<long long>(std::floor((x[1] + extent) / h));
            if (ix < 0 || iy < 0 || ix >= cells || iy >= cells) continue;
            g.values[static_cast<std::size_t>(iy) * cells + static_cast<std::size_t>(ix)] += m.cloud.weights[i];
        }
        blur121(g.values, cells);
    }
    double sum = 0;
    for (double v : g.values) sum += v;
    if (!(sum > 0))
        throw Error(who + ": the source has no mass on the grid [-" + std::to_string(extent) + ", " + std::to_string(extent) +
                    "]^2 (increase 'extent')");
    const double scale = 1 / (sum * h * h);
    for (double& v : g.values) v *= scale;
    r.exact = exact;
    return r;
}

GaussianConvolution::GaussianConvolution(int cells, double h, double eps) : n_(cells) {
    if (cells < 1 || !(h > 0) || !(eps > 0)) throw Error("internal: bad Gaussian convolution");
    // exp(-(d h)^2 / eps) >= 1e-22  <=>  (d h)^2 <= eps * ln(1e22)
    const double reach = std::sqrt(eps * 22 * std::log(10.0)) / h;
    const int r = std::min(cells - 1, static_cast<int>(std::ceil(reach)));
    taps_.resize(static_cast<std::size_t>(r) + 1);
    for (int d = 0; d <= r; ++d) taps_[d] = std::exp(-(d * h) * (d * h) / eps);
    scratch_.resize(static_cast<std::size_t>(cells) * cells);
}

void GaussianConvolution::apply(const double* in, double* out, int threads) const {
    const int n = n_, r = radius();
    double* tmp = scratch_.data();
    // x pass: tmp[iy][ix] = sum_d k_|d| in[iy][ix + d]   (one axpy per shift, within the row)
    parallelFor(static_cast<std::size_t>(n), 8, threads, [&](std::size_t b, std::size_t e) {
        for (std::size_t iy = b; iy < e; ++iy) {
            const double* row = in + iy * n;
            double* o = tmp + iy * n;
            for (int ix = 0; ix < n; ++ix) o[ix] = taps_[0] * row[ix];
            for (int d = 1; d <= r; ++d) {
                axpy(o, row + d, taps_[d], n - d);  // o[ix] += k_d in[ix + d]
                axpy(o + d, row, taps_[d], n - d);  // o[ix] += k_d in[ix - d]
            }
        }
    });
    // y pass: out[iy][:] = sum_d k_|d| tmp[iy + d][:]   (whole rows: contiguous axpys)
    parallelFor(static_cast<std::size_t>(n), 8, threads, [&](std::size_t b, std::size_t e) {
        for (std::size_t iy = b; iy < e; ++iy) {
            double* o = out + iy * n;
            const double* row = tmp + iy * n;
            for (int ix = 0; ix < n; ++ix) o[ix] = taps_[0] * row[ix];
            for (int d = 1; d <= r; ++d) {
                if (static_cast<int>(iy) + d < n) axpy(o, tmp + (iy + d) * n, taps_[d], n);
                if (static_cast<int>(iy) - d >= 0) axpy(o, tmp + (iy - d) * n, taps_[d], n);
            }
        }
    });
}

namespace reference {

void gaussianConvolution(int n, double h, double eps, const double* in, double* out) {
    std::vector<double> k(n), tmp(static_cast<std::size_t>(n) * n);
    for (int d = 0; d < n; ++d) k[d] = std::exp(-(d * h) * (d * h) / eps);
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            double s = 0;
            for (int jx = 0; jx < n; ++jx) s += k[std::abs(ix - jx)] * in[iy * n + jx];
            tmp[iy * n + ix] = s;
        }
    for (int iy = 0; iy < n; ++iy)
        for (int ix = 0; ix < n; ++ix) {
            double s = 0;
            for (int jy = 0; jy < n; ++jy) s += k[std::abs(iy - jy)] * tmp[jy * n + ix];
            out[iy * n + ix] = s;
        }
}

}  // namespace reference

}  // namespace tl::gf
