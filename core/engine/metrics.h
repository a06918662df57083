// Per-frame metrics (weighted mean and covariance, kinetic energy sum_i a_i |v_i|^2, accumulated
// path length) and the Sinkhorn divergence of a frame to the target (science.md §2-§3).
#pragma once
#include <stop_token>

#include "engine/frame.h"
#include "ot/sinkhorn.h"
#include "measure/point_cloud.h"

namespace tl {

// Moments of a grid density: mass sum rho h^2, mean, covariance, entropy int rho log rho.
struct GridMoments {
    double mass = 0, entropy = 0;
    Eigen::Vector2d mean;
    Eigen::Matrix2d cov;
};
GridMoments gridMoments(const DensityGrid& g);

// Adds mean_*, cov_*, kinetic_energy and path_length (previous may be null for the first frame);
// for a frame with a density grid also entropy and mass, and for a grid-only frame the moments of
// the density instead of the particles'.
void addFrameMetrics(Frame& f, const Frame* previous);
PointCloud frameCloud(const Frame& f);
// Stops early (throws tl::Error) when `stop` is requested.
// `warm` (optional, in/out): the previous frame's potentials against the same target (same sizes):
// the solve starts from them and leaves this frame's there (frames of a run move a little each time).
// `maxSamples` > 0: both measures are thinned to at most that many points (thinned(): a fixed
// pseudo-random subset, weights renormalised) — a display estimate.
double frameDivergence(const Frame& f, const PointCloud& target, double epsilon, int threads, std::stop_token stop = {},
                       SinkhornDivergenceResult* warm = nullptr, long maxSamples = 0);
// At most k points of pc (all when k <= 0 or pc has no more), weights renormalised: a fixed
// pseudo-random subset of the indices (the same for every call with the same size, so a run's frames
// keep the same particles and the metric's warm start carries over), kept in index order. Not evenly
// spaced: generators are not exchangeable in index order (moons alternate between the two moons,
// mixtures cycle through their components), so a stride can pick one moon only.
PointCloud thinned(const PointCloud& pc, long k);

}  // namespace tl
