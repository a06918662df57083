#include "measure/measure.h"

#include <cmath>
#include <limits>
#include <numbers>

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

double mixtureDensity(const GaussianMixture& law, const double* x) {
    const int d = law.dim();
    const Eigen::Map<const Eigen::VectorXd> p(x, d);
    double sum = 0;
    for (const auto& c : law.components) {
        const Eigen::LLT<Eigen::MatrixXd> llt(c.cov);
        if (llt.info() != Eigen::Success) return std::numeric_limits<double>::quiet_NaN();  // degenerate: no density
        const Eigen::VectorXd z = llt.matrixL().solve(p - c.mean);
        const double logDet = 2 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
        sum += c.weight * std::exp(-0.5 * z.squaredNorm() - 0.5 * logDet - 0.5 * d * std::log(2 * std::numbers::pi));
    }
    return sum;
}

}  // namespace tl
