#include "cli/sweep.h"
#include "cli/stop_signals.h"

#include <QBuffer>
#include <QByteArray>
#include <QColor>
#include <QCoreApplication>
#include <QFont>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QString>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <utility>

#include "cli/args.h"
#include "engine/dynamics.h"
#include "engine/runner.h"
#include "engine/scenario.h"
#include "measure/csv.h"
#include "measure/spec.h"
#include "util/error.h"
#include "util/files.h"
#include "util/parallel.h"

namespace tl::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr long long kMaxValues = 10000;
constexpr int kPngWidth = 960, kPngHeight = 600;

// ---------------------------------------------------------------------------------------------- signals

// SIGINT and SIGTERM: StopSignals (cli/stop_signals.h), shared with simulate.


// ---------------------------------------------------------------------------------------------- text

// Shortest text that reads back as the same double.
std::string num(double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

// v rounded to 15 significant digits: 0.1 + 0.1 * 1 / 3 * 3 style noise is dropped (0.30000000000000004 -> 0.3).
double tidy(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    double r = v;
    return parseNumber(buf, r) ? r : v;
}

std::string label(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// A word for a POSIX shell command line: as is when it is plain, else single-quoted.
std::string shellWord(const std::string& s) {
    const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || std::string_view("_.,:=+-/%@").find(static_cast<char>(c)) != std::string_view::npos;
    });
    if (plain) return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::vector<std::string> splitOn(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t p = s.find(sep, start);
        parts.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
        if (p == std::string::npos) return parts;
        start = p + 1;
    }
}

std::string absolutePath(const std::string& path, const std::string& baseDir) {
    return fs::absolute(fs::path(resolvePath(path, baseDir))).lexically_normal().string();
}

// ---------------------------------------------------------------------------------------------- options

const std::vector<OptionSpec> kOptions = {
    {"panel", true, "panel K of the scenario to run (default 0 when the scenario has one panel)"},
    {"vary", true,
     "KEY=FROM:TO:COUNT: COUNT values of the panel's number or integer parameter KEY, evenly spaced from FROM to TO "
     "inclusive (integers rounded, repeats dropped; COUNT 1 needs FROM = TO)"},
    {"metric", true, "the per-frame metric to record, e.g. energy, mean_radius, cov_xx, sinkhorn_divergence, clusters, loss"},
    {"out", true, "output CSV: header value,t,<metric>, one row per value and frame (values ascending, frames in time order)"},
    {"png", true, "also write a heat map (value up, t across, colour = metric, viridis) as a 960 x 600 PNG"},
    {"threads", true, "worker threads in all, 0 = all cores (default 0), shared by the parallel runs; with --emit-jobs: per job (default 1)"},
    {"jobs", true, "runs at a time (default: one per thread of --threads, at most the number of values)"},
    {"emit-jobs", true,
     "DIR: run nothing; write DIR/job_<iii>.json (one-panel scenarios), commands.txt (GNU parallel), sweep.slurm "
     "(Slurm job array) and HOW.txt (how to run and merge)"},
    {"merge", true, "OUT.csv: merge the per-job CSVs given as arguments (same header) into OUT.csv, sorted by value then t"},
    {"help", false, "this text"},
};

// Output files are checked before anything runs: a typo must not cost a whole sweep.
void checkOutputFile(const std::string& path, const std::string& option) {
    const fs::path p = fs::absolute(fs::path(path));
    std::error_code ec;
    if (fs::is_directory(p, ec)) throw Error(option + " '" + path + "' is a folder, not a file");
    const fs::path parent = p.parent_path();
    if (!fs::is_directory(parent, ec)) throw Error(option + " '" + path + "': folder '" + parent.string() + "' does not exist");
}

// ---------------------------------------------------------------------------------------------- the plan

struct Vary {
    std::string key;
    double from = 0, to = 0;
    long long count = 0;
};

Vary parseVary(const std::string& text) {
    const std::string form = "--vary must be KEY=FROM:TO:COUNT, e.g. tau=0.01:0.1:10 (got '" + text + "')";
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw Error(form);
    Vary v;
    v.key = text.substr(0, eq);
    const std::vector<std::string> parts = splitOn(text.substr(eq + 1), ':');
    if (parts.size() != 3) throw Error(form);
    if (!parseNumber(parts[0], v.from)) throw Error("--vary: FROM '" + parts[0] + "' is not a finite number (" + form.substr(7) + ")");
    if (!parseNumber(parts[1], v.to)) throw Error("--vary: TO '" + parts[1] + "' is not a finite number (" + form.substr(7) + ")");
    double c = 0;
    if (!parseNumber(parts[2], c) || c != std::floor(c) || c < 1 || c > static_cast<double>(kMaxValues))
        throw Error("--vary: COUNT must be an integer in [1, " + std::to_string(kMaxValues) + "] (got '" + parts[2] + "')");
    v.count = static_cast<long long>(c);
    if (v.count == 1 && v.from != v.to) throw Error("--vary: COUNT 1 needs FROM = TO (got " + parts[0] + ":" + parts[1] + ":1)");
    return v;
}

const char* typeWord(ParamType t) {
    if (t == ParamType::Choice) return "a choice";
    if (t == ParamType::Boolean) return "a boolean";
    return "not a number";
}

// One panel of a scenario, one parameter and its values, each checked like a scenario file's value.
struct Plan {
    std::string scenarioPath;
    Scenario scenario;          // as loaded
    std::size_t panel = 0;
    const DynamicsInfo* info = nullptr;
    const ParamSpec* spec = nullptr;
    std::vector<double> values;           // ascending, distinct
    std::vector<std::string> valueText;   // as written into the CSV and the job commands
    std::vector<ParamValues> params;      // the panel's parameters for each value
    std::string metric;

    std::string key() const { return spec->name; }
    std::string where() const { return "panel " + std::to_string(panel) + " (" + scenario.panels[panel].dynamics + ")"; }
    // The one-panel scenario for value i.
    Scenario scenarioFor(std::size_t i) const {
        Scenario s = scenario;
        PanelSpec p = scenario.panels[panel];
        p.params = params[i];
        s.panels = {p};
        return s;
    }
};

Plan makePlan(const Args& a, const std::string& scenarioPath) {
    Plan plan;
    plan.scenarioPath = scenarioPath;
    const Vary vary = parseVary(a.required("vary"));
    plan.metric = a.required("metric");
    for (unsigned char c : plan.metric)
        if (c <= ' ' || c == ',' || c == '"' || c == 0x7f) throw Error("--metric must be a metric name such as energy or cov_xx (got '" + plan.metric + "')");
    plan.scenario = loadScenario(scenarioPath);
    const std::size_t panels = plan.scenario.panels.size();
    if (!a.has("panel") && panels > 1)
        throw Error("the scenario has " + std::to_string(panels) + " panels: choose one with --panel K (0 ... " + std::to_string(panels - 1) + ")");
    const long long k = a.integer("panel", 0, 0, 1'000'000);
    if (k >= static_cast<long long>(panels))
        throw Error("--panel " + std::to_string(k) + ": the scenario has " + std::to_string(panels) + " panel" + (panels == 1 ? "" : "s") + " (0 ... " +
                    std::to_string(panels - 1) + ")");
    plan.panel = static_cast<std::size_t>(k);
    const PanelSpec& panel = plan.scenario.panels[plan.panel];
    plan.info = &findDynamics(panel.dynamics);
    for (const auto& ps : plan.info->params)
        if (ps.name == vary.key) plan.spec = &ps;
    if (!plan.spec) {
        std::string numeric;
        for (const auto& ps : plan.info->params)
            if (ps.type == ParamType::Real || ps.type == ParamType::Integer) numeric += (numeric.empty() ? "" : ", ") + ps.name;
        throw Error("--vary: " + plan.where() + " has no parameter '" + vary.key + "' (number and integer keys: " + numeric + ")");
    }
    const bool integer = plan.spec->type == ParamType::Integer;
    if (!integer && plan.spec->type != ParamType::Real)
        throw Error("--vary: key '" + vary.key + "' of " + plan.where() + " is " + typeWord(plan.spec->type) +
                    "; only number and integer keys can be varied (set it in the scenario instead)");

    std::vector<double> values;
    for (long long i = 0; i < vary.count; ++i) {
        double v = vary.count == 1 ? vary.from : vary.from + (vary.to - vary.from) * (static_cast<double>(i) / static_cast<double>(vary.count - 1));
        if (i == vary.count - 1) v = vary.to;
        v = integer ? std::round(v) : (i == 0 ? vary.from : i == vary.count - 1 ? vary.to : tidy(v));
        values.push_back(v);
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());

    const std::string ctx = "--vary: " + plan.where();
    for (double v : values) {
        ParamValue pv = integer ? ParamValue(static_cast<long long>(std::clamp(v, -9e15, 9e15))) : ParamValue(v);
        pv = checkParam(*plan.spec, pv, ctx);  // out of range: "--vary: panel 0 (gradient-flow): key 'tau' must be in [...] (got ...)"
        ParamValues params = panel.params;
        params.set(plan.spec->name, pv);
        if (plan.info->validate) plan.info->validate(params, ctx);
        plan.values.push_back(v);
        plan.valueText.push_back(integer ? std::to_string(std::get<long long>(pv)) : num(v));
        plan.params.push_back(std::move(params));
    }
    return plan;
}

// ---------------------------------------------------------------------------------------------- runs

// One value's metric over the frames.
struct Series {
    double value = 0;
    std::vector<double> t, m;
};

// Cancels every run when it goes out of scope (an error, an interrupt), all first, then joins them.
struct ActiveRuns {
    std::vector<std::pair<std::size_t, std::unique_ptr<Runner>>> runs;
    ~ActiveRuns() { stopAll(); }
    void stopAll() {
        for (auto& r : runs) r.second->cancel();
        runs.clear();  // ~Runner joins
    }
};

struct Wake {
    std::mutex m;
    std::condition_variable cv;
    std::uint64_t seq = 0;
    void ping() {
        {
            std::lock_guard<std::mutex> lk(m);
            ++seq;
        }
        cv.notify_all();
    }
};

Series harvest(const Plan& plan, std::size_t i, const Runner& runner) {
    const std::string who = plan.key() + "=" + plan.valueText[i];
    if (!runner.error().empty()) throw Error(who + ": " + runner.error());
    const PanelStatus st = runner.status(0);
    if (st.state != PanelState::Done)
        throw Error(who + ": " + plan.where() + ": " + (st.error.empty() ? std::string(panelStateName(st.state)) : st.error));
    Series s;
    s.value = plan.values[i];
    bool found = false;
    std::vector<std::string> names;
    for (const FramePtr& f : runner.history(0)->snapshot()) {
        s.t.push_back(f->t);
        double v = std::numeric_limits<double>::quiet_NaN();
        for (const auto& [name, x] : f->metrics) {
            if (name == plan.metric) {
                v = x;
                found = true;
            }
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
        }
        s.m.push_back(v);
    }
    if (!found) {
        std::string known;
        for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
        throw Error("--metric: no frame of " + plan.where() + " has a metric '" + plan.metric + "' (available: " + (known.empty() ? "none" : known) + ")");
    }
    return s;
}

std::vector<Series> runAll(const Plan& plan, int jobs, int threadsPerRun) {
    const std::size_t n = plan.values.size();
    std::vector<Series> results(n);
    auto wake = std::make_shared<Wake>();
    ActiveRuns active;
    std::size_t next = 0, finished = 0;
    std::uint64_t seen = 0;
    while (finished < n) {
        while (active.runs.size() < static_cast<std::size_t>(jobs) && next < n) {
            auto runner = std::make_unique<Runner>(plan.scenarioFor(next), threadsPerRun);
            runner->setUpdateCallback([wake] { wake->ping(); });
            runner->start();
            active.runs.emplace_back(next++, std::move(runner));
        }
        {
            std::unique_lock<std::mutex> lk(wake->m);
            wake->cv.wait_for(lk, std::chrono::milliseconds(50), [&] { return wake->seq != seen; });
            seen = wake->seq;
        }
        StopSignals::check();  // ~ActiveRuns cancels the runs
        for (auto it = active.runs.begin(); it != active.runs.end();) {
            if (!it->second->waitIdle(std::chrono::milliseconds(0))) {
                ++it;
                continue;
            }
            results[it->first] = harvest(plan, it->first, *it->second);
            it = active.runs.erase(it);
            ++finished;
        }
    }
    return results;
}

std::string sweepCsv(const std::string& metric, const std::vector<std::string>& valueText, const std::vector<Series>& series) {
    std::string s = "value,t," + metric + "\n";
    for (std::size_t i = 0; i < series.size(); ++i)
        for (std::size_t f = 0; f < series[i].t.size(); ++f) {
            s += valueText[i];
            s += ',';
            s += num(series[i].t[f]);
            s += ',';
            if (std::isfinite(series[i].m[f])) s += num(series[i].m[f]);
            s += '\n';
        }
    return s;
}

// ---------------------------------------------------------------------------------------------- heat map

// viridis (matplotlib), 9 stops, interpolated linearly in sRGB.
QRgb viridis(double x) {
    static const unsigned char stops[9][3] = {{68, 1, 84},    {72, 40, 120},  {62, 73, 137},  {49, 104, 142}, {38, 130, 142},
                                              {31, 158, 137}, {53, 183, 121}, {110, 206, 88}, {253, 231, 37}};
    x = std::clamp(x, 0.0, 1.0) * 8;
    const int k = std::min(7, static_cast<int>(x));
    const double f = x - k;
    auto mix = [&](int c) { return static_cast<int>(std::lround(stops[k][c] + f * (stops[k + 1][c] - stops[k][c]))); };
    return qRgb(mix(0), mix(1), mix(2));
}

// Value on the y axis (ascending upward, one band per value), t on the x axis (one column per frame),
// colour = metric (viridis over its finite range; grey = no value), a colour bar, min/max labels.
QByteArray heatMapPng(const std::vector<Series>& series, const std::string& yLabel, const std::string& metric) {
    // Text needs fonts, fonts need a QGuiApplication: an offscreen one, for the length of this call.
    std::unique_ptr<QGuiApplication> app;
    bool text = true;
    if (!QCoreApplication::instance()) {
        static int argc = 3;
        static char a0[] = "transportlab-cli", a1[] = "-platform", a2[] = "offscreen";
        static char* argv[] = {a0, a1, a2, nullptr};
        app = std::make_unique<QGuiApplication>(argc, argv);
    } else if (!qobject_cast<QGuiApplication*>(QCoreApplication::instance())) {
        text = false;  // a non-GUI application exists (in-process use): no fonts, no text
    }

    double lo = std::numeric_limits<double>::infinity(), hi = -lo, tMin = lo, tMax = -lo;
    std::size_t columns = 0;
    bool missing = false;
    for (const auto& s : series) {
        columns = std::max(columns, s.t.size());
        for (std::size_t f = 0; f < s.t.size(); ++f) {
            tMin = std::min(tMin, s.t[f]);
            tMax = std::max(tMax, s.t[f]);
            if (std::isfinite(s.m[f])) {
                lo = std::min(lo, s.m[f]);
                hi = std::max(hi, s.m[f]);
            } else {
                missing = true;
            }
        }
    }
    const bool anyValue = std::isfinite(lo);
    auto colour = [&](double v) -> QRgb {
        if (!std::isfinite(v)) return qRgb(200, 200, 200);
        return viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5);
    };

    QImage img(kPngWidth, kPngHeight, QImage::Format_RGB32);
    img.fill(Qt::white);
    const int x0 = 100, y0 = 50, w = kPngWidth - x0 - 170, h = kPngHeight - y0 - 70;
    const std::size_t rows = series.size();
    for (int py = 0; py < h; ++py) {
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(y0 + py));
        const std::size_t r = rows == 0 ? 0 : std::min(rows - 1, static_cast<std::size_t>(h - 1 - py) * rows / static_cast<std::size_t>(h));
        for (int px = 0; px < w; ++px) {
            double v = std::numeric_limits<double>::quiet_NaN();
            if (rows > 0 && columns > 0) {
                const std::size_t c = static_cast<std::size_t>(px) * columns / static_cast<std::size_t>(w);
                if (c < series[r].m.size()) v = series[r].m[c];
            }
            line[x0 + px] = colour(v);
        }
    }
    const int bx = x0 + w + 30, bw = 22;
    for (int py = 0; py < h; ++py) {
        auto* line = reinterpret_cast<QRgb*>(img.scanLine(y0 + py));
        const QRgb c = anyValue ? viridis(1.0 - static_cast<double>(py) / (h - 1)) : qRgb(200, 200, 200);
        for (int px = 0; px < bw; ++px) line[bx + px] = c;
    }

    QPainter p(&img);
    p.setPen(Qt::black);
    p.drawRect(x0 - 1, y0 - 1, w + 1, h + 1);
    p.drawRect(bx - 1, y0 - 1, bw + 1, h + 1);
    // Ticks at the centres of the first and last frame columns and value bands.
    const std::size_t cols = std::max<std::size_t>(1, columns), bands = std::max<std::size_t>(1, rows);
    const int xFirst = x0 + static_cast<int>(0.5 * w / cols), xLast = x0 + static_cast<int>((cols - 0.5) * w / cols);
    const int yFirst = y0 + h - 1 - static_cast<int>(0.5 * h / bands), yLast = y0 + h - 1 - static_cast<int>((bands - 0.5) * h / bands);
    for (int tick : {xFirst, xLast}) p.drawLine(tick, y0 + h, tick, y0 + h + 5);
    for (int tick : {yFirst, yLast}) p.drawLine(x0 - 6, tick, x0 - 1, tick);
    if (text) {
        QFont font = p.font();
        font.setPixelSize(14);
        p.setFont(font);
        const QString m = QString::fromStdString(metric), y = QString::fromStdString(yLabel);
        const double vMin = rows ? series.front().value : 0, vMax = rows ? series.back().value : 0;
        p.drawText(QRect(x0, 8, w, 30), Qt::AlignCenter, m + " by " + y + " and t");
        // x axis: t
        p.drawText(QRect(xFirst - 60, y0 + h + 8, 120, 20), Qt::AlignCenter, QString::fromStdString(label(std::isfinite(tMin) ? tMin : 0)));
        p.drawText(QRect(xLast - 60, y0 + h + 8, 120, 20), Qt::AlignCenter, QString::fromStdString(label(std::isfinite(tMax) ? tMax : 0)));
        p.drawText(QRect(x0, y0 + h + 30, w, 24), Qt::AlignCenter, "t");
        // y axis: the varied value (bands: the first value at the bottom, the last at the top)
        p.drawText(QRect(0, yFirst - 10, x0 - 10, 20), Qt::AlignRight | Qt::AlignVCenter, QString::fromStdString(label(vMin)));
        p.drawText(QRect(0, yLast - 10, x0 - 10, 20), Qt::AlignRight | Qt::AlignVCenter, QString::fromStdString(label(vMax)));
        p.save();
        p.translate(22, y0 + h / 2);
        p.rotate(-90);
        p.drawText(QRect(-h / 2, -12, h, 24), Qt::AlignCenter, y);
        p.restore();
        // colour bar: the metric's range
        p.drawText(QRect(bx + bw + 6, y0, 120, 20), Qt::AlignLeft | Qt::AlignVCenter, anyValue ? QString::fromStdString(label(hi)) : QString("-"));
        p.drawText(QRect(bx + bw + 6, y0 + h - 20, 120, 20), Qt::AlignLeft | Qt::AlignVCenter, anyValue ? QString::fromStdString(label(lo)) : QString("-"));
        p.save();
        p.translate(bx + bw + 60, y0 + h / 2);
        p.rotate(90);
        p.drawText(QRect(-h / 2, -12, h, 24), Qt::AlignCenter, m);
        p.restore();
        if (missing) p.drawText(QRect(bx - 30, y0 + h + 30, 170, 24), Qt::AlignLeft | Qt::AlignVCenter, "grey: no value");
    }
    p.end();
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (!img.save(&buffer, "PNG")) throw Error("cannot encode the heat map as PNG");
    return bytes;
}

// ---------------------------------------------------------------------------------------------- emit-jobs

// A measure SPEC whose file paths (a CSV path, an image kind's path=) are absolute.
std::string absoluteSpec(const std::string& specIn, const std::string& baseDir) {
    std::string spec = specIn;
    while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.back()))) spec.pop_back();
    while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.front()))) spec.erase(spec.begin());
    if (spec.empty()) return spec;
    std::map<std::string, std::string> values;
    const std::string kind = specKind(spec, &values);
    if (kind.empty()) return absolutePath(spec, baseDir);
    const std::size_t colon = spec.find(':');
    if (!values.count("path") || colon == std::string::npos) return spec;
    std::string out = spec.substr(0, colon + 1);
    const std::vector<std::string> kvs = splitOn(spec.substr(colon + 1), ',');
    for (std::size_t i = 0; i < kvs.size(); ++i) {
        std::string kv = kvs[i];
        if (kv.rfind("path=", 0) == 0) kv = "path=" + absolutePath(kv.substr(5), baseDir);
        out += (i ? "," : "") + kv;
    }
    return out;
}

// The job's scenario with every relative path (measures, "image:PATH" choices) made absolute.
Scenario absolutePaths(Scenario s, const DynamicsInfo& info) {
    s.source = absoluteSpec(s.source, s.baseDir);
    if (!s.target.empty()) s.target = absoluteSpec(s.target, s.baseDir);
    for (PanelSpec& p : s.panels)
        for (const ParamSpec& ps : info.params) {
            if (ps.type != ParamType::Choice || !p.params.has(ps.name)) continue;
            const std::string value = p.params.choice(ps.name);
            for (const std::string& c : ps.choices) {
                if (!c.ends_with(":PATH")) continue;
                const std::string prefix = c.substr(0, c.size() - 4);
                if (value.size() > prefix.size() && value.starts_with(prefix))
                    p.params.set(ps.name, prefix + absolutePath(value.substr(prefix.size()), s.baseDir));
            }
        }
    return s;
}

std::string jobIndex(std::size_t i) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%03zu", i);
    return buf;
}

std::string selfPath() {
    std::error_code ec;
    const fs::path p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("transportlab-cli") : p.string();
}

int emitJobs(const Args& a, const Plan& plan, const std::string& dir, std::ostream& out, Clock::time_point t0) {
    if (a.has("jobs")) throw Error("--jobs sets local parallel runs; with --emit-jobs the scheduler (Slurm, GNU parallel) decides");
    const int threads = static_cast<int>(a.integer("threads", 1, 1, 256));
    const std::string mergeOut = a.has("out") ? absolutePath(a.required("out"), "") : std::string("sweep.csv");
    const std::string mergePng = a.has("png") ? absolutePath(a.required("png"), "") : std::string();
    const std::size_t n = plan.values.size();

    StagedFolderOptions options;
    options.label = "--emit-jobs '" + dir + "'";
    StagedFolder staged(dir, options);
    std::vector<std::pair<std::string, std::string>> files;
    const std::string metric = shellWord(plan.metric);
    std::string commands;
    for (std::size_t i = 0; i < n; ++i) {
        Scenario job = absolutePaths(plan.scenarioFor(i), *plan.info);
        job.name = plan.scenario.name + " " + plan.key() + "=" + plan.valueText[i];
        const std::string text = scenarioToJson(job);
        parseScenario(text, staged.target().string(), "job_" + jobIndex(i) + ".json");  // it reads back (else: a bug here)
        files.emplace_back((staged.path() / ("job_" + jobIndex(i) + ".json")).string(), text);
        const std::string& v = plan.valueText[i];
        commands += "transportlab-cli sweep job_" + jobIndex(i) + ".json --panel 0 --vary " + shellWord(plan.key() + "=" + v + ":" + v + ":1") +
                    " --metric " + metric + " --out part_" + jobIndex(i) + ".csv --threads " + std::to_string(threads) + "\n";
    }
    files.emplace_back((staged.path() / "commands.txt").string(), commands);

    std::string valuesList, valuesShort;
    for (std::size_t i = 0; i < n; ++i) {
        valuesList += (i ? " " : "") + plan.valueText[i];
        if (i < 8 || i + 1 == n) valuesShort += (i ? ", " : "") + plan.valueText[i];
        else if (i == 8) valuesShort += ", ...";
    }
    const std::string what = plan.scenario.name + ": " + plan.where() + ", " + plan.key() + " = " + plan.valueText.front() + " ... " +
                             plan.valueText.back() + " (" + std::to_string(n) + " values), metric " + plan.metric;
    std::ostringstream slurm;
    slurm << "#!/bin/bash\n"
          << "# TransportLab sweep as a Slurm job array (written by transportlab-cli sweep --emit-jobs).\n"
          << "# " << what << "\n"
          << "# Submit from this folder: sbatch sweep.slurm; then merge the parts (see HOW.txt).\n"
          << "#SBATCH --job-name=tl-sweep\n"
          << "#SBATCH --array=0-" << (n - 1) << "\n"
          << "#SBATCH --ntasks=1\n"
          << "#SBATCH --cpus-per-task=" << threads << "\n"
          << "#SBATCH --output=slurm-%A_%a.out\n"
          << "set -euo pipefail\n"
          << "cd \"${SLURM_SUBMIT_DIR:-.}\"\n"
          << "TL=\"${TRANSPORTLAB_CLI:-transportlab-cli}\"\n"
          << "VALUES=(" << valuesList << ")\n"
          << "task=\"${SLURM_ARRAY_TASK_ID:?run with sbatch, or set SLURM_ARRAY_TASK_ID}\"\n"
          << "i=$(printf %03d \"$task\")\n"
          << "v=\"${VALUES[$task]}\"\n"
          << "exec \"$TL\" sweep \"job_$i.json\" --panel 0 --vary \"" << plan.key() << "=$v:$v:1\" --metric " << metric
          << " --out \"part_$i.csv\" --threads \"${SLURM_CPUS_PER_TASK:-" << threads << "}\"\n";
    files.emplace_back((staged.path() / "sweep.slurm").string(), slurm.str());

    std::string merge = "transportlab-cli sweep --merge " + shellWord(mergeOut) + " part_*.csv";
    if (!mergePng.empty()) merge += " --png " + shellWord(mergePng);
    std::ostringstream how;
    how << "TransportLab sweep jobs (written by transportlab-cli sweep --emit-jobs)\n\n"
        << "Scenario: " << absolutePath(plan.scenarioPath, "") << "\n"
        << "Sweep:    " << what << "\n"
        << "Values:   " << valuesShort << "\n"
        << "Frames:   " << plan.scenario.frames << " per run, t = 0 ... " << num(plan.scenario.duration) << "\n\n"
        << "Files\n"
        << "  job_<iii>.json  one job per value: the one-panel scenario (its panel 0 is panel " << plan.panel << " of the\n"
        << "                  original) with " << plan.key() << " set; measure and image paths in it are absolute\n"
        << "  commands.txt    one command line per job, for GNU parallel (run in this folder)\n"
        << "  sweep.slurm     the same jobs as a Slurm job array, --array=0-" << (n - 1) << " (submit from this folder)\n"
        << "  part_<iii>.csv  what job <iii> writes: value,t," << plan.metric << "\n\n"
        << "The jobs call transportlab-cli: put it on PATH (these files were written by " << selfPath() << "),\n"
        << "or, for the Slurm script, set TRANSPORTLAB_CLI=/path/to/transportlab-cli.\n\n"
        << "Run here, one job per core (GNU parallel):\n"
        << "  cd " << shellWord(staged.target().string()) << " && parallel --halt now,fail=1 < commands.txt\n"
        << "Or on a Slurm cluster (" << threads << " thread" << (threads == 1 ? "" : "s") << " per job; change #SBATCH --cpus-per-task to give each job more):\n"
        << "  cd " << shellWord(staged.target().string()) << " && sbatch sweep.slurm\n\n"
        << "Then merge the parts (in this folder; same header required, rows sorted by value then t):\n"
        << "  " << merge << "\n";
    files.emplace_back((staged.path() / "HOW.txt").string(), how.str());

    StopSignals::check();
    for (const auto& [path, content] : files) writeFileAtomic(path, content);
    staged.commit();
    json j;
    j["out"] = staged.target().string();
    j["jobs"] = n;
    j["key"] = plan.key();
    j["values"] = n;
    j["frames"] = plan.scenario.frames;
    j["metric"] = plan.metric;
    j["merge"] = merge;
    j["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;  // user text may be invalid UTF-8
    return 0;
}

// ---------------------------------------------------------------------------------------------- merge

int mergeParts(const Args& a, std::ostream& out, Clock::time_point t0) {
    for (const char* o : {"panel", "vary", "metric", "out", "emit-jobs", "jobs", "threads"})
        if (a.has(o)) throw Error(std::string("--merge takes the output as its value, then PART.csv files (and --png); drop --") + o);
    const std::string outPath = a.required("merge");
    const std::string png = a.text("png");
    const std::vector<std::string>& parts = a.positional();
    if (parts.empty()) throw Error("--merge needs the PART.csv files to merge (e.g. part_*.csv)");
    checkOutputFile(outPath, "--merge");
    if (!png.empty()) {
        checkOutputFile(png, "--png");
        if (fs::absolute(png).lexically_normal() == fs::absolute(outPath).lexically_normal()) throw Error("--png and --merge name the same file");
    }
    struct Row {
        double value, t;
        std::string line;
        std::size_t part;
    };
    std::vector<Row> rows;
    std::string header;
    for (std::size_t k = 0; k < parts.size(); ++k) {
        const std::string text = readFile(parts[k]);
        std::vector<std::string> lines = splitOn(text, '\n');
        for (auto& l : lines)
            if (!l.empty() && l.back() == '\r') l.pop_back();
        const std::string h = lines.front();
        const std::vector<std::string> hc = splitOn(h, ',');
        if (hc.size() != 3 || hc[0] != "value" || hc[1] != "t" || hc[2].empty())
            throw Error("'" + parts[k] + "' is not a sweep CSV (header '" + h + "', expected value,t,<metric>)");
        if (k == 0) header = h;
        else if (h != header) throw Error("'" + parts[k] + "' has header '" + h + "' but '" + parts[0] + "' has '" + header + "'");
        for (std::size_t l = 1; l < lines.size(); ++l) {
            if (lines[l].empty()) continue;
            const std::vector<std::string> c = splitOn(lines[l], ',');
            double v, t, m;
            if (c.size() != 3 || !parseNumber(c[0], v) || !parseNumber(c[1], t) || (!c[2].empty() && !parseNumber(c[2], m)))
                throw Error("'" + parts[k] + "' line " + std::to_string(l + 1) + ": expected value,t,<number or empty> (got '" + lines[l] + "')");
            rows.push_back({v, t, lines[l], k});
        }
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& x, const Row& y) { return x.value < y.value || (x.value == y.value && x.t < y.t); });
    for (std::size_t i = 1; i < rows.size(); ++i)
        if (rows[i].value == rows[i - 1].value && rows[i].t == rows[i - 1].t)
            throw Error("value " + num(rows[i].value) + " at t = " + num(rows[i].t) + " is in '" + parts[rows[i - 1].part] + "' and in '" +
                        parts[rows[i].part] + "' (merge each part once)");
    std::string csv = header + "\n";
    std::vector<Series> series;
    for (const Row& r : rows) {
        csv += r.line + "\n";
        if (series.empty() || series.back().value != r.value) series.push_back({r.value, {}, {}});
        double m = std::numeric_limits<double>::quiet_NaN();
        const std::string cell = r.line.substr(r.line.rfind(',') + 1);
        if (!cell.empty()) parseNumber(cell, m);
        series.back().t.push_back(r.t);
        series.back().m.push_back(m);
    }
    const std::string metric = header.substr(header.rfind(',') + 1);
    std::vector<std::pair<std::string, std::string>> files{{outPath, csv}};
    if (!png.empty()) {
        const QByteArray bytes = heatMapPng(series, "value", metric);
        files.emplace_back(png, std::string(bytes.constData(), static_cast<std::size_t>(bytes.size())));
    }
    StopSignals::check();
    writeFilesAtomic(files);
    std::size_t frames = 0;
    for (const auto& s : series) frames = std::max(frames, s.t.size());
    json j;
    j["out"] = outPath;
    if (!png.empty()) j["png"] = png;
    j["parts"] = parts.size();
    j["values"] = series.size();
    j["frames"] = frames;
    j["rows"] = rows.size();
    j["metric"] = metric;
    j["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;  // user text may be invalid UTF-8
    return 0;
}

}  // namespace

std::string sweepUsage() {
    std::ostringstream os;
    os << "Usage:\n"
       << "  transportlab-cli sweep SCENARIO.json --panel K --vary KEY=FROM:TO:COUNT --metric NAME --out FILE.csv\n"
       << "      [--png FILE.png] [--threads N] [--jobs J]\n"
       << "      run panel K once per value of its parameter KEY (COUNT values from FROM to TO, in parallel) and write\n"
       << "      value,t,NAME (one row per value and frame); --png adds a heat map. One JSON line on stdout.\n"
       << "  transportlab-cli sweep SCENARIO.json --panel K --vary KEY=FROM:TO:COUNT --metric NAME --emit-jobs DIR\n"
       << "      [--threads N] [--out MERGED.csv] [--png FILE.png]\n"
       << "      run nothing: write DIR/job_<iii>.json, commands.txt (GNU parallel), sweep.slurm (Slurm array), HOW.txt\n"
       << "  transportlab-cli sweep --merge OUT.csv PART.csv... [--png FILE.png]\n"
       << "      merge per-job CSVs (same header) into OUT.csv, sorted by value then t\n"
       << "Options:\n"
       << usageOf(kOptions)
       << "Outputs are written all-or-nothing; an error or Ctrl-C writes nothing.\n";
    return os.str();
}

int cmdSweep(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
    (void)err;
    for (const auto& arg : argv)
        if (arg == "--help" || arg == "-h") {
            out << sweepUsage();
            return 0;
        }
    const auto t0 = Clock::now();
    StopSignals stopSignals;  // from the start: a Ctrl-C at any point writes nothing
    Args a(argv, kOptions);
    if (a.has("merge")) return mergeParts(a, out, t0);

    const std::string scenarioPath = onePositional(a, "sweep", "SCENARIO.json");
    const std::string emitDir = a.text("emit-jobs");
    if (a.has("emit-jobs") && emitDir.empty()) throw Error("option --emit-jobs needs a folder");
    std::string outPath, png;
    if (emitDir.empty()) {
        outPath = a.required("out");
        png = a.text("png");
        checkOutputFile(outPath, "--out");
        if (!png.empty()) {
            checkOutputFile(png, "--png");
            if (fs::absolute(png).lexically_normal() == fs::absolute(outPath).lexically_normal()) throw Error("--png and --out name the same file");
        }
    }
    const long long jobsWanted = a.integer("jobs", 0, 1, 4096);  // 0 = not given
    const int threadsTotal = emitDir.empty() ? resolveThreads(static_cast<int>(a.integer("threads", 0, 0, 256))) : 1;
    const Plan plan = makePlan(a, scenarioPath);
    if (!emitDir.empty()) return emitJobs(a, plan, emitDir, out, t0);

    // Runs at a time: --jobs, else one per thread (--threads, default the hardware threads); never more
    // than the values. The threads are split evenly over the runs (1 each when there are more runs).
    const std::size_t n = plan.values.size();
    const int jobs = static_cast<int>(std::min<long long>(static_cast<long long>(n), jobsWanted > 0 ? jobsWanted : threadsTotal));
    const int threadsPerRun = std::max(1, threadsTotal / jobs);
    const std::vector<Series> series = runAll(plan, jobs, threadsPerRun);

    std::vector<std::pair<std::string, std::string>> files{{outPath, sweepCsv(plan.metric, plan.valueText, series)}};
    if (!png.empty()) {
        const QByteArray bytes = heatMapPng(series, plan.key(), plan.metric);
        files.emplace_back(png, std::string(bytes.constData(), static_cast<std::size_t>(bytes.size())));
    }
    StopSignals::check();
    writeFilesAtomic(files);

    json j;
    j["out"] = outPath;
    if (!png.empty()) j["png"] = png;
    j["panel"] = plan.panel;
    j["dynamics"] = plan.scenario.panels[plan.panel].dynamics;
    j["key"] = plan.key();
    j["values"] = n;
    j["from"] = plan.values.front();
    j["to"] = plan.values.back();
    j["frames"] = plan.scenario.frames;
    j["metric"] = plan.metric;
    j["jobs"] = jobs;
    j["threads_per_run"] = threadsPerRun;
    j["seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;  // user text may be invalid UTF-8
    return 0;
}

}  // namespace tl::cli
