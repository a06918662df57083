// Displacement interpolation (science.md §3, the Benamou-Brenier minimiser of Thm 4.2): for a plan pi, the
// measure at time t puts mass pi_ij at (1 - t) x_i + t y_j (particles move on straight lines).
#pragma once
#include <vector>

#include "measure/point_cloud.h"
#include "ot/ot_result.h"

namespace tl {

// rho_t = ((1-t) Id + t T)#rho_0 for a discrete plan (science.md §3, Thm 4.2): mass pi_ij at (1-t) x_i + t y_j.
PointCloud displacementInterpolation(const std::vector<PlanEntry>& plan, const PointCloud& x, const PointCloud& y, double t);
// Particles x_i moved toward a map T (n * dim, e.g. a barycentric map), weights a_i kept.
PointCloud mapInterpolation(const PointCloud& x, const std::vector<double>& mapped, double t);

}  // namespace tl
