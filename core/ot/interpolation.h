// Displacement interpolation (science.md §3, Benamou-Brenier minimiser): for a plan pi, the
// measure at time t puts mass pi_ij at (1 - t) x_i + t y_j (particles move on straight lines).
#pragma once
#include <vector>

#include "measure/point_cloud.h"
#include "ot/ot_result.h"

namespace tl {

PointCloud displacementInterpolation(const std::vector<PlanEntry>& plan, const PointCloud& x, const PointCloud& y, double t);
// Particles x_i moved toward a map T (n * dim, e.g. a barycentric map), weights a_i kept.
PointCloud mapInterpolation(const PointCloud& x, const std::vector<double>& mapped, double t);

}  // namespace tl
