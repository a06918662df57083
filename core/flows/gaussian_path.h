// Flow matching between Gaussians with the independent coupling (science.md §2, Prop. 3.2):
// m_t = (1-t) m0 + t m1, S_t = (1-t)^2 S0 + t^2 S1, v_t(x) = (m1 - m0) + A_t (x - m_t),
// A_t = (t S1 - (1-t) S0) S_t^{-1}; plus the gauge field w(x) = S Sigma_t^{-1} (x - m_t) of §1.
#pragma once
#include <Eigen/Dense>

namespace tl {

struct GaussianPath {
    Eigen::VectorXd m0, m1;
    Eigen::MatrixXd s0, s1;

    Eigen::VectorXd meanAt(double t) const { return (1 - t) * m0 + t * m1; }
    Eigen::MatrixXd covAt(double t) const { return (1 - t) * (1 - t) * s0 + t * t * s1; }
    Eigen::MatrixXd velocityMatrix(double t) const { return (t * s1 - (1 - t) * s0) * covAt(t).inverse(); }
    // v_t(x) for the rows of X (n x d).
    Eigen::MatrixXd velocity(double t, const Eigen::MatrixXd& X) const;
};

// The antisymmetric generator S used by the gauge parameter: in 2-D [[0, 1], [-1, 0]]; in 3-D the
// rotation about the z axis; zero in 1-D (no divergence-free rotation exists).
Eigen::MatrixXd gaugeGenerator(int dim);

// lambda * S * cov^{-1} (x - mean) for the rows of X: divergence-free with respect to N(mean, cov).
Eigen::MatrixXd gaugeField(double lambda, const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov, const Eigen::MatrixXd& X);

}  // namespace tl
