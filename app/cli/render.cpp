// `render`: runs a scenario, then renders its panels offscreen with the GUI's layers (PanelScene in a
// hidden VTK window; needs an X server such as Xvfb) into one video frame per scenario frame.
#include "cli/render.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/stop_signals.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "export/animation_writer.h"
#include "export/render_animation.h"
#include "scene/layers.h"
#include "util/error.h"
#include "util/quote.h"

#include <xcb/xcb.h>

namespace tl::cli {

namespace {
constexpr const char* kDefaultLayers = "particles,trajectories,ellipses,target";
const std::vector<OptionSpec> kRenderOptions = {
    {"out", true, "FILE.mp4 (H.264), FILE.gif, or DIR/ for one PNG per frame"},
    {"width", true, "image width in pixels (default 1280; even for MP4)"},
    {"height", true, "image height in pixels (default 720; even for MP4)"},
    {"fps", true, "frames per second of the video (default 30)"},
    {"panel", true, "render only panel K (1-based; default: all panels in the compare grid)"},
    {"layers", true, "comma list of " + ui::layerNames() + " (default " + std::string(kDefaultLayers) + ")"},
    {"color", true, "particle colours: position | speed | label | uniform (default position)"},
    {"threads", true, "worker threads, 0 = all cores (default 0)"},
};

// Throws tl::Error (one line) unless an X server accepts a connection at $DISPLAY. VTK's X window
// would otherwise print a log and abort() mid-way. xcb_connect prints nothing, fails at once when no
// local server listens, and checks the authorisation and the screen number as VTK's XOpenDisplay would.
void requireDisplay() {
    const char* display = std::getenv("DISPLAY");
    if (!display || !*display) throw Error("render needs an X server (DISPLAY is not set); run under xvfb-run -a");
    int screen = 0;
    xcb_connection_t* c = xcb_connect(display, &screen);
    const int status = xcb_connection_has_error(c);
    xcb_disconnect(c);  // also frees a connection in the error state
    if (status == 0) return;
    const char* why = status == XCB_CONN_CLOSED_PARSE_ERR       ? "not a valid display name"
                      : status == XCB_CONN_CLOSED_INVALID_SCREEN ? "the X server has no such screen"
                                                                  : "no X server accepts a connection there";
    throw Error("render needs an X server: cannot open DISPLAY " + tl::quoted(display) + " (" + why + "); run under xvfb-run -a");
}


}  // namespace

int cmdRender(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
    Args a(argv, kRenderOptions);
    const std::string scenarioPath = onePositional(a, "render", "SCENARIO.json");
    ui::RenderSettings s;
    const std::string path = a.required("out");
    s.width = static_cast<int>(a.integer("width", 1280, 16, 8192));
    s.height = static_cast<int>(a.integer("height", 720, 16, 8192));
    s.fps = a.real("fps", 30, 0.1, 240);
    s.panel = static_cast<int>(a.integer("panel", 0, 0, kMaxPanels)) - 1;
    s.layers = ui::layerOptionsFromText(a.text("layers", kDefaultLayers), a.text("color", "position"));
    const int threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    // The X server first (VTK aborts the process, leaving a temporary file, when it cannot connect).
    requireDisplay();
    const Scenario scenario = loadScenario(scenarioPath);
    if (s.panel >= static_cast<int>(scenario.panels.size()))
        throw Error("--panel " + std::to_string(s.panel + 1) + ": the scenario has " + std::to_string(scenario.panels.size()) + " panels");
    // Fail before computing: the output form, an even size for H.264, an existing parent folder.
    const ui::AnimationFormat format = ui::AnimationWriter::formatFor(path);
    if (format == ui::AnimationFormat::Mp4 && (s.width % 2 || s.height % 2))
        throw Error("--width and --height must be even for MP4 (got " + std::to_string(s.width) + "x" + std::to_string(s.height) + ")");
    {
        std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
        if (!p.has_filename()) p = p.parent_path();
        std::error_code ec;
        if (!std::filesystem::is_directory(p.parent_path(), ec))
            throw Error("cannot write '" + path + "': folder '" + p.parent_path().string() + "' does not exist");
    }

    StopSignals stopSignals;  // SIGINT / SIGTERM: cancel the run or the encoding; nothing is left
    const auto t0 = std::chrono::steady_clock::now();
    Runner runner(scenario, threads);
    runner.start();
    StopSignals::wait(runner);
    if (!runner.error().empty()) throw Error(runner.error());
    for (std::size_t k = 0; k < runner.panelCount(); ++k) {
        const PanelStatus st = runner.status(k);
        if (st.state != PanelState::Done && (s.panel < 0 || s.panel == static_cast<int>(k)))
            throw Error("panel " + std::to_string(k + 1) + " (" + scenario.panels[k].dynamics + "): " +
                        (st.error.empty() ? std::string(panelStateName(st.state)) : st.error));
    }
    const auto t1 = std::chrono::steady_clock::now();
    const ui::RunSnapshot run = ui::RunSnapshot::of(runner);
    const bool ok = ui::renderAnimation(run, path, s, [](int, int) { return !StopSignals::requested(); });
    if (!ok) {
        StopSignals::check();  // a signal: Interrupted (exit 130 / 143)
        throw Error("interrupted: nothing was written");
    }
    const auto t2 = std::chrono::steady_clock::now();
    const double renderSeconds = std::chrono::duration<double>(t2 - t1).count();
    const int frames = ui::renderFrameCount(scenario, s);
    nlohmann::json j;
    j["out"] = path;
    j["frames"] = frames;
    j["width"] = s.width;
    j["height"] = s.height;
    j["fps"] = s.fps;
    j["compute_seconds"] = std::chrono::duration<double>(t1 - t0).count();
    j["render_seconds"] = renderSeconds;
    j["frames_per_second"] = renderSeconds > 0 ? frames / renderSeconds : 0.0;
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;  // user text may be invalid UTF-8
    (void)err;
    return 0;
}

}  // namespace tl::cli
