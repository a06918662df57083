// PanelScene: everything one dynamics panel draws into a VTK renderer — the layers of issue 4 §2:
// particles (coloured by starting position, speed, label or one colour), fading trajectories, a KDE
// density image, velocity glyphs on a grid, closed-form covariance ellipses, the faint target, a colour
// bar, a title and a status line. The same class draws the GUI's views and the offscreen exports, so
// a video shows exactly what the window shows. GUI thread only (it touches VTK).
#pragma once
#include <QColor>
#include <QString>
#include <memory>
#include <string>
#include <vector>

#include "engine/frame.h"

class vtkRenderer;

namespace tl {
struct Measure;
}

namespace tl::ui {

enum class ColorMode { Uniform, SourcePosition, Speed, Label };
const char* colorModeName(ColorMode m);

struct LayerOptions {
    bool particles = true;
    bool trajectories = true;   // the paths so far: straight for OT, bent for flow matching
    bool density = false;
    bool glyphs = false;
    bool overlays = true;   // covariance ellipses of the closed-form Gaussians (frame.overlays)
    bool target = true;     // target samples, faint, behind everything
    bool colorBar = true;   // when particles are coloured by speed or the density is shown
    bool axes = true;       // axes with ticks and labels around the data (2-D and 3-D)
    ColorMode color = ColorMode::SourcePosition;
    double pointSize = 5.0;        // logical pixels
    int maxTrajectories = 300;     // paths drawn (an evenly spaced subset of the particles)
    bool operator==(const LayerOptions&) const = default;
};

// Layers from text (the CLI's and the app's --layers / --color): a comma list of layer names (the
// table of scene/layers.h: particles, trajectories, density, velocity, ellipses, target, axes) and a
// colour mode position | speed | label | uniform. Throws tl::Error naming an unknown word.
LayerOptions layerOptionsFromText(const std::string& layers, const std::string& color);
// The camera fit's margin (fraction of the extent per side): room for the axes' labels when they are on.
inline double fitMargin(const LayerOptions&) { return 0.06; }
// Room kept free for the axes' tick labels and titles (2-D), in pixels at font scale 1: on the left
// (y labels such as "-2.0" and the title y) and at the bottom (x labels and the title x).
inline double axisRoomLeftPx(const LayerOptions& l) { return l.axes ? 62 : 0; }
inline double axisRoomBottomPx(const LayerOptions& l) { return l.axes ? 40 : 0; }

// Colour ranges of the quantities panels colour by (0: each panel its own): shared across the panels
// so that one colour means one value side by side.
struct ColorRanges {
    double speed = 0, density = 0;
};

class PanelScene {
public:
    // `pixelRatio` scales point sizes and line widths (device pixels per logical pixel).
    explicit PanelScene(vtkRenderer* renderer, double pixelRatio = 1.0);
    ~PanelScene();  // removes its props from the renderer
    PanelScene(const PanelScene&) = delete;
    PanelScene& operator=(const PanelScene&) = delete;

    void setTitle(const QString& title);
    void setStatus(const QString& status);
    void setFontScale(double scale);  // text size multiplier (exports at other resolutions)

    void setOptions(const LayerOptions& options);
    const LayerOptions& options() const;

    void setTarget(std::shared_ptr<const Measure> target);
    // The source law labels the particles (ColorMode::Label) when it is a Gaussian mixture.
    void setSource(std::shared_ptr<const Measure> source);

    // Shows one run (frames in time order, all of one panel) at time t: the last frame with
    // frame.t <= t. Keeps showing the previous frames when `frames` is empty. Returns the frame shown.
    FramePtr show(const std::vector<FramePtr>& frames, double t);
    FramePtr shownFrame() const;
    // This panel's own ranges for the shown frame (0 for a quantity it does not colour by), the ranges
    // in use, and new ones (repaints at once; 0 = own).
    ColorRanges ownRanges() const;
    ColorRanges colorRanges() const;
    void setColorRanges(const ColorRanges& ranges);
    // For tests: the colour key (position inset / component swatches) is visible.
    bool colorKeyShown() const;
    // Forgets cached per-run data (colours, bounds): call when a new run replaces the old one.
    void resetRun();

    // Bounds {x0, x1, y0, y1, z0, z1} of the target and the run's first and last frames; false when
    // nothing is known yet.
    bool dataBounds(double b[6]) const;
    int dim() const;

    // For tests: the particle colours in use (RGB bytes per particle; empty = one colour).
    const std::vector<unsigned char>& particleColors() const;
    // For tests: the density grid shown (row-major, y rows of x), and its size.
    const std::vector<float>& densityGrid(int* nx, int* ny) const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

// Shares the ranges over the scenes after each has shown its frame: the max of each quantity, or the
// `fixed` value where it is > 0 (a locked scale). Returns what was applied.
ColorRanges shareColorRanges(const std::vector<PanelScene*>& scenes, const ColorRanges& fixed = {});

// Velocities of frame k of a run: the frame's own, or central finite differences of the positions.
std::vector<double> frameVelocities(const std::vector<FramePtr>& frames, std::size_t k);

}  // namespace tl::ui
