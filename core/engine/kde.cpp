// Binned Gaussian kernel density estimate of a frame's particles (the density layer of the views and
// of the exports; tested in tst_frame_io against the closed form of a Gaussian's KDE).
#include "engine/kde.h"

#include <algorithm>
#include <cmath>

namespace tl {

std::vector<float> kdeGrid(const Frame& f, double x0, double x1, double y0, double y1, int nx, int ny, double bandwidth) {
    std::vector<float> grid(static_cast<std::size_t>(nx) * ny, 0.0f);
    const std::size_t n = f.rows();
    if (n == 0 || nx < 2 || ny < 2 || !(x1 > x0) || !(y1 > y0)) return grid;
    const double hx = (x1 - x0) / nx, hy = (y1 - y0) / ny;
    const int dim = f.dim;
    // Scott's rule on the weighted sample: h = sigma n^(-1/6) (d = 2), sigma the mean standard deviation.
    if (!(bandwidth > 0)) {
        double m[2] = {0, 0}, v[2] = {0, 0};
        for (std::size_t i = 0; i < n; ++i)
            for (int k = 0; k < std::min(dim, 2); ++k) m[k] += f.weights[i] * f.positions[i * dim + k];
        for (std::size_t i = 0; i < n; ++i)
            for (int k = 0; k < std::min(dim, 2); ++k) v[k] += f.weights[i] * std::pow(f.positions[i * dim + k] - m[k], 2);
        const double sigma = std::sqrt(0.5 * (v[0] + v[1]));
        bandwidth = std::max(sigma * std::pow(static_cast<double>(n), -1.0 / 6.0), 1e-9);
    }
    // Linear binning (mass split between the 4 nearest cell centres).
    std::vector<double> bins(grid.size(), 0.0);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = (f.positions[i * dim] - x0) / hx - 0.5;
        const double y = dim > 1 ? (f.positions[i * dim + 1] - y0) / hy - 0.5 : (0.0 - y0) / hy - 0.5;
        if (!std::isfinite(x) || !std::isfinite(y)) continue;
        const int ix = static_cast<int>(std::floor(x)), iy = static_cast<int>(std::floor(y));
        const double fx = x - ix, fy = y - iy;
        const double w = f.weights[i];
        auto put = [&](int cx, int cy, double ww) {
            if (cx >= 0 && cx < nx && cy >= 0 && cy < ny) bins[static_cast<std::size_t>(cy) * nx + cx] += ww;
        };
        put(ix, iy, w * (1 - fx) * (1 - fy));
        put(ix + 1, iy, w * fx * (1 - fy));
        put(ix, iy + 1, w * (1 - fx) * fy);
        put(ix + 1, iy + 1, w * fx * fy);
    }
    // Separable Gaussian blur, truncated at 4 sigma, normalised to unit mass per axis.
    auto kernel = [](double sigmaCells) {
        const int r = std::max(1, static_cast<int>(std::ceil(4 * sigmaCells)));
        std::vector<double> k(static_cast<std::size_t>(2 * r + 1));
        double s = 0;
        for (int j = -r; j <= r; ++j) s += k[static_cast<std::size_t>(j + r)] = std::exp(-0.5 * j * j / (sigmaCells * sigmaCells));
        for (double& v : k) v /= s;
        return k;
    };
    const auto kx = kernel(std::max(bandwidth / hx, 0.3)), ky = kernel(std::max(bandwidth / hy, 0.3));
    const int rx = static_cast<int>(kx.size() / 2), ry = static_cast<int>(ky.size() / 2);
    std::vector<double> tmp(bins.size(), 0.0);
    for (int y = 0; y < ny; ++y)
        for (int x = 0; x < nx; ++x) {
            const double b = bins[static_cast<std::size_t>(y) * nx + x];
            if (b == 0) continue;
            for (int j = -rx; j <= rx; ++j) {
                const int xx = x + j;
                if (xx >= 0 && xx < nx) tmp[static_cast<std::size_t>(y) * nx + xx] += b * kx[static_cast<std::size_t>(j + rx)];
            }
        }
    const double area = hx * hy;
    for (int y = 0; y < ny; ++y)
        for (int j = -ry; j <= ry; ++j) {
            const int yy = y + j;
            if (yy < 0 || yy >= ny) continue;
            const double kj = ky[static_cast<std::size_t>(j + ry)] / area;
            const double* src = &tmp[static_cast<std::size_t>(y) * nx];
            float* dst = &grid[static_cast<std::size_t>(yy) * nx];
            for (int x = 0; x < nx; ++x) dst[x] += static_cast<float>(src[x] * kj);
        }
    return grid;
}

}  // namespace tl
