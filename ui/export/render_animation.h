// Offscreen rendering of a finished run into an animation: the same PanelScene layers as the window,
// in a grid of viewports of a hidden VTK window, one image per scenario frame, through AnimationWriter
// (MP4 / GIF / PNG sequence). Shared by the GUI's export (Ctrl+E) and `transportlab-cli render`.
// GUI thread only (VTK); needs an X server.
#pragma once
#include <QImage>
#include <QString>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/frame.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "scene/panel_scene.h"

class vtkCamera;

namespace tl::ui {

// What an export needs of a run, copied out of the Runner (frames are shared, immutable).
struct RunSnapshot {
    Scenario scenario;
    std::shared_ptr<const Measure> source, target;
    std::vector<std::vector<FramePtr>> frames;  // per panel, time order
    std::vector<PanelStatus> status;            // per panel
    static RunSnapshot of(const Runner& runner);
};

// A camera as the views hold it (the GUI's exports use the on-screen one).
struct CameraState {
    double position[3] = {0, 0, 1}, focalPoint[3] = {0, 0, 0}, viewUp[3] = {0, 1, 0};
    double parallelScale = 1, viewAngle = 30;
    bool parallel = true;
    double aspect = 0;  // width / height of the viewport it was seen in (0: unknown)
    static CameraState of(vtkCamera* camera, double viewportAspect = 0);
    // Sets the camera; in a viewport of another aspect it zooms out just enough that everything the
    // original viewport showed stays in view (the same aspect: exactly the same picture).
    void applyTo(vtkCamera* camera, double viewportAspect = 0) const;
};

struct RenderSettings {
    int width = 1280, height = 720;
    double fps = 30;
    double t0 = 0, t1 = 1;  // scenario frames with t in [t0, t1]
    int panel = -1;          // -1: every panel in the compare grid; k: panel k alone
    LayerOptions layers;
    std::optional<CameraState> camera;  // none: fitted to the data (the CLI); the GUI passes its own
    double fontScale = 0;    // text and point size multiplier; 0: from the image height (exports at any size)
    ColorRanges fixedRanges; // colour ranges held fixed (a locked scale); 0: shared over the panels per frame
};

// The status line a panel shows under its view (state, NFE, straightness, divergence, or the error).
QString panelStatusText(const PanelStatus& status, const Frame* shown);
// Grid shape for n panels: one row up to 3 (no empty quadrant), then 2 columns.
void panelGrid(int n, int* rows, int* cols);

// Number of video frames renderAnimation() writes for these settings.
int renderFrameCount(const Scenario& scenario, const RenderSettings& settings);

// Renders into `path` (see AnimationWriter for the forms). progress(done, total) is called after
// every frame; returning false cancels: nothing is left at `path` and the result is false.
// Throws tl::Error (nothing left) for bad settings, panels without frames, or a write failure.
bool renderAnimation(const RunSnapshot& run, const std::string& path, const RenderSettings& settings,
                     const std::function<bool(int, int)>& progress = {});

// One picture of the run at scenario time t (each panel's last frame at or before t, as the views show
// it), settings.width x height; t0 / t1 / fps are ignored. Throws tl::Error as renderAnimation.
QImage renderPicture(const RunSnapshot& run, double t, const RenderSettings& settings);
// renderPicture written as a PNG, all or nothing (a temporary file renamed into place).
void savePicture(const RunSnapshot& run, double t, const std::string& path, const RenderSettings& settings);

}  // namespace tl::ui
