// Frame data on disk: one frame as CSV (x,y[,z]) or VTK XML PolyData (.vtp), a ParaView .pvd time
// index, and a whole run exported into a folder that appears only when complete (no formula).
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/frame.h"
#include "engine/scenario.h"

namespace tl {

// Header x,y[,z] (by frame.dim), one row per particle in frame order, shortest round-trip doubles.
std::string frameCsv(const Frame& frame);

// VTK XML PolyData (ASCII, Float64): points (missing coordinates 0, so z = 0 for 2-D), one vertex
// cell per point, point data `weight`, and when the frame has velocities `velocity` (3 components,
// zero-padded) and `speed` (|v|); field data TimeValue = frame.t. Throws tl::Error if the frame's
// arrays are inconsistent.
std::string frameVtp(const Frame& frame);

// A ParaView collection (.pvd): one DataSet per (time, file) with timestep = time; file paths are
// written as given (relative to the .pvd), XML-escaped.
std::string pvdIndex(const std::vector<std::pair<double, std::string>>& timeAndFile);

// One row per panel and frame: panel,dynamics,frame,t,<every metric any frame has>; missing or
// non-finite values are empty cells. panels[k] belongs to scenario.panels[k].
std::string metricsCsv(const Scenario& scenario, const std::vector<std::vector<FramePtr>>& panels);

struct FrameDataOptions {
    bool csv = true;    // panel<k>/frame_<ffff>.csv (particles), panel<k>/density_<ffff>.csv (grids)
    bool vtp = false;   // panel<k>/frame_<ffff>.vtp, density_<ffff>.vti and panel<k>.pvd
    // Called after each frame with the fraction done (0..1]; returning false cancels.
    std::function<bool(double)> progress;
};

// Writes a run into the existing folder `dir`: the frames as chosen, metrics.csv (metricsCsv) and
// scenario.json (scenarioToJson). Returns false if progress cancelled (what was written stays:
// callers write into a StagedFolder). Throws tl::Error on a write failure or mismatched input.
bool writeFrameData(const std::string& dir, const Scenario& scenario, const std::vector<std::vector<FramePtr>>& panels,
                    const FrameDataOptions& options);

// The whole run into `outDir` (must not exist, or be an empty folder; its parent must exist), assembled
// in a hidden temporary folder beside it and renamed into place at the end. Returns true when written;
// false when `progress` returned false (then nothing is left). Throws tl::Error (nothing left either).
bool exportFrameData(const std::string& outDir, const Scenario& scenario, const std::vector<std::vector<FramePtr>>& panels,
                     bool csv, bool vtp, const std::function<bool(double)>& progress = {});

}  // namespace tl
