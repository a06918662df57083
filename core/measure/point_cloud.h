// PointCloud: a discrete probability measure sum_i a_i delta_{x_i} on R^d, d in {1, 2, 3}
// (science.md notation: points x_i, weights a_i >= 0 summing to 1). Row-major coordinates.
#pragma once
#include <Eigen/Dense>
#include <cstddef>
#include <span>
#include <vector>

namespace tl {

struct PointCloud {
    int dim = 2;
    std::vector<double> points;   // size() * dim, row-major
    std::vector<double> weights;  // size(), >= 0, sum 1

    std::size_t size() const { return weights.size(); }
    bool empty() const { return weights.empty(); }
    const double* point(std::size_t i) const { return points.data() + i * dim; }
    double* point(std::size_t i) { return points.data() + i * dim; }

    // Builds a cloud with uniform weights 1/n from row-major coordinates.
    static PointCloud withUniformWeights(int dim, std::vector<double> points);

    // Throws tl::Error naming the problem: bad dim, ragged data, n = 0, non-finite
    // coordinates, negative or all-zero weights. `what` names the measure in messages.
    void validate(const char* what = "measure") const;
    // Divides weights by their sum (validate() first).
    void normalizeWeights();

    Eigen::VectorXd mean() const;
    // Weighted (biased) covariance sum_i a_i (x_i - m)(x_i - m)^T.
    Eigen::MatrixXd covariance() const;
    // Coordinates as an n x d Eigen matrix (a copy).
    Eigen::MatrixXd matrix() const;
};

}  // namespace tl
