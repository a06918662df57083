// A sampled measure together with its law when the SPEC names one in closed form (gaussian,
// gmm, eight-gaussians): the flow-matching and diffusion fields of science.md §2 need the law.
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "measure/point_cloud.h"

namespace tl {

struct GaussianComponent {
    double weight = 1;  // mixture weight (the components' weights sum to 1)
    Eigen::VectorXd mean;
    Eigen::MatrixXd cov;
};

// sum_k p_k N(m_k, S_k).
struct GaussianMixture {
    std::vector<GaussianComponent> components;
    int dim() const { return components.empty() ? 0 : static_cast<int>(components.front().mean.size()); }
    bool isGaussian() const { return components.size() == 1; }
    Eigen::VectorXd mean() const;
    Eigen::MatrixXd covariance() const;
};

// An exact density (up to a constant factor) at a point of R^d, for kinds that have one.
using DensityFunction = std::function<double(const double* x)>;

struct Measure {
    PointCloud cloud;
    std::optional<GaussianMixture> law;  // set only when the samples are exactly from this law
    std::string spec;                    // the SPEC it came from (for messages and scenarios)
    DensityFunction density = {};        // exact density (unnormalised), empty when the kind has none
};

// The density of a Gaussian mixture at x (normalised).
double mixtureDensity(const GaussianMixture& law, const double* x);

}  // namespace tl
