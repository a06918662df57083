#include "flows/empirical_posterior.h"

#include <cmath>
#include <numbers>

#include "kernels/reduce.h"
#include "util/error.h"

namespace tl {

namespace {
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}

EmpiricalPosterior::EmpiricalPosterior(const GaussianMixture& source, const PointCloud& target, int threads)
    : dim_(source.dim()), threads_(threads), target_(target) {
    target.validate("target");
    if (source.components.empty()) throw Error("flow field: the source law has no components");
    if (source.dim() != target.dim)
        throw Error("flow field: source is " + std::to_string(source.dim()) + "-D, target is " + std::to_string(target.dim) + "-D");
    double total = 0;
    for (const auto& c : source.components) total += c.weight;
    for (const auto& c : source.components) {
        if (!(c.weight > 0)) continue;
        Eigen::LLT<Eigen::MatrixXd> llt(c.cov);
        if (llt.info() != Eigen::Success) throw Error("flow field: a source covariance is not positive definite");
        const Eigen::MatrixXd L = llt.matrixL();
        Component k;
        k.logWeight = std::log(c.weight / total);
        k.mean = c.mean;
        k.cov = c.cov;
        k.covInv = c.cov.inverse();
        k.whiten = L.inverse();
        k.logDetL = L.diagonal().array().log().sum();
        comps_.push_back(std::move(k));
    }
    logb_.resize(target.size());
    for (std::size_t j = 0; j < target.size(); ++j)
        logb_[j] = target.weights[j] > 0 ? std::log(target.weights[j]) : -std::numeric_limits<double>::infinity();
}

void EmpiricalPosterior::components(double t, const Eigen::MatrixXd& X, Eigen::MatrixXd& W, std::vector<Eigen::MatrixXd>& means,
                                    Eigen::VectorXd* logTotal) const {
    if (!(t >= 0 && t < 1)) throw Error("flow field: time must be in [0, 1)");
    if (X.cols() != dim_) throw Error("flow field: points have the wrong dimension");
    const std::size_t n = static_cast<std::size_t>(X.rows()), m = target_.size();
    const int d = dim_, K = static_cast<int>(comps_.size());
    const double s = 1 - t;
    Eigen::Map<const RowMatrix> Y(target_.points.data(), static_cast<Eigen::Index>(m), d);
    Eigen::MatrixXd logW(n, K);
    means.assign(K, Eigen::MatrixXd());
    RowMatrix xt, yt, out(n, d);
    Eigen::VectorXd lse(n);
    for (int k = 0; k < K; ++k) {
        const Component& c = comps_[k];
        // Whitened: |L^{-1}(x - (1-t) m_k) - t L^{-1} y_j|^2 / (2 (1-t)^2).
        xt = (X.rowwise() - (s * c.mean).transpose()) * c.whiten.transpose();
        yt = t * (Y * c.whiten.transpose());
        kernels::PairSet<double> ps{d, xt.data(), n, yt.data(), m, logb_.data(), 1.0 / (2 * s * s)};
        kernels::softmaxWeightedSum(ps, target_.points.data(), d, out.data(), lse.data(), threads_);
        means[k] = out;
        logW.col(k) = lse.array() + (c.logWeight - d * std::log(s) - c.logDetL);
    }
    const Eigen::VectorXd mx = logW.rowwise().maxCoeff();
    W = (logW.colwise() - mx).array().exp();
    const Eigen::VectorXd sum = W.rowwise().sum();
    W.array().colwise() /= sum.array();
    if (logTotal) *logTotal = mx.array() + sum.array().log() - 0.5 * d * std::log(2 * std::numbers::pi);
}

void EmpiricalPosterior::evaluate(double t, const Eigen::MatrixXd& X, Eigen::MatrixXd& posteriorMean, Eigen::MatrixXd* score) const {
    Eigen::MatrixXd W;
    std::vector<Eigen::MatrixXd> means;
    components(t, X, W, means);
    posteriorMean = Eigen::MatrixXd::Zero(X.rows(), dim_);
    for (std::size_t k = 0; k < comps_.size(); ++k) posteriorMean += (means[k].array().colwise() * W.col(k).array()).matrix();
    if (score) {
        const double s = 1 - t;
        *score = Eigen::MatrixXd::Zero(X.rows(), dim_);
        for (std::size_t k = 0; k < comps_.size(); ++k) {
            const Eigen::MatrixXd r = (X - t * means[k]).rowwise() - (s * comps_[k].mean).transpose();
            *score -= ((r * comps_[k].covInv.transpose()).array().colwise() * W.col(k).array()).matrix() / (s * s);
        }
    }
}

Eigen::MatrixXd EmpiricalPosterior::flowVelocity(double t, const Eigen::MatrixXd& X) const {
    Eigen::MatrixXd ybar;
    evaluate(t, X, ybar);
    return (ybar - X) / (1 - t);
}

Eigen::MatrixXd EmpiricalPosterior::score(double t, const Eigen::MatrixXd& X) const {
    Eigen::MatrixXd ybar, sc;
    evaluate(t, X, ybar, &sc);
    return sc;
}

Eigen::MatrixXd EmpiricalPosterior::velocityFromScore(double t, const Eigen::MatrixXd& X) const {
    if (!(t > 0)) throw Error("flow field: the score form of the velocity needs t > 0");
    Eigen::MatrixXd W;
    std::vector<Eigen::MatrixXd> means;
    components(t, X, W, means);
    const double s = 1 - t;
    // Tweedie per component: E[x0 | x, k] = m_k - (1-t) S_k grad log rho_{t,k}(x).
    Eigen::MatrixXd ex0 = Eigen::MatrixXd::Zero(X.rows(), dim_);
    for (std::size_t k = 0; k < comps_.size(); ++k) {
        const Eigen::MatrixXd r = (X - t * means[k]).rowwise() - (s * comps_[k].mean).transpose();
        const Eigen::MatrixXd gradK = -(r * comps_[k].covInv.transpose()) / (s * s);
        const Eigen::MatrixXd e0 = (-(gradK * (s * comps_[k].cov).transpose())).rowwise() + comps_[k].mean.transpose();
        ex0 += (e0.array().colwise() * W.col(k).array()).matrix();
    }
    return (X - ex0) / t;
}

Eigen::VectorXd EmpiricalPosterior::logDensity(double t, const Eigen::MatrixXd& X) const {
    Eigen::MatrixXd W;
    std::vector<Eigen::MatrixXd> means;
    Eigen::VectorXd lt;
    components(t, X, W, means, &lt);
    return lt;
}

}  // namespace tl
