// Closed-form OT between Gaussians (science.md §3, Prop. 4.3): the Brenier map
// T(x) = m1 + A (x - m0), A = S0^{-1/2} (S0^{1/2} S1 S0^{1/2})^{1/2} S0^{-1/2} (SPD), the Bures
// distance W2^2 = |m0 - m1|^2 + tr(S0 + S1 - 2 (S0^{1/2} S1 S0^{1/2})^{1/2}) and the geodesic
// m_t = (1-t) m0 + t m1, S_t = ((1-t) I + t A) S0 ((1-t) I + t A).
#pragma once
#include <Eigen/Dense>

#include "measure/point_cloud.h"
#include "ot/ot_result.h"

namespace tl {

// Principal square root of a symmetric positive semi-definite matrix.
Eigen::MatrixXd sqrtSpd(const Eigen::MatrixXd& s);

// Prop. 4.3 (science.md §3): the Brenier map x -> m1 + A (x - m0), W2^2 (Bures) and the geodesic.
struct GaussianOt {
    Eigen::VectorXd m0, m1;
    Eigen::MatrixXd s0, s1;
    Eigen::MatrixXd A;   // Brenier map matrix (needs S0 positive definite)
    double w2sq = 0;     // Bures-Wasserstein squared distance

    // Throws tl::Error for mismatched sizes or a covariance that is not PSD / S0 not PD.
    static GaussianOt fromParameters(const Eigen::VectorXd& m0, const Eigen::MatrixXd& s0,
                                     const Eigen::VectorXd& m1, const Eigen::MatrixXd& s1);
    // From the clouds' weighted means and biased covariances.
    static GaussianOt fromClouds(const PointCloud& source, const PointCloud& target);

    Eigen::VectorXd map(const Eigen::VectorXd& x) const { return m1 + A * (x - m0); }
    Eigen::VectorXd meanAt(double t) const { return (1 - t) * m0 + t * m1; }
    Eigen::MatrixXd covarianceAt(double t) const;
};

// Bures W2^2 only (PSD covariances allowed).
double buresWassersteinSq(const Eigen::VectorXd& m0, const Eigen::MatrixXd& s0, const Eigen::VectorXd& m1, const Eigen::MatrixXd& s1);

// The OtResult of the gaussian method: cost = Bures W2^2 of the clouds' moments, no plan.
OtResult solveGaussian(const PointCloud& source, const PointCloud& target);

}  // namespace tl
