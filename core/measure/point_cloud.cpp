#include "measure/point_cloud.h"

#include <cmath>
#include <string>

#include "util/error.h"

namespace tl {

PointCloud PointCloud::withUniformWeights(int dim, std::vector<double> pts) {
    PointCloud pc;
    pc.dim = dim;
    const std::size_t n = dim > 0 ? pts.size() / dim : 0;
    pc.points = std::move(pts);
    pc.weights.assign(n, n ? 1.0 / static_cast<double>(n) : 0.0);
    return pc;
}

void PointCloud::validate(const char* what) const {
    const std::string name(what);
    if (dim < 1 || dim > 3) throw Error(name + ": dimension must be 1, 2 or 3 (got " + std::to_string(dim) + ")");
    if (weights.empty()) throw Error(name + ": no points (n = 0)");
    if (points.size() != weights.size() * static_cast<std::size_t>(dim))
        throw Error(name + ": coordinate count does not match n * dim");
    for (std::size_t k = 0; k < points.size(); ++k)
        if (!std::isfinite(points[k]))
            throw Error(name + ": non-finite coordinate at point " + std::to_string(k / dim));
    double sum = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        if (!std::isfinite(weights[i])) throw Error(name + ": non-finite weight at point " + std::to_string(i));
        if (weights[i] < 0) throw Error(name + ": negative weight at point " + std::to_string(i));
        sum += weights[i];
    }
    if (!(sum > 0)) throw Error(name + ": all weights are zero");
}

void PointCloud::normalizeWeights() {
    double sum = 0;
    for (double w : weights) sum += w;
    if (sum > 0)
        for (double& w : weights) w /= sum;
}

Eigen::VectorXd PointCloud::mean() const {
    Eigen::VectorXd m = Eigen::VectorXd::Zero(dim);
    for (std::size_t i = 0; i < size(); ++i)
        for (int k = 0; k < dim; ++k) m[k] += weights[i] * point(i)[k];
    return m;
}

Eigen::MatrixXd PointCloud::covariance() const {
    const Eigen::VectorXd m = mean();
    Eigen::MatrixXd c = Eigen::MatrixXd::Zero(dim, dim);
    for (std::size_t i = 0; i < size(); ++i) {
        Eigen::VectorXd d(dim);
        for (int k = 0; k < dim; ++k) d[k] = point(i)[k] - m[k];
        c.noalias() += weights[i] * d * d.transpose();
    }
    return c;
}

Eigen::MatrixXd PointCloud::matrix() const {
    Eigen::MatrixXd x(size(), dim);
    for (std::size_t i = 0; i < size(); ++i)
        for (int k = 0; k < dim; ++k) x(i, k) = point(i)[k];
    return x;
}

}  // namespace tl
