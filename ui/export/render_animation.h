// Offscreen rendering of a finished run into an animation: the same PanelScene layers as the window,
// in a grid of viewports of a hidden VTK window, one image per scenario frame, through AnimationWriter
// (MP4 / GIF / PNG sequence). Shared by the GUI's export (Ctrl+E) and `transportlab-cli render`.
// GUI thread only (VTK); needs an X server.
#pragma once
#include <QString>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/frame.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "scene/panel_scene.h"

namespace tl::ui {

// What an export needs of a run, copied out of the Runner (frames are shared, immutable).
struct RunSnapshot {
    Scenario scenario;
    std::shared_ptr<const Measure> source, target;
    std::vector<std::vector<FramePtr>> frames;  // per panel, time order
    std::vector<PanelStatus> status;            // per panel
    static RunSnapshot of(const Runner& runner);
};

struct RenderSettings {
    int width = 1280, height = 720;
    double fps = 30;
    double t0 = 0, t1 = 1;  // scenario frames with t in [t0, t1]
    int panel = -1;          // -1: every panel in the compare grid; k: panel k alone
    LayerOptions layers;
};

// The status line a panel shows under its view (state, NFE, straightness, divergence, or the error).
QString panelStatusText(const PanelStatus& status, const Frame* shown);
// Grid shape for n panels: 1 x n up to 2, then 2 columns.
void panelGrid(int n, int* rows, int* cols);

// Number of video frames renderAnimation() writes for these settings.
int renderFrameCount(const Scenario& scenario, const RenderSettings& settings);

// Renders into `path` (see AnimationWriter for the forms). progress(done, total) is called after
// every frame; returning false cancels: nothing is left at `path` and the result is false.
// Throws tl::Error (nothing left) for bad settings, panels without frames, or a write failure.
bool renderAnimation(const RunSnapshot& run, const std::string& path, const RenderSettings& settings,
                     const std::function<bool(int, int)>& progress = {});

}  // namespace tl::ui
