// The Runner computes a scenario's panels in the background: a controller thread (std::jthread)
// samples the measures once, then runs every panel as its own job on its own thread, concurrently
// (they share the kernel engine's thread pool), adds the common metrics to every frame and records
// the frames in per-panel histories (for scrubbing). Frames are shown as they are produced; metrics
// not needed to draw (the Sinkhorn divergence) are computed after a panel's frames. A parameter
// change restarts only that panel; cancel() stops every job at its next step (frames are published
// whole). No Qt.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "engine/dynamics.h"
#include "ot/sinkhorn.h"
#include "engine/frame.h"
#include "engine/scenario.h"

namespace tl {

enum class PanelState { Pending, Running, Done, Failed, Cancelled };
const char* panelStateName(PanelState s);

struct PanelStatus {
    PanelState state = PanelState::Pending;
    double progress = 0;     // 0..1
    std::string stage;       // what it is doing
    std::string error;       // when Failed: the plain reason
    RunSummary summary;
    double seconds = 0;      // wall time of the last completed run
    double finalDivergence = std::numeric_limits<double>::quiet_NaN();  // S_eps(last frame, target)
    std::uint64_t generation = 0;  // increments on every restart
    ConvergenceTrace convergence;  // streamed by solvers that iterate (empty for the others)
};

class Runner {
public:
    explicit Runner(Scenario scenario, int threads = 0);
    ~Runner();  // cancels and joins
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // Called (from the compute thread) after every published frame or state change; keep it cheap
    // (the GUI posts a queued event). Set before start().
    void setUpdateCallback(std::function<void()> cb) { onUpdate_ = std::move(cb); }

    void start();
    void cancel();
    // Blocks until every panel is Done/Failed/Cancelled (or the timeout passes); true when idle.
    bool waitIdle(std::chrono::milliseconds timeout = std::chrono::hours(24));

    // New parameters for panel k: the panel restarts (its current run is stopped at the next step);
    // after cancel() this starts the compute thread again. start/cancel/setPanelParams are meant to
    // be called from one controlling thread (the GUI thread or the CLI's main).
    void setPanelParams(std::size_t k, const ParamValues& params);
    // A new spec for panel k (dynamics, parameters, title): the panel restarts when its dynamics or
    // parameters changed (a title alone changes nothing); another dynamics drops the old frames.
    void setPanelSpec(std::size_t k, const PanelSpec& spec);
    // Adds a panel (computed at once; the others are untouched) and returns its index.
    std::size_t addPanel(const PanelSpec& spec);
    // Removes panel k (its run is stopped and joined off the calling thread; the others keep running
    // and keep their frames; later panels move down one index).
    void removePanel(std::size_t k);

    const Scenario& scenario() const { return scenario_; }
    std::size_t panelCount() const { return panels_.size(); }
    // Frames of the last completed run of panel k, or of the running one while none has completed.
    std::shared_ptr<const FrameHistory> history(std::size_t k) const;
    PanelStatus status(std::size_t k) const;
    std::shared_ptr<const Measure> source() const;
    std::shared_ptr<const Measure> target() const;
    std::string error() const;  // sampling the measures failed

private:
    struct Panel {
        PanelSpec spec;
        bool dirty = true;
        std::shared_ptr<FrameHistory> shown, running;
        PanelStatus status;
        std::stop_source runStop;
        bool jobActive = false;  // a job thread is computing this panel
        std::jthread job;
    };
    static std::shared_ptr<Panel> makePanel(const PanelSpec& spec);
    void loop(std::stop_token stop);
    void runPanel(const std::shared_ptr<Panel>& panel, const std::stop_token& stop);
    bool reviveBegin();
    void reviveEnd(bool restart);
    static void markRestart(Panel& p);
    void applySpec(std::size_t k, const PanelSpec& spec, bool force);
    void notify();

    Scenario scenario_;
    int threads_;
    std::vector<std::shared_ptr<Panel>> panels_;  // shared with their job threads (a removed one lives on until joined)
    std::vector<std::shared_ptr<Panel>> retired_;  // removed panels whose job may still be ending
    mutable std::mutex m_;
    std::condition_variable_any cv_;
    std::condition_variable idleCv_;
    std::shared_ptr<const Measure> source_, target_;
    std::vector<TimedMeasure> snapshots_;
    std::string error_;
    // S_eps(source, target) with its potentials, once per run (every panel's frame 0; warm start of frame 1)
    std::shared_ptr<const SinkhornDivergenceResult> sourceDivergence_;
    bool idle_ = false;
    bool exited_ = false;  // the compute thread returned (stop or sampling failure)
    std::function<void()> onUpdate_;
    std::jthread thread_;
};

}  // namespace tl
