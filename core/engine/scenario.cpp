#include "engine/scenario.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "engine/dynamics.h"
#include "util/error.h"
#include "util/files.h"
#include "util/quote.h"

namespace tl {

using json = nlohmann::json;

std::vector<double> Scenario::times() const {
    std::vector<double> t(frames);
    for (int k = 0; k < frames; ++k) t[k] = frames == 1 ? 0.0 : duration * static_cast<double>(k) / (frames - 1);
    if (frames > 1) t.back() = duration;
    return t;
}

namespace {

ParamValue fromJson(const json& v) {
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number_integer()) return v.get<long long>();
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) return v.get<std::string>();
    return std::string("<" + std::string(v.type_name()) + ">");
}

json toJson(const ParamValue& v) {
    if (auto p = std::get_if<double>(&v)) return *p;
    if (auto p = std::get_if<long long>(&v)) return *p;
    if (auto p = std::get_if<std::string>(&v)) return *p;
    return std::get<bool>(v);
}

}  // namespace

Scenario parseScenario(const std::string& text, const std::string& baseDir, const std::string& context) {
    json doc;
    // A key given twice in one object is an error (JSON parsers keep the last one silently).
    std::vector<std::set<std::string>> seen;
    std::string duplicate;
    const json::parser_callback_t noDuplicates = [&](int, json::parse_event_t event, json& parsed) {
        if (event == json::parse_event_t::object_start) seen.emplace_back();
        else if (event == json::parse_event_t::object_end && !seen.empty()) seen.pop_back();
        else if (event == json::parse_event_t::key && !seen.empty() && duplicate.empty() && !seen.back().insert(parsed.get<std::string>()).second)
            duplicate = parsed.get<std::string>();
        return true;
    };
    try {
        doc = json::parse(text, noDuplicates);
    } catch (const json::exception& e) {  // parse errors and number overflows alike name the file
        throw Error(context + ": not valid JSON (" + tl::oneLine(e.what(), 300) + ")");  // its excerpt is user text
    }
    if (!duplicate.empty()) throw Error(context + ": key " + tl::quoted(duplicate) + " is given twice");
    if (!doc.is_object()) throw Error(context + ": a scenario must be a JSON object");
    Scenario s;
    s.baseDir = baseDir;
    s.name = std::filesystem::path(context).stem().string();
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const std::string& key = it.key();
        const json& v = it.value();
        auto needString = [&] {
            if (!v.is_string()) throw Error(context + ": key '" + key + "' must be a string");
            return v.get<std::string>();
        };
        if (key == "source") s.source = needString();
        else if (key == "target") s.target = needString();
        else if (key == "name") s.name = needString();
        else if (key == "description") s.description = needString();
        else if (key == "frames") {
            // one rule for integers everywhere (as for integer parameters): 61 and 61.0 alike
            const double f = v.is_number() ? v.get<double>() : 0.0;
            if (!v.is_number() || f != std::floor(f) || f < 2 || f > 10000)
                throw Error(context + ": key 'frames' must be an integer in [2, 10000]");
            s.frames = static_cast<int>(f);
        } else if (key == "snapshots") {
            if (!v.is_array() || v.size() < 2) throw Error(context + ": key 'snapshots' must be a list of at least 2 {\"time\": t, \"measure\": SPEC}");
            if (v.size() > 1000) throw Error(context + ": key 'snapshots' has more than 1000 entries");
            for (std::size_t k = 0; k < v.size(); ++k) {
                const json& e = v[k];
                const std::string where = context + ": key 'snapshots' entry " + std::to_string(k);
                if (!e.is_object() || !e.contains("time") || !e.contains("measure") || e.size() != 2)
                    throw Error(where + " must be {\"time\": t, \"measure\": SPEC}");
                if (!e["time"].is_number() || !std::isfinite(e["time"].get<double>())) throw Error(where + ": 'time' must be a finite number");
                if (!e["measure"].is_string() || e["measure"].get<std::string>().empty()) throw Error(where + ": 'measure' must be a SPEC string");
                SnapshotSpec sp{e["time"].get<double>(), e["measure"].get<std::string>()};
                if (!s.snapshots.empty() && !(sp.time > s.snapshots.back().time))
                    throw Error(where + ": times must increase (" + std::to_string(sp.time) + " after " + std::to_string(s.snapshots.back().time) + ")");
                s.snapshots.push_back(sp);
            }
        } else if (key == "duration") {
            if (!v.is_number() || !(v.get<double>() > 0) || !(v.get<double>() <= 1e6))
                throw Error(context + ": key 'duration' must be a number in (0, 1e6]");
            s.duration = v.get<double>();
        } else if (key == "divergence_epsilon") {
            if (!v.is_number() || !(v.get<double>() > 0) || v.get<double>() > 1e6)
                throw Error(context + ": key 'divergence_epsilon' must be a number in (0, 1e6]");
            s.divergenceEpsilon = v.get<double>();
        } else if (key == "divergence_samples") {
            const double k = v.is_number() ? v.get<double>() : -1.0;
            if (!v.is_number() || k != std::floor(k) || k < 0 || k > 1e8)
                throw Error(context + ": key 'divergence_samples' must be a whole number in [0, 1e8] (0 = every particle)");
            s.divergenceSamples = static_cast<long>(v.get<double>());
        } else if (key == "panels") {
            if (!v.is_array() || v.empty()) throw Error(context + ": key 'panels' must be a non-empty array");
            if (v.size() > static_cast<std::size_t>(kMaxPanels))
                throw Error(context + ": key 'panels' has " + std::to_string(v.size()) + " panels (at most " + std::to_string(kMaxPanels) + ")");
            for (std::size_t k = 0; k < v.size(); ++k) {
                const json& pj = v[k];
                const std::string where = context + ": panel " + std::to_string(k);
                if (!pj.is_object()) throw Error(where + " must be an object");
                if (!pj.contains("dynamics") || !pj["dynamics"].is_string()) throw Error(where + ": key 'dynamics' (a string) is required");
                const DynamicsInfo* found = nullptr;
                try {
                    found = &findDynamics(pj["dynamics"].get<std::string>());
                } catch (const Error& e) {
                    throw Error(where + ": " + e.what());
                }
                const DynamicsInfo& info = *found;
                PanelSpec panel;
                panel.dynamics = info.name;
                panel.params = defaultParams(info.params);
                const std::string pctx = where + " (" + info.name + ")";
                for (auto pit = pj.begin(); pit != pj.end(); ++pit) {
                    if (pit.key() == "dynamics") continue;
                    if (pit.key() == "title") {
                        if (!pit.value().is_string()) throw Error(pctx + ": key 'title' must be a string");
                        panel.title = pit.value().get<std::string>();
                        continue;
                    }
                    const ParamSpec* spec = nullptr;
                    for (const auto& ps : info.params)
                        if (ps.name == pit.key()) spec = &ps;
                    if (!spec) {
                        std::string known = "dynamics, title";
                        for (const auto& ps : info.params) known += ", " + ps.name;
                        throw Error(pctx + ": unknown key " + tl::quoted(pit.key()) + " (known: " + known + ")");
                    }
                    panel.params.set(spec->name, checkParam(*spec, fromJson(pit.value()), pctx));
                }
                if (info.validate) info.validate(panel.params, pctx);
                s.panels.push_back(std::move(panel));
            }
        } else {
            throw Error(context + ": unknown key " + tl::quoted(key) + " (known: name, description, source, target, snapshots, frames, duration, divergence_epsilon, divergence_samples, panels)");
        }
    }
    if (s.source.empty() && !s.snapshots.empty()) s.source = s.snapshots.front().measure;
    if (s.source.empty()) throw Error(context + ": key 'source' (a measure SPEC) is required");
    if (s.panels.empty()) throw Error(context + ": key 'panels' is required");
    checkTargets(s, context);
    return s;
}

void checkTargets(const Scenario& s, const std::string& context) {
    for (std::size_t k = 0; k < s.panels.size(); ++k) {
        const DynamicsInfo& info = findDynamics(s.panels[k].dynamics);
        if (info.needsTarget && s.target.empty())
            throw Error(context + ": panel " + std::to_string(k) + " (" + s.panels[k].dynamics + ") needs key 'target' (a measure SPEC)");
        if (info.needsSnapshots && s.snapshots.size() < 2)
            throw Error(context + ": panel " + std::to_string(k) + " (" + s.panels[k].dynamics + ") needs key 'snapshots' (at least 2)");
    }
}

Scenario loadScenario(const std::string& path) {
    const std::string text = readFile(path);
    const auto parent = std::filesystem::path(path).parent_path();
    return parseScenario(text, parent.empty() ? std::string(".") : parent.string(), path);
}

std::string scenarioToJson(const Scenario& s) {
    json doc;
    doc["name"] = s.name;
    if (!s.description.empty()) doc["description"] = s.description;
    doc["source"] = s.source;
    if (!s.target.empty()) doc["target"] = s.target;
    doc["frames"] = s.frames;
    if (s.duration != 1) doc["duration"] = s.duration;
    if (!s.snapshots.empty()) {
        json snaps = json::array();
        for (const auto& sp : s.snapshots) snaps.push_back({{"time", sp.time}, {"measure", sp.measure}});
        doc["snapshots"] = snaps;
    }
    doc["divergence_epsilon"] = s.divergenceEpsilon;
    doc["divergence_samples"] = s.divergenceSamples;
    json panels = json::array();
    for (const auto& p : s.panels) {
        json pj;
        pj["dynamics"] = p.dynamics;
        if (!p.title.empty()) pj["title"] = p.title;
        for (const auto& [k, v] : p.params.all()) pj[k] = toJson(v);
        panels.push_back(pj);
    }
    doc["panels"] = panels;
    return doc.dump(2) + "\n";
}

void saveScenario(const std::string& path, const Scenario& s) { writeFileAtomic(path, scenarioToJson(s)); }

std::string scenarioReferenceMarkdown() {
    std::ostringstream os;
    os << "| key | meaning |\n|---|---|\n"
       << "| `source`, `target` | measure SPEC strings; relative CSV/image paths resolve against the scenario's folder. `source` is "
          "required; `target` only when a panel's dynamics needs one (marked below) |\n"
       << "| `frames` | number of frames including t = 0 and t = `duration`, uniform in time (default 61, 2 … 10000) |\n"
       << "| `snapshots` | optional list of `{\"time\": t, \"measure\": SPEC}` (at least 2, increasing times): observed populations "
          "for trajectory inference; `source` defaults to the first |\n"
       << "| `duration` | the time horizon T > 0: frames at t_k = k·T/(frames − 1) (default 1; dynamics that need a target go from "
          "source to target over [0, T]) |\n"
       << "| `panels` | 1 … " << kMaxPanels << " panels, each `{\"dynamics\": NAME, \"title\": optional, …parameters}` |\n"
       << "| `name`, `description` | optional text (name defaults to the file name) |\n"
       << "| `divergence_epsilon` | epsilon of the Sinkhorn-divergence metric, absolute (default 0.05; marginal tolerance 1e-3) |\n"
       << "| `divergence_samples` | the metric is estimated on at most this many particles of each measure (a fixed pseudo-random subset) (default "
       << Scenario{}.divergenceSamples << "; 0 = all): a display metric, computed after the frames |\n";
    for (const auto& d : dynamicsRegistry()) {
        os << "\n### `" << d.name << "`\n\n" << d.help << ".\n\n"
           << (d.needsSnapshots ? "Needs `snapshots`.\n\n" : d.needsTarget ? "Needs a `target`.\n\n" : "Needs no `target`.\n\n")
           << paramsMarkdown(d.params);
    }
    return os.str();
}

}  // namespace tl
