#include "measure/measure.h"

namespace tl {

Eigen::VectorXd GaussianMixture::mean() const {
    Eigen::VectorXd m = Eigen::VectorXd::Zero(dim());
    for (const auto& c : components) m += c.weight * c.mean;
    return m;
}

Eigen::MatrixXd GaussianMixture::covariance() const {
    const Eigen::VectorXd m = mean();
    Eigen::MatrixXd s = Eigen::MatrixXd::Zero(dim(), dim());
    for (const auto& c : components) s += c.weight * (c.cov + (c.mean - m) * (c.mean - m).transpose());
    return s;
}

}  // namespace tl
