#include "engine/metrics.h"

#include <cmath>

#include "ot/sinkhorn.h"

namespace tl {

PointCloud frameCloud(const Frame& f) {
    PointCloud pc;
    pc.dim = f.dim;
    pc.points = f.positions;
    pc.weights = f.weights;
    return pc;
}

void addFrameMetrics(Frame& f, const Frame* previous) {
    static const char* axis[3] = {"x", "y", "z"};
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

double frameDivergence(const Frame& f, const PointCloud& target, double epsilon, int threads, std::stop_token stop) {
    SinkhornOptions o;
    o.epsilon = epsilon;
    o.tolerance = 1e-3;  // a display metric: marginals to 0.1% are plenty
    o.maxIterations = 5000;
    o.threads = threads;
    o.progress = [&](int, double) { return !stop.stop_requested(); };
    PointCloud pc = frameCloud(f);
    pc.normalizeWeights();
    return sinkhornDivergence(pc, target, o);
}

}  // namespace tl
