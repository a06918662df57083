// ODE integrators for particle flows dx/dt = v_t(x) (science.md §1, (1)): Euler, Heun, classic RK4
// with fixed steps, and adaptive Dormand-Prince 5(4). Every field evaluation is counted (NFE).
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <string>
#include <vector>

namespace tl {

enum class Integrator { Euler, Heun, Rk4, Dopri5 };
Integrator parseIntegrator(const std::string& s);
const char* integratorName(Integrator i);

// v = field(t, X) for the rows of X (n x d).
using VelocityField = std::function<Eigen::MatrixXd(double t, const Eigen::MatrixXd& X)>;

struct OdeOptions {
    Integrator method = Integrator::Rk4;
    int steps = 100;          // fixed-step methods: uniform steps over [t0, t1]
    double rtol = 1e-5;       // dopri5
    double atol = 1e-6;       // dopri5
    int maxSteps = 100000;    // dopri5 safety cap
};

struct OdeTrajectory {
    std::vector<double> times;           // step boundaries, times.front() = t0, times.back() = t1
    std::vector<Eigen::MatrixXd> states; // positions at those times
    long nfe = 0;                        // field evaluations
    bool cancelled = false;
};

// Integrates from (t0, X0) to t1, keeping every step's state. `keepGoing` (optional) is asked
// before each step; returning false stops (cancelled = true). Throws tl::Error if the state
// becomes non-finite (a blow-up), naming the time.
// `onStep` (optional) sees the trajectory so far after every accepted step (frames are published
// while the integration runs: FrameStream).
OdeTrajectory integrate(const VelocityField& field, const Eigen::MatrixXd& X0, double t0, double t1, const OdeOptions& opt,
                        const std::function<bool()>& keepGoing = {}, const std::function<void(const OdeTrajectory&)>& onStep = {});

// Positions at time t by linear interpolation between the recorded steps (particles move on a
// straight segment within a step, as the integrator's own discrete path does for Euler).
Eigen::MatrixXd stateAt(const OdeTrajectory& traj, double t);

}  // namespace tl
