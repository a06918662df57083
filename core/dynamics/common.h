// Helpers shared by the dynamics implementations: frames from Eigen states, straightness of a
// discrete path (science.md §2: S = E int |v|^2 dt - E |x1 - x0|^2), the moment overlays.
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <string>
#include <vector>

#include "engine/dynamics.h"
#include "engine/frame.h"
#include "flows/integrators.h"
#include "measure/measure.h"

namespace tl::dyn {

Eigen::MatrixXd toMatrix(const PointCloud& pc);
Frame makeFrame(double t, const Eigen::MatrixXd& X, const std::vector<double>& weights, const Eigen::MatrixXd* V = nullptr);

// sum_k sum_i a_i |X_{k+1} - X_k|^2 / dt_k - sum_i a_i |X_end - X_0|^2 over the recorded steps
// (0 for particles moving at constant velocity on straight lines).
double straightness(const OdeTrajectory& traj, const std::vector<double>& weights);

// Moments of the independent-coupling interpolant (1-t) x0 + t x1: exact for every FM / diffusion
// path with that coupling.
GaussianOverlay interpolantOverlay(double t, const Eigen::VectorXd& m0, const Eigen::MatrixXd& s0, const Eigen::VectorXd& m1,
                                   const Eigen::MatrixXd& s1);

// Emits one frame per time from an integrated trajectory: positions by stateAt(), velocities from
// `field`, overlays from `decorate`. When `snapped` is given (fields singular at t = 1, integrated to
// traj.times.back() = 1 - delta), frames after that time move linearly to the snapped positions.
// Returns false if cancelled on the way.
bool emitFrames(const OdeTrajectory& traj, const VelocityField& field, const Eigen::MatrixXd* snapped, const std::vector<double>& weights,
                const std::vector<double>& times, RunContext& ctx, const std::function<void(Frame&)>& decorate);

// The same, streamed: reached() (pass it as integrate's onStep) publishes every frame whose time the
// trajectory has passed, while the integration runs, so a panel moves after its first steps;
// finish() publishes the rest (as emitFrames) and returns false if cancelled.
class FrameStream {
public:
    FrameStream(const VelocityField& field, const std::vector<double>& weights, const std::vector<double>& times, RunContext& ctx,
                std::function<void(Frame&)> decorate = {});
    void reached(const OdeTrajectory& traj);
    bool finish(const OdeTrajectory& traj, const Eigen::MatrixXd* snapped = nullptr);
    std::function<void(const OdeTrajectory&)> onStep() {
        return [this](const OdeTrajectory& t) { reached(t); };
    }

private:
    void publishNext(const OdeTrajectory& traj, const Eigen::MatrixXd* snapped);  // not "emit": a Qt macro
    const VelocityField& field_;
    const std::vector<double>& weights_;
    const std::vector<double>& times_;
    RunContext& ctx_;
    std::function<void(Frame&)> decorate_;
    std::size_t next_ = 0;
};

// Throws tl::Error "<who>: source and target dimensions differ" unless the two clouds have the same dimension.
void requireSameDimension(const PointCloud& source, const PointCloud& target, const std::string& who);

// The law a closed-form field needs, or a tl::Error saying plainly why the panel cannot run.
const GaussianMixture& requireMixture(const Measure& m, const std::string& who, const std::string& role);
const GaussianMixture& requireGaussian(const Measure& m, const std::string& who, const std::string& role);
// Throws a plain tl::Error unless `cov` is positive definite (fields that invert Sigma_t at t = 0 or 1).
void requireDefinite(const Eigen::MatrixXd& cov, const std::string& who, const std::string& role);

// Fixed-step integration of particles x (row-major, flat) through the frame times: `stepsTotal` steps
// spread over the frame intervals in proportion to their length (at least one each), Euler, Heun or
// RK4 (Dopri5, not offered by the callers, also takes RK4 steps) on `drift(x, out)`; `afterStep(x, dt)`
// (optional) adds noise or a projection after each step; `atFrame(k, x)` is called at every frame
// k >= 1 (frame 0 is the caller's). Checks cancellation
// before every step (returns false) and throws tl::Error "<who>: <what> blew up ..." when the state
// stops being finite. `steps` receives the number of steps taken.
using ParticleDrift = std::function<void(const std::vector<double>& x, std::vector<double>& out)>;
bool stepParticles(std::vector<double>& x, const std::vector<double>& times, long stepsTotal, Integrator integrator,
                   const ParticleDrift& drift, const std::function<void(std::vector<double>&, double)>& afterStep,
                   const std::function<void(std::size_t, const std::vector<double>&)>& atFrame, RunContext& ctx, const std::string& who,
                   const std::string& what, long& steps);

}  // namespace tl::dyn
