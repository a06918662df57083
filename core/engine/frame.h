// A Frame is one published, immutable state of a dynamics at time t: particle positions (one row
// per particle, fixed order across frames), weights, optional velocities, and/or a density on a
// regular 2-D grid (science.md §4, grid gradient flows), per-frame metrics and closed-form overlays
// (e.g. the Gaussian mean/covariance theory predicts at t).
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

// A density on the square [-extent, extent]^2 divided into cells x cells equal cells; values are
// densities at the cell centres (row-major, values[iy * cells + ix], y up), sum(values) * h^2 = 1.
struct DensityGrid {
    int cells = 0;
    double extent = 0;
    std::vector<double> values;
    std::vector<double> vx, vy;  // optional velocity field at the cell centres (same layout), for glyphs

    double h() const { return 2 * extent / cells; }
    double cellArea() const { return h() * h(); }
    double center(int i) const { return -extent + (i + 0.5) * h(); }
};

// Points drawn as markers over a panel (e.g. a teacher network's neurons), in the frame's dimension.
struct MarkerOverlay {
    std::string label;
    int dim = 2;
    std::vector<double> points;  // rows * dim, row-major
    bool faint = false;          // many points (e.g. an observed snapshot): small, translucent marks
};

struct Frame {
    double t = 0;
    int dim = 2;
    std::vector<double> positions;   // rows * dim, row-major
    std::vector<double> weights;     // rows, sum 1
    std::vector<double> velocities;  // rows * dim, or empty
    std::vector<std::pair<std::string, double>> metrics;
    std::vector<GaussianOverlay> overlays;
    std::shared_ptr<const DensityGrid> density;  // grid dynamics (may be the only content)
    std::vector<MarkerOverlay> markers;
    std::vector<int> labels;     // per particle (e.g. token clusters), or empty
    bool onUnitSphere = false;   // particles live on the unit sphere (drawn with it)

    std::size_t rows() const { return weights.size(); }
    double metric(const std::string& name, double fallback = std::numeric_limits<double>::quiet_NaN()) const;
    void setMetric(const std::string& name, double value);
};

using FramePtr = std::shared_ptr<const Frame>;

// Frames of one panel in time order; appended by the compute thread, read by anyone.
class FrameHistory {
public:
    void append(FramePtr f);
    // Replaces frame k (e.g. with one that has more metrics); ignored when k is out of range.
    void replace(std::size_t k, FramePtr f);
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
