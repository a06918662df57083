// Binned Gaussian KDE of a frame's particles on an nx x ny grid over [x0, x1] x [y0, y1] (cell
// centres, rows of x): linear binning then a separable Gaussian blur truncated at 4 sigma; bandwidth
// by Scott's rule (sigma n^(-1/6), d = 2) unless bandwidth > 0. Integrates to ~1 over the box (density
// per unit area); zeros (not NaN) for an empty frame or a degenerate box.
#pragma once
#include <vector>

#include "engine/frame.h"

namespace tl {

std::vector<float> kdeGrid(const Frame& f, double x0, double x1, double y0, double y1, int nx, int ny, double bandwidth = 0);

}  // namespace tl
