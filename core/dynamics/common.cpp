#include "dynamics/common.h"

#include "util/error.h"

namespace tl::dyn {

Eigen::MatrixXd toMatrix(const PointCloud& pc) { return pc.matrix(); }

Frame makeFrame(double t, const Eigen::MatrixXd& X, const std::vector<double>& weights, const Eigen::MatrixXd* V) {
    Frame f;
    f.t = t;
    f.dim = static_cast<int>(X.cols());
    f.positions.resize(static_cast<std::size_t>(X.size()));
    for (Eigen::Index i = 0; i < X.rows(); ++i)
        for (Eigen::Index k = 0; k < X.cols(); ++k) f.positions[static_cast<std::size_t>(i * X.cols() + k)] = X(i, k);
    f.weights = weights;
    if (V) {
        f.velocities.resize(static_cast<std::size_t>(V->size()));
        for (Eigen::Index i = 0; i < V->rows(); ++i)
            for (Eigen::Index k = 0; k < V->cols(); ++k) f.velocities[static_cast<std::size_t>(i * V->cols() + k)] = (*V)(i, k);
    }
    return f;
}

double straightness(const OdeTrajectory& traj, const std::vector<double>& weights) {
    if (traj.states.size() < 2) return 0;
    const Eigen::Map<const Eigen::VectorXd> a(weights.data(), static_cast<Eigen::Index>(weights.size()));
    double energy = 0;
    for (std::size_t k = 0; k + 1 < traj.states.size(); ++k) {
        const double dt = traj.times[k + 1] - traj.times[k];
        if (dt <= 0) continue;
        energy += a.dot((traj.states[k + 1] - traj.states[k]).rowwise().squaredNorm()) / dt;
    }
    const double chord = a.dot((traj.states.back() - traj.states.front()).rowwise().squaredNorm()) / (traj.times.back() - traj.times.front());
    return energy - chord;
}

GaussianOverlay interpolantOverlay(double t, const Eigen::VectorXd& m0, const Eigen::MatrixXd& s0, const Eigen::VectorXd& m1,
                                   const Eigen::MatrixXd& s1) {
    return {"interpolant moments", (1 - t) * m0 + t * m1, (1 - t) * (1 - t) * s0 + t * t * s1};
}

const GaussianMixture& requireMixture(const Measure& m, const std::string& who, const std::string& role) {
    if (!m.law)
        throw Error(who + " needs a Gaussian or Gaussian-mixture " + role + " (gaussian:, gmm: or eight-gaussians:), but the " + role +
                    " is '" + m.spec + "'");
    return *m.law;
}

const GaussianMixture& requireGaussian(const Measure& m, const std::string& who, const std::string& role) {
    if (!m.law || !m.law->isGaussian())
        throw Error(who + " needs a Gaussian " + role + " (a gaussian: SPEC), but the " + role + " is '" + m.spec + "'");
    return *m.law;
}

}  // namespace tl::dyn
