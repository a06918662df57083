// Per-frame metrics (weighted mean and covariance, kinetic energy sum_i a_i |v_i|^2, accumulated
// path length) and the Sinkhorn divergence of a frame to the target (science.md §2-§3).
#pragma once
#include <stop_token>

#include "engine/frame.h"
#include "measure/point_cloud.h"

namespace tl {

// Adds mean_*, cov_*, kinetic_energy and path_length (previous may be null for the first frame).
void addFrameMetrics(Frame& f, const Frame* previous);
PointCloud frameCloud(const Frame& f);
// Stops early (throws tl::Error) when `stop` is requested.
double frameDivergence(const Frame& f, const PointCloud& target, double epsilon, int threads, std::stop_token stop = {});

}  // namespace tl
