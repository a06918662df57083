#include "cli/simulate.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/stop_signals.h"
#include "engine/frame_io.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "util/error.h"
#include "util/files.h"
#include "util/quote.h"

namespace tl::cli {

namespace {

using json = nlohmann::json;

json jnum(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

const std::vector<OptionSpec> kOptions = {
    {"out", true, "output folder (must not exist or be empty, unless --force)"},
    {"threads", true, "worker threads, 0 = all cores (default 0)"},
    {"force", false,
     "replace the output of an earlier simulate run (a folder with summary.json; never the current folder, $HOME, the "
     "scenario's folder or one above them) once the new output is complete"},
    {"format", true, "frame files: csv (default), vtp (ParaView: .vtp/.vti frames + panel<k>.pvd) or both"},
};

// The summary (as printed on stdout) is also written as DIR/summary.json: it marks the folder as
// simulate's output, which --force may replace.
constexpr const char* kSummaryFile = "summary.json";

bool isSimulateOutput(const std::filesystem::path& dir) {
    try {
        const json j = json::parse(readFile((dir / kSummaryFile).string(), 64 * kMiB));
        return j.is_object() && j.contains("panels") && j["panels"].is_array() && j.contains("frames") && j.contains("scenario");
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

int cmdSimulate(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
    Args a(argv, kOptions);
    const std::string scenarioPath = onePositional(a, "simulate", "SCENARIO.json");
    const std::string outDir = a.required("out");
    const int threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    const std::string format = a.text("format", "csv");
    if (format != "csv" && format != "vtp" && format != "both")
        throw Error("--format must be csv, vtp or both (got '" + format + "')");
    const Scenario scenario = loadScenario(scenarioPath);

    // The output is assembled in a hidden folder beside --out and renamed into place when complete.
    StagedFolderOptions stageOptions;
    stageOptions.replaceNonEmpty = a.has("force");
    stageOptions.label = "--out " + tl::quotedPath(outDir);
    stageOptions.notEmptyHint = " (use --force to replace it)";
    // Never the folder holding the scenario (nor one above it), and, even with --force, only a folder
    // an earlier simulate wrote (it has a summary.json): never a folder of other files.
    stageOptions.protect.emplace_back(std::filesystem::absolute(scenarioPath).parent_path(),
                                      "the folder of the scenario file " + tl::quotedPath(scenarioPath));
    stageOptions.isOwnOutput = isSimulateOutput;
    stageOptions.notOwnHint = " and is not an earlier simulate output (no " + std::string(kSummaryFile) + "): refusing to replace it; choose a new or empty folder";
    // SIGINT / SIGTERM from before the staged folder exists until it is published: a signal at any
    // point cancels the run or the writing, and the staged folder is removed (nothing is left).
    StopSignals stopSignals;
    StagedFolder staged(outDir, stageOptions);

    Runner runner(scenario, threads);
    runner.start();
    StopSignals::wait(runner);
    if (!runner.error().empty()) throw Error(runner.error());
    for (std::size_t k = 0; k < runner.panelCount(); ++k) {
        const PanelStatus st = runner.status(k);
        if (st.state != PanelState::Done)
            throw Error("panel " + std::to_string(k) + " (" + scenario.panels[k].dynamics + "): " +
                        (st.error.empty() ? std::string(panelStateName(st.state)) : st.error));
    }

    // Frames, metrics and the scenario into the temporary folder, then publish it in one rename.
    std::vector<std::vector<FramePtr>> frames(runner.panelCount());
    for (std::size_t k = 0; k < runner.panelCount(); ++k) frames[k] = runner.history(k)->snapshot();
    json summary;
    summary["scenario"] = scenario.name;
    summary["frames"] = scenario.frames;
    summary["format"] = format;
    summary["out"] = outDir;
    json panels = json::array();
    for (std::size_t k = 0; k < frames.size(); ++k) {
        const PanelStatus st = runner.status(k);
        json pj;
        pj["panel"] = k;
        pj["dynamics"] = scenario.panels[k].dynamics;
        if (!scenario.panels[k].title.empty()) pj["title"] = scenario.panels[k].title;
        pj["particles"] = frames[k].empty() ? 0 : frames[k].front()->rows();
        pj["nfe"] = st.summary.nfe;
        pj["seconds"] = st.seconds;
        pj["final_sinkhorn_divergence"] = jnum(st.finalDivergence);
        pj["straightness"] = jnum(st.summary.straightness);
        if (!st.summary.note.empty()) pj["note"] = st.summary.note;
        if (!st.summary.warnings.empty()) {
            pj["warnings"] = st.summary.warnings;
            for (const std::string& w : st.summary.warnings) err << "warning: panel " << k << ": " << w << "\n";
        }
        for (const auto& [key, v] : st.summary.extras) pj[key] = jnum(v);
        for (const auto& [key, rows] : st.summary.tables) {
            json t = json::array();
            for (const auto& row : rows) {
                json r = json::array();
                for (double v : row) r.push_back(jnum(v));
                t.push_back(r);
            }
            pj[key] = t;
        }
        panels.push_back(pj);
    }
    summary["panels"] = panels;
    FrameDataOptions data;
    data.csv = format != "vtp";
    data.vtp = format != "csv";
    data.progress = [](double) { return !StopSignals::requested(); };
    writeFrameData(staged.path().string(), scenario, frames, data);
    // Text from the scenario (its name) may hold invalid UTF-8: replaced, so the dump cannot throw.
    const std::string summaryText = summary.dump(-1, ' ', false, json::error_handler_t::replace);
    writeFileAtomic((staged.path() / kSummaryFile).string(), summaryText + "\n");
    StopSignals::check();  // interrupted while writing: ~StagedFolder removes the partial folder
    staged.commit();
    out << summaryText << std::endl;
    return 0;
}

}  // namespace tl::cli
