#include "engine/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "ot/sinkhorn.h"
#include "util/rng.h"

namespace tl {

PointCloud frameCloud(const Frame& f) {
    PointCloud pc;
    pc.dim = f.dim;
    pc.points = f.positions;
    pc.weights = f.weights;
    return pc;
}

GridMoments gridMoments(const DensityGrid& g) {
    GridMoments r;
    r.mean.setZero();
    r.cov.setZero();
    const double area = g.cellArea();
    for (int iy = 0; iy < g.cells; ++iy)
        for (int ix = 0; ix < g.cells; ++ix) {
            const double p = g.values[static_cast<std::size_t>(iy) * g.cells + ix] * area;
            const Eigen::Vector2d x(g.center(ix), g.center(iy));
            r.mass += p;
            r.mean += p * x;
            r.cov += p * x * x.transpose();
            if (p > 0) r.entropy += p * std::log(p / area);
        }
    if (r.mass > 0) {
        r.mean /= r.mass;
        r.cov = r.cov / r.mass - r.mean * r.mean.transpose();
    }
    return r;
}

void addFrameMetrics(Frame& f, const Frame* previous) {
    static const char* axis[3] = {"x", "y", "z"};
    if (f.density) {
        const GridMoments g = gridMoments(*f.density);
        f.setMetric("entropy", g.entropy);
        f.setMetric("mass", g.mass);
        if (f.rows() == 0) {  // a grid-only frame: its moments are the density's
            for (int k = 0; k < 2; ++k) f.setMetric(std::string("mean_") + axis[k], g.mean[k]);
            for (int a = 0; a < 2; ++a)
                for (int b = a; b < 2; ++b) f.setMetric(std::string("cov_") + axis[a] + axis[b], g.cov(a, b));
            return;
        }
    }
    const PointCloud pc = frameCloud(f);
    const Eigen::VectorXd m = pc.mean();
    const Eigen::MatrixXd c = pc.covariance();
    for (int k = 0; k < f.dim; ++k) f.setMetric(std::string("mean_") + axis[k], m[k]);
    for (int a = 0; a < f.dim; ++a)
        for (int b = a; b < f.dim; ++b) f.setMetric(std::string("cov_") + axis[a] + axis[b], c(a, b));
    if (!f.velocities.empty()) {
        double ke = 0;
        for (std::size_t i = 0; i < f.rows(); ++i) {
            double v2 = 0;
            for (int k = 0; k < f.dim; ++k) v2 += f.velocities[i * f.dim + k] * f.velocities[i * f.dim + k];
            ke += f.weights[i] * v2;
        }
        f.setMetric("kinetic_energy", ke);
    }
    double path = 0;
    if (previous && previous->rows() == f.rows()) {
        path = previous->metric("path_length", 0);
        for (std::size_t i = 0; i < f.rows(); ++i) {
            double d2 = 0;
            for (int k = 0; k < f.dim; ++k) {
                const double d = f.positions[i * f.dim + k] - previous->positions[i * f.dim + k];
                d2 += d * d;
            }
            path += f.weights[i] * std::sqrt(d2);
        }
    }
    f.setMetric("path_length", path);
}

PointCloud thinned(const PointCloud& pc, long k) {
    if (k <= 0 || pc.size() <= static_cast<std::size_t>(k)) return pc;
    PointCloud out;
    out.dim = pc.dim;
    const std::size_t n = pc.size(), m = static_cast<std::size_t>(k);
    // The first m of a seeded Fisher-Yates shuffle of 0..n-1, sorted.
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t(0));
    Rng rng(0x7417'5eedULL ^ n);
    for (std::size_t r = 0; r < m; ++r) std::swap(idx[r], idx[r + static_cast<std::size_t>(rng.below(n - r))]);
    idx.resize(m);
    std::sort(idx.begin(), idx.end());
    for (const std::size_t i : idx) {
        out.points.insert(out.points.end(), pc.points.begin() + static_cast<std::ptrdiff_t>(i * pc.dim),
                          pc.points.begin() + static_cast<std::ptrdiff_t>((i + 1) * pc.dim));
        out.weights.push_back(pc.weights[i]);
    }
    out.normalizeWeights();
    return out;
}

double frameDivergence(const Frame& f, const PointCloud& fullTarget, double epsilon, int threads, std::stop_token stop,
                       SinkhornDivergenceResult* warm, long maxSamples) {
    const PointCloud target = thinned(fullTarget, maxSamples);
    SinkhornOptions o;
    o.epsilon = epsilon;
    o.tolerance = 1e-3;  // a display metric: marginals to 0.1% are plenty
    o.maxIterations = 5000;
    o.threads = threads;
    o.progress = [&](int, double) { return !stop.stop_requested(); };
    PointCloud pc = thinned(frameCloud(f), maxSamples);
    pc.normalizeWeights();
    if (warm) {
        // Only potentials of the right sizes (a frame of another run, another target: cold start).
        if (warm->f.size() == pc.size() && warm->g.size() == target.size()) {
            o.initialF = warm->f;
            o.initialG = warm->g;
        }
        if (warm->symmetricX.size() == pc.size()) o.initialSymmetricX = warm->symmetricX;
        if (warm->symmetricY.size() == target.size()) o.initialSymmetricY = warm->symmetricY;
    }
    SinkhornDivergenceResult r = solveSinkhornDivergence(pc, target, o);
    const double d = r.divergence;
    if (warm) *warm = std::move(r);
    return d;
}

}  // namespace tl
