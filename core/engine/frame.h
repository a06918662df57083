// A Frame is one published, immutable state of a dynamics at time t: particle positions (one row
// per particle, fixed order across frames), weights, optional velocities, per-frame metrics and
// closed-form overlays (e.g. the Gaussian mean/covariance theory predicts at t).
#pragma once
#include <Eigen/Dense>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace tl {

struct GaussianOverlay {
    std::string label;      // e.g. "Bures geodesic", "interpolant moments"
    Eigen::VectorXd mean;
    Eigen::MatrixXd cov;
};

struct Frame {
    double t = 0;
    int dim = 2;
    std::vector<double> positions;   // rows * dim, row-major
    std::vector<double> weights;     // rows, sum 1
    std::vector<double> velocities;  // rows * dim, or empty
    std::vector<std::pair<std::string, double>> metrics;
    std::vector<GaussianOverlay> overlays;

    std::size_t rows() const { return weights.size(); }
    double metric(const std::string& name, double fallback = std::numeric_limits<double>::quiet_NaN()) const;
    void setMetric(const std::string& name, double value);
};

using FramePtr = std::shared_ptr<const Frame>;

// Frames of one panel in time order; appended by the compute thread, read by anyone.
class FrameHistory {
public:
    void append(FramePtr f);
    void clear();
    std::vector<FramePtr> snapshot() const;
    std::size_t size() const;
    FramePtr at(std::size_t k) const;
    // The last frame with time <= t (the first frame if none).
    FramePtr atTime(double t) const;

private:
    mutable std::mutex m_;
    std::vector<FramePtr> frames_;
};

}  // namespace tl
