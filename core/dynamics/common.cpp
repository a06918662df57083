#include "dynamics/common.h"

#include <algorithm>
#include <cmath>

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

bool emitFrames(const OdeTrajectory& traj, const VelocityField& field, const Eigen::MatrixXd* snapped, const std::vector<double>& weights,
                const std::vector<double>& times, RunContext& ctx, const std::function<void(Frame&)>& decorate) {
    FrameStream stream(field, weights, times, ctx, decorate);
    return stream.finish(traj, snapped);
}

FrameStream::FrameStream(const VelocityField& field, const std::vector<double>& weights, const std::vector<double>& times, RunContext& ctx,
                         std::function<void(Frame&)> decorate)
    : field_(field), weights_(weights), times_(times), ctx_(ctx), decorate_(std::move(decorate)) {}

void FrameStream::publishNext(const OdeTrajectory& traj, const Eigen::MatrixXd* snapped) {
    const double t = times_[next_++];
    const double tEnd = traj.times.back();
    Eigen::MatrixXd X, V;
    if (!snapped || t <= tEnd) {
        X = stateAt(traj, t);
        V = field_(std::min(t, tEnd), X);
    } else {
        const double u = (t - tEnd) / (1 - tEnd);
        X = (1 - u) * traj.states.back() + u * *snapped;
        V = (*snapped - traj.states.back()) / (1 - tEnd);
    }
    Frame f = makeFrame(t, X, weights_, &V);
    if (decorate_) decorate_(f);
    ctx_.publish(std::move(f));
}

void FrameStream::reached(const OdeTrajectory& traj) {
    // A frame exactly at the current end waits for the next step (or finish: it may be snapped).
    while (next_ < times_.size() && times_[next_] < traj.times.back() && !ctx_.cancelled()) publishNext(traj, nullptr);
}

bool FrameStream::finish(const OdeTrajectory& traj, const Eigen::MatrixXd* snapped) {
    while (next_ < times_.size()) {
        if (ctx_.cancelled()) return false;
        publishNext(traj, snapped);
    }
    return true;
}

void requireSameDimension(const PointCloud& source, const PointCloud& target, const std::string& who) {
    if (source.dim != target.dim) throw Error(who + ": source and target dimensions differ");
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

void requireDefinite(const Eigen::MatrixXd& cov, const std::string& who, const std::string& role) {
    Eigen::LLT<Eigen::MatrixXd> llt(cov);
    const double scale = std::max(1e-300, cov.cwiseAbs().maxCoeff());
    if (llt.info() != Eigen::Success || llt.matrixL().toDenseMatrix().diagonal().minCoeff() <= 1e-7 * std::sqrt(scale))
        throw Error(who + " needs a non-degenerate " + role + " covariance (the field inverts it); the " + role + " is singular");
}

bool stepParticles(std::vector<double>& x, const std::vector<double>& times, long stepsTotal, Integrator integrator,
                   const ParticleDrift& drift, const std::function<void(std::vector<double>&, double)>& afterStep,
                   const std::function<void(std::size_t, const std::vector<double>&)>& atFrame, RunContext& ctx, const std::string& who,
                   const std::string& what, long& steps) {
    const std::size_t N = x.size();
    std::vector<double> k1, k2, k3, k4, tmp(N);
    const double T = times.back() - times.front();
    steps = 0;
    for (std::size_t f = 1; f < times.size(); ++f) {
        const long target = static_cast<long>(std::llround(static_cast<double>(stepsTotal) * (times[f] - times.front()) / T));
        const long m = std::max<long>(1, target - steps);
        const double dt = (times[f] - times[f - 1]) / static_cast<double>(m);
        for (long s = 0; s < m; ++s) {
            if (ctx.cancelled()) return false;
            drift(x, k1);
            switch (integrator) {
                case Integrator::Euler:
                    for (std::size_t k = 0; k < N; ++k) x[k] += dt * k1[k];
                    break;
                case Integrator::Heun:
                    for (std::size_t k = 0; k < N; ++k) tmp[k] = x[k] + dt * k1[k];
                    drift(tmp, k2);
                    for (std::size_t k = 0; k < N; ++k) x[k] += 0.5 * dt * (k1[k] + k2[k]);
                    break;
                case Integrator::Rk4:
                case Integrator::Dopri5:
                    for (std::size_t k = 0; k < N; ++k) tmp[k] = x[k] + 0.5 * dt * k1[k];
                    drift(tmp, k2);
                    for (std::size_t k = 0; k < N; ++k) tmp[k] = x[k] + 0.5 * dt * k2[k];
                    drift(tmp, k3);
                    for (std::size_t k = 0; k < N; ++k) tmp[k] = x[k] + dt * k3[k];
                    drift(tmp, k4);
                    for (std::size_t k = 0; k < N; ++k) x[k] += dt / 6 * (k1[k] + 2 * k2[k] + 2 * k3[k] + k4[k]);
                    break;
            }
            if (afterStep) afterStep(x, dt);
            for (std::size_t k = 0; k < N; ++k)
                if (!std::isfinite(x[k]))
                    throw Error(who + ": " + what + " blew up (non-finite state) near t = " + std::to_string(times[f - 1] + (s + 1) * dt) +
                                "; use more 'steps'");
            ++steps;
        }
        if (ctx.progress) ctx.progress((times[f] - times.front()) / T, "step " + std::to_string(steps));
        atFrame(f, x);
    }
    return true;
}

}  // namespace tl::dyn
