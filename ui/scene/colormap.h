// Colour maps and per-particle colourings shared by the views, the colour bar and the exports.
#pragma once
#include <QColor>
#include <array>
#include <cstdint>
#include <vector>

namespace tl {
struct GaussianMixture;
}

namespace tl::ui {

enum class Colormap { Viridis, Inferno };

// Colour at s in [0, 1] (clamped), as 8-bit RGB.
std::array<std::uint8_t, 3> colormapRgb(Colormap map, double s);
// `count` evenly spaced RGB samples of a colour map (for VTK lookup tables).
std::vector<std::array<std::uint8_t, 3>> colormapTable(Colormap map, int count);
// The palette's roles never share a colour: the target (orange), panel k (chart curves, table; cycles
// through 8), mixture component or cluster k (particles; cycles through 10).
QColor targetColor();
QColor panelColor(int k);
QColor componentColor(int k);

// Colour of each particle from its *starting* position (rows of `points`, dim 1..3): in 2-D a colour
// wheel around the mean (hue = angle, saturation = distance in standard deviations), in 3-D the
// standardised coordinates as RGB, in 1-D a colour map along x. 3 bytes per particle.
std::vector<std::uint8_t> positionColors(const std::vector<double>& points, int dim);
// Colour of each value through a colour map on [lo, hi]. 3 bytes per value.
std::vector<std::uint8_t> scalarColors(const std::vector<double>& values, double lo, double hi, Colormap map);
// Most likely component of `law` for each starting point (the particle's label), coloured categorically.
// Single-component or absent laws give every particle label 0.
std::vector<int> mixtureLabels(const std::vector<double>& points, int dim, const GaussianMixture* law);

}  // namespace tl::ui
