// Scenario files (a contract): a JSON document naming the source and (optional) target SPECs, the
// number of frames (uniform times from 0 to `duration`) and the panels, each a dynamics plus that
// dynamics' declared parameters. Unknown keys and out-of-range values are errors naming the key.
#pragma once
#include <string>
#include <vector>

#include "engine/params.h"

namespace tl {

struct PanelSpec {
    std::string dynamics;
    std::string title;  // optional, shown by the GUI
    ParamValues params;
};

// A measure observed at a time (trajectory inference, science.md §4 / survey §5.4).
struct SnapshotSpec {
    double time = 0;
    std::string measure;  // SPEC or CSV path
};

struct Scenario {
    std::string name;         // defaults to the file name
    std::string description;
    std::string source, target;  // target may be empty: then only target-free dynamics can run
    int frames = 61;
    double duration = 1;          // frames at t_k = k * duration / (frames - 1)
    std::vector<SnapshotSpec> snapshots;  // optional; increasing times; `source` defaults to the first
    double divergenceEpsilon = 0.05;  // Sinkhorn divergence metric, absolute
    long divergenceSamples = 1500;    // ... estimated on at most this many particles per measure (0 = all)
    std::vector<PanelSpec> panels;
    std::string baseDir;      // relative CSV / image paths resolve here

    std::vector<double> times() const;
};

constexpr int kMaxPanels = 8;

// Parses and validates; `context` names the document in messages (e.g. the path).
// Throws tl::Error naming the panel and the key when a panel's dynamics needs a target (or
// snapshots) and the scenario has none (parseScenario checks it; the runner too).
void checkTargets(const Scenario& s, const std::string& context);
Scenario parseScenario(const std::string& json, const std::string& baseDir, const std::string& context);
Scenario loadScenario(const std::string& path);
std::string scenarioToJson(const Scenario& s);
void saveScenario(const std::string& path, const Scenario& s);

// Markdown reference of the scenario format, generated from the declarations.
std::string scenarioReferenceMarkdown();

}  // namespace tl
