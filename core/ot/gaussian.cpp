#include "ot/gaussian.h"

#include <chrono>
#include <cmath>

#include "util/error.h"

namespace tl {

namespace {

void checkSpd(const Eigen::MatrixXd& s, const char* name, bool strict) {
    if (s.rows() != s.cols()) throw Error(std::string(name) + " must be square");
    if (!s.allFinite()) throw Error(std::string(name) + " has non-finite entries");
    if (!s.isApprox(s.transpose(), 1e-9)) throw Error(std::string(name) + " must be symmetric");
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(s);
    const double scale = std::max(1e-300, es.eigenvalues().cwiseAbs().maxCoeff());
    const double lo = es.eigenvalues().minCoeff();
    if (lo < -1e-10 * scale) throw Error(std::string(name) + " is not positive semi-definite");
    if (strict && lo <= 1e-14 * scale) throw Error(std::string(name) + " is singular (the Brenier map needs a non-degenerate source)");
}

}  // namespace

Eigen::MatrixXd sqrtSpd(const Eigen::MatrixXd& s) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (s + s.transpose()));
    return es.eigenvectors() * es.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() * es.eigenvectors().transpose();
}

double buresWassersteinSq(const Eigen::VectorXd& m0, const Eigen::MatrixXd& s0, const Eigen::VectorXd& m1, const Eigen::MatrixXd& s1) {
    if (m0.size() != m1.size() || s0.rows() != m0.size() || s1.rows() != m1.size()) throw Error("Gaussian OT: dimension mismatch");
    checkSpd(s0, "source covariance", false);
    checkSpd(s1, "target covariance", false);
    const Eigen::MatrixXd r0 = sqrtSpd(s0);
    const Eigen::MatrixXd cross = sqrtSpd(r0 * s1 * r0);
    return std::max(0.0, (m0 - m1).squaredNorm() + (s0 + s1 - 2 * cross).trace());
}

GaussianOt GaussianOt::fromParameters(const Eigen::VectorXd& m0, const Eigen::MatrixXd& s0, const Eigen::VectorXd& m1,
                                      const Eigen::MatrixXd& s1) {
    GaussianOt g;
    g.w2sq = buresWassersteinSq(m0, s0, m1, s1);
    checkSpd(s0, "source covariance", true);
    g.m0 = m0;
    g.m1 = m1;
    g.s0 = s0;
    g.s1 = s1;
    const Eigen::MatrixXd r0 = sqrtSpd(s0);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (s0 + s0.transpose()));
    const Eigen::MatrixXd r0inv = es.eigenvectors() * es.eigenvalues().cwiseSqrt().cwiseInverse().asDiagonal() * es.eigenvectors().transpose();
    const Eigen::MatrixXd a = r0inv * sqrtSpd(r0 * s1 * r0) * r0inv;
    g.A = 0.5 * (a + a.transpose());
    return g;
}

GaussianOt GaussianOt::fromClouds(const PointCloud& source, const PointCloud& target) {
    checkTransportPair(source, target);
    return fromParameters(source.mean(), source.covariance(), target.mean(), target.covariance());
}

Eigen::MatrixXd GaussianOt::covarianceAt(double t) const {
    const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(A.rows(), A.cols());
    const Eigen::MatrixXd B = (1 - t) * I + t * A;
    return B * s0 * B;
}

OtResult solveGaussian(const PointCloud& source, const PointCloud& target) {
    checkTransportPair(source, target);
    const auto t0 = std::chrono::steady_clock::now();
    OtResult r;
    r.method = OtMethod::Gaussian;
    r.cost = buresWassersteinSq(source.mean(), source.covariance(), target.mean(), target.covariance());
    r.dualObjective = r.cost;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace tl
