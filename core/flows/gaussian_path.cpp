#include "flows/gaussian_path.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.h"
#include <cstdio>

namespace tl {

Eigen::MatrixXd GaussianPath::velocity(double t, const Eigen::MatrixXd& X) const {
    const Eigen::MatrixXd A = velocityMatrix(t);
    const Eigen::RowVectorXd mt = meanAt(t).transpose();
    const Eigen::RowVectorXd dm = (m1 - m0).transpose();
    return ((X.rowwise() - mt) * A.transpose()).rowwise() + dm;
}

Eigen::MatrixXd gaugeGenerator(int dim) {
    Eigen::MatrixXd S = Eigen::MatrixXd::Zero(dim, dim);
    if (dim >= 2) {
        S(0, 1) = 1;
        S(1, 0) = -1;
    }
    return S;
}

Eigen::MatrixXd gaugeField(double lambda, const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov, const Eigen::MatrixXd& X) {
    const int d = static_cast<int>(mean.size());
    const Eigen::MatrixXd M = lambda * gaugeGenerator(d) * cov.inverse();
    return (X.rowwise() - mean.transpose()) * M.transpose();
}

namespace {

std::string num(double v, int digits = 6) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

// log |R(i z)|^2 for the fixed-step methods' stability functions R on the imaginary axis.
double logGrowth(Integrator method, double z) {
    const double z2 = z * z;
    switch (method) {
        case Integrator::Euler: return std::log1p(z2);
        case Integrator::Heun: return std::log1p(z2 * z2 / 4);
        case Integrator::Rk4: return std::log(std::max(1 - z2 * z2 * z2 / 72 + z2 * z2 * z2 * z2 / 576, 1e-300));
        case Integrator::Dopri5: return 0;
    }
    return 0;
}

// omega(t) = |lambda| * spectral norm of Sigma^{-1/2} S Sigma^{-1/2} (antisymmetric: purely imaginary spectrum).
double rotationRate(double lambda, const Eigen::MatrixXd& cov) {
    const int d = static_cast<int>(cov.rows());
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
    const Eigen::VectorXd ev = es.eigenvalues().cwiseMax(1e-300);
    const Eigen::MatrixXd isqrt = es.eigenvectors() * ev.cwiseInverse().cwiseSqrt().asDiagonal() * es.eigenvectors().transpose();
    const Eigen::MatrixXd K = isqrt * gaugeGenerator(d) * isqrt;
    if (!K.allFinite()) return std::numeric_limits<double>::infinity();
    return std::abs(lambda) * Eigen::JacobiSVD<Eigen::MatrixXd>(K).singularValues()(0);
}

}  // namespace

GaugeStepCheck checkGaugeSteps(double lambda, const std::function<Eigen::MatrixXd(double)>& covAt, Integrator method, int steps) {
    GaugeStepCheck out;
    if (lambda == 0 || steps < 1) return out;
    // omega on a grid of 256 midpoints (enough for the smooth Sigma_t of a Gaussian path); each step uses
    // the rate at its own midpoint, read off the grid.
    constexpr int kGrid = 256;
    std::vector<double> rate(kGrid);
    for (int g = 0; g < kGrid; ++g) {
        rate[g] = rotationRate(lambda, covAt((g + 0.5) / kGrid));
        out.maxRate = std::max(out.maxRate, rate[g]);
    }
    if (method == Integrator::Dopri5) return out;
    auto error = [&](int n) {
        // sum over the n steps of log |R|^2, evaluated with the rate of the grid cell holding each midpoint
        // (in closed form per cell when n is large: n / kGrid steps share a cell).
        const double h = 1.0 / n;
        double sum = 0;
        if (n <= 4 * kGrid) {
            for (int k = 0; k < n; ++k) sum += logGrowth(method, rate[std::min(kGrid - 1, static_cast<int>((k + 0.5) * h * kGrid))] * h);
        } else {
            for (int g = 0; g < kGrid; ++g) sum += logGrowth(method, rate[g] * h) * (static_cast<double>(n) / kGrid);
        }
        return std::isfinite(sum) ? std::abs(std::expm1(sum)) : std::numeric_limits<double>::infinity();
    };
    out.covarianceError = error(steps);
    // Past omega h = 1 the error need not fall with more steps (RK4's |R(iz)| crosses 1 at z = 2 sqrt 2);
    // from there on it does: bisect for 1 % between ceil(max omega) and 10^5 steps.
    constexpr int kMaxSteps = 100000;
    if (error(kMaxSteps) > 0.01) return out;
    int lo = std::max(0, static_cast<int>(std::ceil(std::min(out.maxRate, 1e9))) - 1), hi = kMaxSteps;
    if (lo >= hi) return out;
    while (hi - lo > 1) {
        const int mid = lo + (hi - lo) / 2;
        (error(mid) <= 0.01 ? hi : lo) = mid;
    }
    out.stepsForOnePercent = hi;
    return out;
}

std::string gaugeStepWarning(const std::string& who, double lambda, const std::function<Eigen::MatrixXd(double)>& covAt, Integrator method,
                             int steps) {
    const GaugeStepCheck c = checkGaugeSteps(lambda, covAt, method, steps);
    if (c.covarianceError <= 0.01 && (method == Integrator::Dopri5 || c.maxRate / steps <= 2.5)) return {};
    const std::string what = who + ": gauge " + num(lambda) + " with " + std::to_string(steps) + " " + integratorName(method) +
                             " step" + (steps == 1 ? "" : "s") + " (rotation rate up to " + num(c.maxRate, 3) + " per unit time)";
    const std::string fix = c.stepsForOnePercent > 0 ? "use steps >= " + std::to_string(c.stepsForOnePercent) + " to keep it under 1 %"
                                                     : "lower the gauge or use the dopri5 integrator";
    const double perStep = c.maxRate / steps;  // radians per step at the fastest
    if (method != Integrator::Dopri5 && perStep > 2.5)
        throw Error(what + " turns the particles by up to " + num(perStep, 3) + " rad per step: " + integratorName(method) +
                    " cannot follow the rotation; " + fix);
    if (!(c.covarianceError <= 0.5)) {
        const std::string factor = std::isfinite(c.covarianceError) ? "by a factor of " + num(1 + c.covarianceError, 3) : "without bound";
        throw Error(what + " would change the covariances " + factor + " although the gauge leaves the densities unchanged; " + fix);
    }
    return what + " changes the covariances by about " + num(100 * c.covarianceError, 2) + " %; " + fix;
}

}  // namespace tl
