// The exact flow-matching field and diffusion score for a Gaussian-mixture source
// rho_0 = sum_k p_k N(m_k, S_k) and an empirical target sum_j b_j delta_{y_j} (science.md §2, survey §3, (7)):
// w_kj(x) ∝ p_k b_j N(x; (1-t) m_k + t y_j, (1-t)^2 S_k), v_t(x) = sum w_kj (y_j - x)/(1-t) and
// grad log rho_t(x) = -sum_kj w_kj S_k^{-1} (x - (1-t) m_k - t y_j)/(1-t)^2 (Tweedie, Prop. 3.3).
// Each component is one softmax-weighted kernel reduction over the targets in whitened coordinates.
#pragma once
#include <Eigen/Dense>
#include <vector>

#include "measure/measure.h"

namespace tl {

class EmpiricalPosterior {
public:
    // Throws tl::Error if the law's dimension differs from the target's or a covariance is singular.
    EmpiricalPosterior(const GaussianMixture& source, const PointCloud& target, int threads = 0);

    // For 0 <= t < 1 and the rows of X (n x d): the posterior mean E[x1 | x_t = x] (n x d) and,
    // when `score` is given, grad log rho_t(x) (n x d).
    void evaluate(double t, const Eigen::MatrixXd& X, Eigen::MatrixXd& posteriorMean, Eigen::MatrixXd* score = nullptr) const;

    // The field (7) (science.md §2): v_t(x) = E[x1 - x0 | x_t = x] = (E[x1 | x] - x) / (1 - t).
    Eigen::MatrixXd flowVelocity(double t, const Eigen::MatrixXd& X) const;
    // grad log rho_t(x) (science.md §2, Prop. 3.3).
    Eigen::MatrixXd score(double t, const Eigen::MatrixXd& X) const;
    // The probability-flow velocity from the score: v = (x - E[x0 | x]) / t with Tweedie's
    // E[x0 | x] = sum_k W_k (m_k - (1-t) S_k grad_k) (equal to flowVelocity; science.md §2, Prop. 3.3). t > 0.
    Eigen::MatrixXd velocityFromScore(double t, const Eigen::MatrixXd& X) const;

    // log rho_t(x) = log sum_kj p_k b_j N(x; (1-t) m_k + t y_j, (1-t)^2 S_k) (brute-force checks).
    Eigen::VectorXd logDensity(double t, const Eigen::MatrixXd& X) const;

    int dim() const { return dim_; }

private:
    struct Component {
        double logWeight;
        Eigen::VectorXd mean;
        Eigen::MatrixXd cov, covInv, whiten;  // whiten = L^{-1} with cov = L L^T
        double logDetL;
    };
    // Per-component posterior weights W_k(x) (n x K) and means E[x1 | x, k] (K blocks n x d).
    // logTotal (optional) receives log rho_t(x) per row.
    void components(double t, const Eigen::MatrixXd& X, Eigen::MatrixXd& W, std::vector<Eigen::MatrixXd>& means,
                    Eigen::VectorXd* logTotal = nullptr) const;

    int dim_;
    int threads_;
    std::vector<Component> comps_;
    PointCloud target_;
    std::vector<double> logb_;
};

}  // namespace tl
