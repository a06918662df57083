#include "flows/integrators.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace tl {

Integrator parseIntegrator(const std::string& s) {
    if (s == "euler") return Integrator::Euler;
    if (s == "heun") return Integrator::Heun;
    if (s == "rk4") return Integrator::Rk4;
    if (s == "dopri5") return Integrator::Dopri5;
    throw Error("unknown integrator '" + s + "' (expected euler, heun, rk4 or dopri5)");
}

const char* integratorName(Integrator i) {
    switch (i) {
        case Integrator::Euler: return "euler";
        case Integrator::Heun: return "heun";
        case Integrator::Rk4: return "rk4";
        case Integrator::Dopri5: return "dopri5";
    }
    return "?";
}

namespace {

void checkFinite(const Eigen::MatrixXd& X, double t) {
    if (!X.allFinite()) throw Error("the flow blew up (non-finite positions) at t = " + std::to_string(t));
}

}  // namespace

OdeTrajectory integrate(const VelocityField& field, const Eigen::MatrixXd& X0, double t0, double t1, const OdeOptions& opt,
                        const std::function<bool()>& keepGoing, const std::function<void(const OdeTrajectory&)>& onStep) {
    OdeTrajectory tr;
    tr.times.push_back(t0);
    tr.states.push_back(X0);
    Eigen::MatrixXd X = X0;
    auto f = [&](double t, const Eigen::MatrixXd& Y) {
        ++tr.nfe;
        return field(t, Y);
    };
    if (opt.method != Integrator::Dopri5) {
        if (opt.steps < 1) throw Error("steps must be at least 1");
        const double h = (t1 - t0) / opt.steps;
        for (int k = 0; k < opt.steps; ++k) {
            if (keepGoing && !keepGoing()) {
                tr.cancelled = true;
                return tr;
            }
            const double t = t0 + k * h;
            switch (opt.method) {
                case Integrator::Euler: X += h * f(t, X); break;
                case Integrator::Heun: {
                    const Eigen::MatrixXd k1 = f(t, X);
                    const Eigen::MatrixXd k2 = f(t + h, X + h * k1);
                    X += 0.5 * h * (k1 + k2);
                    break;
                }
                default: {
                    const Eigen::MatrixXd k1 = f(t, X);
                    const Eigen::MatrixXd k2 = f(t + 0.5 * h, X + 0.5 * h * k1);
                    const Eigen::MatrixXd k3 = f(t + 0.5 * h, X + 0.5 * h * k2);
                    const Eigen::MatrixXd k4 = f(t + h, X + h * k3);
                    X += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
                }
            }
            const double tn = (k + 1 == opt.steps) ? t1 : t0 + (k + 1) * h;
            checkFinite(X, tn);
            tr.times.push_back(tn);
            tr.states.push_back(X);
            if (onStep) onStep(tr);
        }
        return tr;
    }
    // Dormand-Prince 5(4) with FSAL and a standard step-size controller.
    static const double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
    static const double a21 = 1.0 / 5;
    static const double a31 = 3.0 / 40, a32 = 9.0 / 40;
    static const double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
    static const double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561, a54 = -212.0 / 729;
    static const double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247, a64 = 49.0 / 176, a65 = -5103.0 / 18656;
    static const double b1 = 35.0 / 384, b3 = 500.0 / 1113, b4 = 125.0 / 192, b5 = -2187.0 / 6784, b6 = 11.0 / 84;
    static const double e1 = 71.0 / 57600, e3 = -71.0 / 16695, e4 = 71.0 / 1920, e5 = -17253.0 / 339200, e6 = 22.0 / 525, e7 = -1.0 / 40;
    const double span = t1 - t0;
    double t = t0, h = span / std::max(1, opt.steps);
    Eigen::MatrixXd k1 = f(t, X);
    for (int step = 0; t < t1 - 1e-14 * std::abs(span); ++step) {
        if (step >= opt.maxSteps) throw Error("dopri5 needed more than " + std::to_string(opt.maxSteps) + " steps (stiff or singular field)");
        if (keepGoing && !keepGoing()) {
            tr.cancelled = true;
            return tr;
        }
        h = std::min(h, t1 - t);
        const Eigen::MatrixXd k2 = f(t + c2 * h, X + h * a21 * k1);
        const Eigen::MatrixXd k3 = f(t + c3 * h, X + h * (a31 * k1 + a32 * k2));
        const Eigen::MatrixXd k4 = f(t + c4 * h, X + h * (a41 * k1 + a42 * k2 + a43 * k3));
        const Eigen::MatrixXd k5 = f(t + c5 * h, X + h * (a51 * k1 + a52 * k2 + a53 * k3 + a54 * k4));
        const Eigen::MatrixXd k6 = f(t + h, X + h * (a61 * k1 + a62 * k2 + a63 * k3 + a64 * k4 + a65 * k5));
        const Eigen::MatrixXd Xn = X + h * (b1 * k1 + b3 * k3 + b4 * k4 + b5 * k5 + b6 * k6);
        const Eigen::MatrixXd k7 = f(t + h, Xn);
        const Eigen::MatrixXd err = h * (e1 * k1 + e3 * k3 + e4 * k4 + e5 * k5 + e6 * k6 + e7 * k7);
        const Eigen::ArrayXXd scale = opt.atol + opt.rtol * X.array().abs().max(Xn.array().abs());
        const double en = std::sqrt((err.array() / scale).square().mean());
        if (!std::isfinite(en)) throw Error("the flow blew up (non-finite positions) at t = " + std::to_string(t));
        if (en <= 1) {
            t += h;
            X = Xn;
            k1 = k7;
            tr.times.push_back(t >= t1 - 1e-14 * std::abs(span) ? t1 : t);
            tr.states.push_back(X);
            if (onStep) onStep(tr);
        }
        h *= std::clamp(0.9 * std::pow(std::max(en, 1e-10), -0.2), 0.2, 5.0);
        if (h < 1e-12 * std::abs(span)) throw Error("dopri5 step size underflow at t = " + std::to_string(t));
    }
    return tr;
}

Eigen::MatrixXd stateAt(const OdeTrajectory& traj, double t) {
    const auto& T = traj.times;
    if (t <= T.front()) return traj.states.front();
    if (t >= T.back()) return traj.states.back();
    const std::size_t k = static_cast<std::size_t>(std::upper_bound(T.begin(), T.end(), t) - T.begin());
    const double w = (t - T[k - 1]) / (T[k] - T[k - 1]);
    return (1 - w) * traj.states[k - 1] + w * traj.states[k];
}

}  // namespace tl
