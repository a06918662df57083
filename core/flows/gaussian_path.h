// Flow matching between Gaussians with the independent coupling (science.md §2, Prop. 3.2):
// m_t = (1-t) m0 + t m1, S_t = (1-t)^2 S0 + t^2 S1, v_t(x) = (m1 - m0) + A_t (x - m_t),
// A_t = (t S1 - (1-t) S0) S_t^{-1}; plus the gauge field w(x) = S Sigma_t^{-1} (x - m_t) of §1.
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <string>

#include "flows/integrators.h"

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

// How much a fixed-step integrator distorts the densities of a gauge-rotated Gaussian path. The gauge
// field w = lambda S Sigma_t^{-1} (x - m_t) (science.md §1, "Non-uniqueness") turns N(m_t, Sigma_t)
// into itself at the angular rate omega(t) = |lambda| ||Sigma_t^{-1/2} S Sigma_t^{-1/2}||_2; a one-step
// method with stability function R multiplies each particle's Sigma_t-norm offset by |R(i omega h)|
// per step (Euler |R|^2 = 1 + z^2, Heun 1 + z^4/4, RK4 1 - z^6/72 + z^8/576, z = omega h), so the
// covariance at t = 1 is off by the factor prod_k |R(i omega(t_k) h)|^2 (frozen coefficients at the
// step midpoints t_k). Dopri5 controls its own error: no distortion is predicted.
struct GaugeStepCheck {
    double covarianceError = 0;  // |prod_k |R|^2 - 1|: 0 when exact; inf when it overflows
    double maxRate = 0;          // max_t omega(t), per unit time
    int stepsForOnePercent = 0;  // the fewest steps that keep covarianceError <= 1 % (0: no limit found up to 10^5)
};
GaugeStepCheck checkGaugeSteps(double lambda, const std::function<Eigen::MatrixXd(double)>& covAt, Integrator method, int steps);

// The rule every gauge-rotated dynamics applies: throws tl::Error (naming `who`, lambda, the steps and
// the steps needed) when the predicted covariance error exceeds 50 %; returns a warning (empty when
// none) when it exceeds 1 %.
std::string gaugeStepWarning(const std::string& who, double lambda, const std::function<Eigen::MatrixXd(double)>& covAt, Integrator method,
                             int steps);

}  // namespace tl
