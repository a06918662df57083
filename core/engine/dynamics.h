// The Dynamics interface (science.md §1-§6 systems): set up from (source, target, parameters),
// compute the state at the scenario's frame times and publish each as a Frame. Implementations
// are registered once with their parameter declarations (dynamicsRegistry()).
#pragma once
#include <functional>
#include <limits>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "engine/frame.h"
#include "engine/params.h"
#include "measure/measure.h"

namespace tl {

struct TimedMeasure {
    double time = 0;
    std::shared_ptr<const Measure> measure;
};

// A solver's convergence history, streamed while it runs (e.g. Benamou-Brenier's residuals vs
// iteration): the metrics chart offers it as a log-scale plot; simulate writes it as a table.
struct ConvergenceTrace {
    std::string x = "iteration";
    std::vector<std::string> names;          // one per series
    std::vector<std::vector<double>> rows;   // {x, value per series}
    bool empty() const { return rows.empty(); }
};

struct RunContext {
    std::stop_token stop;
    int threads = 0;
    std::string baseDir;  // the scenario's folder: relative paths in parameters resolve here
    std::vector<TimedMeasure> snapshots;  // the scenario's snapshots, sampled (empty if none)
    // fraction in [0, 1] of this panel's work, and what it is doing ("solving OT", "training" ...).
    std::function<void(double, const std::string&)> progress;
    // Receives each frame in time order (the runner adds common metrics and records it). Not
    // called emit: that is a Qt macro.
    std::function<void(Frame&&)> publish;
    // Appends one point of the convergence history (series names fixed by the first call); may be unset.
    std::function<void(double x, const std::vector<std::pair<std::string, double>>& values)> convergence;
    bool cancelled() const { return stop.stop_requested(); }
};

struct RunSummary {
    long nfe = 0;                                                   // velocity-field evaluations
    double straightness = std::numeric_limits<double>::quiet_NaN();  // E int |v|^2 dt - E |x1 - x0|^2
    std::string note;                                               // e.g. "integrated to 1 - delta, then snapped"
    std::vector<std::string> warnings = {};  // one line each: the run finished but the user should know (e.g. too few steps)
    bool cancelled = false;
    // Extra results a dynamics reports, written into the simulate summary under these keys: numbers
    // (NaN = null, e.g. closure_blow_up_time with no blow-up) and tables (rows of numbers, e.g. teacher).
    std::vector<std::pair<std::string, double>> extras = {};
    std::vector<std::pair<std::string, std::vector<std::vector<double>>>> tables = {};
    // What a run returns when it was cancelled (with the evaluations it had made).
    static RunSummary cancelledAfter(long nfe = 0) {
        RunSummary s;
        s.nfe = nfe;
        s.cancelled = true;
        return s;
    }
};

class Dynamics {
public:
    virtual ~Dynamics() = default;
    // Computes and emits the frames at `times` (ascending; times.front() = 0, times.back() = the
    // scenario's duration). `target` is an empty measure (no points) for dynamics that need none.
    // Throws tl::Error with a plain message when the measures do not fit (e.g. the field needs a
    // Gaussian source) or the computation fails; returns early with cancelled = true on cancel.
    virtual RunSummary run(const Measure& source, const Measure& target, const ParamValues& params, const std::vector<double>& times,
                           RunContext& ctx) = 0;
};

struct DynamicsInfo {
    std::string name;
    std::string help;
    std::vector<ParamSpec> params;
    std::function<std::unique_ptr<Dynamics>()> make;
    bool needsTarget = true;  // false: runs from the source alone (gradient flows, tokens, ...)
    bool needsSnapshots = false;  // true: reads the scenario's `snapshots` (trajectory inference)
    // Checks that involve several keys (e.g. a > b); throws tl::Error naming `context` and the key.
    std::function<void(const ParamValues&, const std::string& context)> validate = {};
};

const std::vector<DynamicsInfo>& dynamicsRegistry();
// Throws tl::Error listing the known names if `name` is unknown.
const DynamicsInfo& findDynamics(const std::string& name);

}  // namespace tl
