#include "cli/simulate.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/stat.h>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "util/error.h"
#include "util/files.h"

namespace tl::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::atomic<bool> gInterrupted{false};
extern "C" void onSigint(int) { gInterrupted = true; }

json jnum(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

void appendNumber(std::string& s, double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
}

std::string frameCsv(const Frame& f) {
    static const char* names[3] = {"x", "y", "z"};
    std::string s;
    s.reserve(f.rows() * f.dim * 12 + 16);
    for (int k = 0; k < f.dim; ++k) {
        if (k) s += ',';
        s += names[k];
    }
    s += '\n';
    for (std::size_t i = 0; i < f.rows(); ++i) {
        for (int k = 0; k < f.dim; ++k) {
            if (k) s += ',';
            appendNumber(s, f.positions[i * f.dim + k]);
        }
        s += '\n';
    }
    return s;
}

// Removes a folder tree on scope exit unless released.
struct TempDir {
    fs::path path;
    bool keep = false;
    ~TempDir() {
        std::error_code ec;
        if (!keep && !path.empty()) fs::remove_all(path, ec);
    }
};

const std::vector<OptionSpec> kOptions = {
    {"out", true, "output folder (must not exist or be empty, unless --force)"},
    {"threads", true, "worker threads, 0 = all cores (default 0)"},
    {"force", false, "replace an existing, non-empty output folder (only once the new output is complete)"},
};

}  // namespace

int cmdSimulate(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
    Args a(argv, kOptions);
    if (a.positional().size() != 1) throw Error("simulate needs exactly one SCENARIO.json (got " + std::to_string(a.positional().size()) + ")");
    const std::string outDir = a.required("out");
    const int threads = static_cast<int>(a.integer("threads", 0, 0, 256));
    const Scenario scenario = loadScenario(a.positional().front());

    fs::path target = fs::absolute(outDir).lexically_normal();
    if (!target.has_filename()) target = target.parent_path();  // "out/" names the folder "out"
    std::error_code ec;
    const bool exists = fs::exists(target, ec);
    if (exists && !fs::is_directory(target, ec)) throw Error("--out '" + outDir + "' exists and is not a folder");
    if (exists && !fs::is_empty(target, ec) && !a.has("force"))
        throw Error("--out '" + outDir + "' exists and is not empty (use --force to replace it)");
    const fs::path parent = target.parent_path();
    if (!fs::is_directory(parent, ec)) throw Error("cannot write '" + outDir + "': folder '" + parent.string() + "' does not exist");

    TempDir tmp;
    {
        std::string tmpl = (parent / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
        if (!mkdtemp(tmpl.data())) throw Error("cannot create a temporary folder beside '" + outDir + "': " + std::strerror(errno));
        tmp.path = tmpl;
        const mode_t mask = ::umask(0);
        ::umask(mask);
        ::chmod(tmpl.c_str(), 0777 & ~mask);  // mkdtemp makes it private; the published folder should not be
    }

    gInterrupted = false;
    auto previous = std::signal(SIGINT, onSigint);
    Runner runner(scenario, threads);
    runner.start();
    while (!runner.waitIdle(std::chrono::milliseconds(100))) {
        if (gInterrupted) {
            runner.cancel();
            runner.waitIdle();
            std::signal(SIGINT, previous);
            throw Error("interrupted: nothing was written");
        }
    }
    std::signal(SIGINT, previous);
    if (!runner.error().empty()) throw Error(runner.error());
    for (std::size_t k = 0; k < runner.panelCount(); ++k) {
        const PanelStatus st = runner.status(k);
        if (st.state != PanelState::Done)
            throw Error("panel " + std::to_string(k) + " (" + scenario.panels[k].dynamics + "): " +
                        (st.error.empty() ? std::string(panelStateName(st.state)) : st.error));
    }

    // Frames and metrics into the temporary folder.
    std::vector<std::string> columns;
    std::vector<std::vector<FramePtr>> frames(runner.panelCount());
    for (std::size_t k = 0; k < runner.panelCount(); ++k) {
        frames[k] = runner.history(k)->snapshot();
        for (const auto& f : frames[k])
            for (const auto& [name, v] : f->metrics)
                if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
    }
    std::string metrics = "panel,dynamics,frame,t";
    for (const auto& c : columns) metrics += "," + c;
    metrics += "\n";
    json summary;
    summary["scenario"] = scenario.name;
    summary["frames"] = scenario.frames;
    summary["out"] = outDir;
    json panels = json::array();
    for (std::size_t k = 0; k < frames.size(); ++k) {
        const fs::path dir = tmp.path / ("panel" + std::to_string(k));
        fs::create_directory(dir, ec);
        if (ec) throw Error("cannot create '" + dir.string() + "': " + ec.message());
        for (std::size_t f = 0; f < frames[k].size(); ++f) {
            char name[32];
            std::snprintf(name, sizeof name, "frame_%04zu.csv", f);
            writeFileAtomic((dir / name).string(), frameCsv(*frames[k][f]));
            metrics += std::to_string(k) + "," + scenario.panels[k].dynamics + "," + std::to_string(f) + ",";
            appendNumber(metrics, frames[k][f]->t);
            for (const auto& c : columns) {
                metrics += ",";
                const double v = frames[k][f]->metric(c);
                if (std::isfinite(v)) appendNumber(metrics, v);
            }
            metrics += "\n";
        }
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
        panels.push_back(pj);
    }
    summary["panels"] = panels;
    writeFileAtomic((tmp.path / "metrics.csv").string(), metrics);
    writeFileAtomic((tmp.path / "scenario.json").string(), scenarioToJson(scenario));

    // Publish: the complete folder replaces the target in one rename.
    if (exists) {
        const fs::path old = parent / ("." + target.filename().string() + ".old");
        fs::remove_all(old, ec);
        fs::rename(target, old, ec);
        if (ec) throw Error("cannot replace '" + outDir + "': " + ec.message());
        fs::rename(tmp.path, target, ec);
        if (ec) {
            fs::rename(old, target, ec);
            throw Error("cannot write '" + outDir + "'");
        }
        fs::remove_all(old, ec);
    } else {
        fs::rename(tmp.path, target, ec);
        if (ec) throw Error("cannot write '" + outDir + "': " + ec.message());
    }
    tmp.keep = true;
    out << summary.dump() << std::endl;
    (void)err;
    return 0;
}

}  // namespace tl::cli
