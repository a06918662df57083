#include "engine/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/metrics.h"
#include "measure/spec.h"
#include "util/error.h"
#include "util/parallel.h"

namespace tl {

const char* panelStateName(PanelState s) {
    switch (s) {
        case PanelState::Pending: return "pending";
        case PanelState::Running: return "running";
        case PanelState::Done: return "done";
        case PanelState::Failed: return "failed";
        case PanelState::Cancelled: return "cancelled";
    }
    return "?";
}

Runner::Runner(Scenario scenario, int threads) : scenario_(std::move(scenario)), threads_(threads) {
    for (const auto& p : scenario_.panels) panels_.push_back(makePanel(p));
}

std::shared_ptr<Runner::Panel> Runner::makePanel(const PanelSpec& spec) {
    auto panel = std::make_shared<Panel>();
    panel->spec = spec;
    panel->running = std::make_shared<FrameHistory>();
    panel->shown = panel->running;
    return panel;
}

Runner::~Runner() {
    cancel();
    if (thread_.joinable()) thread_.join();
    std::vector<std::shared_ptr<Panel>> retired;
    {
        std::lock_guard<std::mutex> lk(m_);
        retired.swap(retired_);
    }
    for (auto& p : retired)
        if (p->job.joinable()) p->job.join();
}

void Runner::start() {
    if (thread_.joinable()) return;
    thread_ = std::jthread([this](std::stop_token st) { loop(st); });
}

void Runner::cancel() {
    if (thread_.joinable()) thread_.request_stop();
    {
        std::lock_guard<std::mutex> lk(m_);
        for (auto& p : panels_) p->runStop.request_stop();
        if (!thread_.joinable()) idle_ = true;  // never started: nothing to wait for
    }
    cv_.notify_all();
    idleCv_.notify_all();
}

bool Runner::waitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lk(m_);
    return idleCv_.wait_for(lk, timeout, [&] { return idle_; });
}

bool Runner::reviveBegin() {
    // After cancel() (or a failure to sample the measures) the compute thread has ended: an edit
    // starts it again, and panels a cancel interrupted run again too.
    bool exited;
    {
        std::lock_guard<std::mutex> lk(m_);
        exited = exited_;
    }
    const bool restart = thread_.joinable() && (thread_.get_stop_token().stop_requested() || exited);
    if (restart) thread_.join();
    return restart;
}

void Runner::reviveEnd(bool restart) {
    // (m_ held by the caller) ... then, without it, the thread starts again.
    if (restart) {
        exited_ = false;
        if (!source_) error_.clear();  // sampling failed: try again
        for (auto& p : panels_)
            if (p->status.state == PanelState::Cancelled || (!source_ && p->status.state == PanelState::Failed)) p->dirty = true;
    }
    idle_ = false;
}

void Runner::markRestart(Panel& p) {
    p.dirty = true;
    // Busy from now on (not Pending: a pending panel would show its new run live instead of the last
    // complete one): nobody sees "done" for the old parameters in between.
    p.status.state = PanelState::Running;
    p.status.progress = 0;
    p.status.stage = "restarting";
    p.runStop.request_stop();
}

void Runner::setPanelParams(std::size_t k, const ParamValues& params) {
    PanelSpec spec;
    {
        std::lock_guard<std::mutex> lk(m_);
        if (k >= panels_.size()) throw Error("no panel " + std::to_string(k));
        spec = panels_[k]->spec;
    }
    spec.params = params;
    applySpec(k, spec, true);  // always a new run (also for the same values: a retry)
}

void Runner::setPanelSpec(std::size_t k, const PanelSpec& spec) { applySpec(k, spec, false); }

void Runner::applySpec(std::size_t k, const PanelSpec& spec, bool force) {
    const bool restart = reviveBegin();
    {
        std::lock_guard<std::mutex> lk(m_);
        if (k >= panels_.size()) throw Error("no panel " + std::to_string(k));
        Panel& p = *panels_[k];
        const bool sameRun = !force && p.spec.dynamics == spec.dynamics && p.spec.params == spec.params;
        const bool newDynamics = p.spec.dynamics != spec.dynamics;
        p.spec = spec;
        scenario_.panels[k] = spec;  // scenario() describes what is computed (the compute thread never reads it)
        if (!sameRun) {
            if (newDynamics) {
                // Another dynamics: the old frames are not this panel's any more (nothing stale is drawn).
                p.shown = std::make_shared<FrameHistory>();
                p.status.summary = {};
                p.status.convergence = {};
            }
            markRestart(p);
        }
        reviveEnd(restart);
    }
    if (restart) thread_ = std::jthread([this](std::stop_token st) { loop(st); });
    cv_.notify_all();
}

std::size_t Runner::addPanel(const PanelSpec& spec) {
    const bool restart = reviveBegin();
    std::size_t k;
    {
        std::lock_guard<std::mutex> lk(m_);
        panels_.push_back(makePanel(spec));
        scenario_.panels.push_back(spec);
        panels_.back()->status.state = PanelState::Running;
        panels_.back()->status.stage = "starting";
        k = panels_.size() - 1;
        reviveEnd(restart);
    }
    if (restart) thread_ = std::jthread([this](std::stop_token st) { loop(st); });
    cv_.notify_all();
    return k;
}

void Runner::removePanel(std::size_t k) {
    {
        std::lock_guard<std::mutex> lk(m_);
        if (k >= panels_.size()) throw Error("no panel " + std::to_string(k));
        std::shared_ptr<Panel> p = panels_[k];
        panels_.erase(panels_.begin() + static_cast<std::ptrdiff_t>(k));
        scenario_.panels.erase(scenario_.panels.begin() + static_cast<std::ptrdiff_t>(k));
        p->runStop.request_stop();
        p->dirty = false;
        // Its job (if any) ends at its next step, writing only to its own Panel; joined off this thread.
        retired_.push_back(std::move(p));
    }
    cv_.notify_all();
    notify();
}

std::shared_ptr<const FrameHistory> Runner::history(std::size_t k) const {
    std::lock_guard<std::mutex> lk(m_);
    return panels_.at(k)->shown;
}

PanelStatus Runner::status(std::size_t k) const {
    std::lock_guard<std::mutex> lk(m_);
    return panels_.at(k)->status;
}

std::shared_ptr<const Measure> Runner::source() const {
    std::lock_guard<std::mutex> lk(m_);
    return source_;
}

std::shared_ptr<const Measure> Runner::target() const {
    std::lock_guard<std::mutex> lk(m_);
    return target_;
}

std::string Runner::error() const {
    std::lock_guard<std::mutex> lk(m_);
    return error_;
}

void Runner::notify() {
    if (onUpdate_) onUpdate_();
}

void Runner::loop(std::stop_token stop) {
    bool sampled;
    {
        std::lock_guard<std::mutex> lk(m_);
        sampled = source_ != nullptr;
    }
    if (!sampled) {
        try {
            auto sample = [&](const std::string& spec, const char* key) {
                try {
                    return std::make_shared<Measure>(sampleMeasure(spec, scenario_.baseDir));
                } catch (const Error& e) {
                    throw Error(scenario_.name + ": key '" + key + "': " + e.what());
                }
            };
            auto src = sample(scenario_.source, "source");
            // No target: an empty measure (only target-free dynamics run; checkTargets names the rest).
            auto tgt = scenario_.target.empty() ? std::make_shared<Measure>() : sample(scenario_.target, "target");
            std::vector<TimedMeasure> snaps;
            for (std::size_t k = 0; k < scenario_.snapshots.size(); ++k) {
                const auto m = sample(scenario_.snapshots[k].measure, "snapshots");
                if (m->cloud.dim != src->cloud.dim)
                    throw Error(scenario_.name + ": key 'snapshots' entry " + std::to_string(k) + " is " + std::to_string(m->cloud.dim) +
                                "-D but the source is " + std::to_string(src->cloud.dim) + "-D");
                snaps.push_back({scenario_.snapshots[k].time, m});
            }
            {
                std::lock_guard<std::mutex> lk(m_);
                snapshots_ = std::move(snaps);
            }
            if (!tgt->cloud.empty() && src->cloud.dim != tgt->cloud.dim)
                throw Error("source is " + std::to_string(src->cloud.dim) + "-D but target is " + std::to_string(tgt->cloud.dim) + "-D");
            std::lock_guard<std::mutex> lk(m_);
            source_ = src;
            target_ = tgt;
        } catch (const std::exception& e) {
            {
                std::lock_guard<std::mutex> lk(m_);
                error_ = e.what();
                for (auto& p : panels_) {
                    p->status.state = PanelState::Failed;
                    p->status.error = e.what();
                    p->dirty = false;
                }
                idle_ = true;
                exited_ = true;
            }
            idleCv_.notify_all();
            notify();
            return;
        }
    }
    notify();
    for (;;) {
        std::vector<std::shared_ptr<Panel>> launch;
        {
            std::unique_lock<std::mutex> lk(m_);
            for (;;) {
                if (stop.stop_requested()) break;
                // Removed panels whose job has ended are joined here (their threads have returned).
                for (auto it = retired_.begin(); it != retired_.end();) {
                    if (!(*it)->jobActive) {
                        if ((*it)->job.joinable()) (*it)->job.join();
                        it = retired_.erase(it);
                    } else {
                        ++it;
                    }
                }
                bool busy = false;
                for (const auto& p : panels_) {
                    if (p->dirty && !p->jobActive) launch.push_back(p);
                    busy = busy || p->jobActive || p->dirty;
                }
                if (!launch.empty()) break;
                if (!busy && !idle_) {
                    idle_ = true;
                    idleCv_.notify_all();
                }
                // Wake for a panel to launch, when the last job ends (to report idle), or to reap a removed one.
                cv_.wait(lk, stop, [&] {
                    bool anyRunning = false;
                    for (const auto& p : panels_) {
                        if (p->dirty && !p->jobActive) return true;
                        anyRunning = anyRunning || p->jobActive;
                    }
                    for (const auto& p : retired_)
                        if (!p->jobActive && p->job.joinable()) return true;
                    return !anyRunning && !idle_;
                });
            }
            if (!stop.stop_requested()) {
                idle_ = false;
                for (const auto& p : launch) {
                    if (p->job.joinable()) p->job.join();  // the previous job has finished (jobActive == false)
                    p->jobActive = true;
                    p->dirty = false;
                    p->job = std::jthread([this, p, stop] { runPanel(p, stop); });
                }
                continue;
            }
            for (auto& p : panels_) p->runStop.request_stop();
            for (auto& p : retired_) p->runStop.request_stop();
        }
        // Stopping: every job ends at its next step; then the panels that never ran read Cancelled.
        std::vector<std::shared_ptr<Panel>> all;
        {
            std::lock_guard<std::mutex> lk(m_);
            all = panels_;
            all.insert(all.end(), retired_.begin(), retired_.end());
        }
        for (auto& p : all)
            if (p->job.joinable()) p->job.join();
        {
            std::lock_guard<std::mutex> lk(m_);
            retired_.clear();
            for (auto& p : panels_) {
                if (p->status.state == PanelState::Running || p->status.state == PanelState::Pending) p->status.state = PanelState::Cancelled;
                p->jobActive = false;
            }
            idle_ = true;
            exited_ = true;
        }
        idleCv_.notify_all();
        notify();
        return;
    }
}

void Runner::runPanel(const std::shared_ptr<Panel>& panel, const std::stop_token& stop) {
    const auto t0 = std::chrono::steady_clock::now();
    PanelSpec spec;
    auto history = std::make_shared<FrameHistory>();
    std::stop_source runStop;
    {
        std::lock_guard<std::mutex> lk(m_);
        Panel& p = *panel;
        spec = p.spec;
        p.dirty = false;
        p.runStop = runStop;
        p.running = history;
        if (p.status.state == PanelState::Pending || p.shown->size() == 0) p.shown = history;  // first run: show it live
        p.status.state = PanelState::Running;
        p.status.progress = 0;
        p.status.stage = "starting";
        p.status.error.clear();
        p.status.convergence = {};
        ++p.status.generation;
    }
    std::stop_callback forward(stop, [&] { runStop.request_stop(); });
    // Dynamics that need a target move from source (t = 0) to target (t = 1); over a scenario of
    // another duration their frames are stretched to [0, duration].
    const DynamicsInfo* info = nullptr;
    try {
        info = &findDynamics(spec.dynamics);
    } catch (const std::exception&) {
    }
    const bool transport = info && info->needsTarget;
    const double timeScale = transport ? scenario_.duration : 1.0;
    std::vector<double> times = scenario_.times();
    if (transport)
        for (double& t : times) t /= timeScale;
    const bool haveTarget = !target_->cloud.empty();
    RunContext ctx;
    ctx.stop = runStop.get_token();
    // Every parallel loop of this run (field evaluations, kernel reductions, Sinkhorn passes, the
    // divergence metric) stops within one chunk of a cancel (tl::Cancelled, caught below).
    const CancelScope cancelScope(ctx.stop);
    ctx.threads = threads_;
    ctx.baseDir = scenario_.baseDir;
    {
        std::lock_guard<std::mutex> lk(m_);
        ctx.snapshots = snapshots_;
    }
    FramePtr previous;
    double divergence = std::numeric_limits<double>::quiet_NaN();
    ctx.progress = [&](double fraction, const std::string& stage) {
        {
            std::lock_guard<std::mutex> lk(m_);
            panel->status.progress = std::clamp(fraction, 0.0, 1.0);
            panel->status.stage = stage;
        }
        notify();
    };
    ctx.convergence = [&](double x, const std::vector<std::pair<std::string, double>>& values) {
        {
            std::lock_guard<std::mutex> lk(m_);
            ConvergenceTrace& c = panel->status.convergence;
            if (c.names.empty())
                for (const auto& v : values) c.names.push_back(v.first);
            std::vector<double> row{x};
            for (const auto& v : values) row.push_back(v.second);
            row.resize(c.names.size() + 1, std::numeric_limits<double>::quiet_NaN());
            c.rows.push_back(std::move(row));
        }
        notify();
    };
    std::size_t emitted = 0;
    ctx.publish = [&](Frame&& f) {
        f.t *= timeScale;
        addFrameMetrics(f, previous.get());
        previous = std::make_shared<const Frame>(std::move(f));
        history->append(previous);
        ++emitted;
        {
            std::lock_guard<std::mutex> lk(m_);
            panel->status.progress = static_cast<double>(emitted) / times.size();
            panel->status.stage = "frame " + std::to_string(emitted) + "/" + std::to_string(times.size());
        }
        notify();
    };
    PanelState state = PanelState::Done;
    std::string error;
    RunSummary summary;
    try {
        if (!info) findDynamics(spec.dynamics);  // throws the plain "unknown dynamics" message
        if (transport && !haveTarget) throw Error(spec.dynamics + " needs key 'target' (a measure SPEC)");
        if (info->needsSnapshots && ctx.snapshots.size() < 2) throw Error(spec.dynamics + " needs key 'snapshots' (at least 2)");
        if (info->validate) info->validate(spec.params, spec.dynamics);
        summary = info->make()->run(*source_, *target_, spec.params, times, ctx);
        if (summary.cancelled || ctx.cancelled()) state = PanelState::Cancelled;
        else if (emitted != times.size()) throw Error(spec.dynamics + ": produced " + std::to_string(emitted) + " of " + std::to_string(times.size()) + " frames");
    } catch (const Cancelled&) {
        state = PanelState::Cancelled;  // a parallel loop stopped mid-way (cancelScope)
    } catch (const std::exception& e) {
        state = ctx.cancelled() ? PanelState::Cancelled : PanelState::Failed;
        error = e.what();
    }
    if (state == PanelState::Done && haveTarget) {
        // The frames are complete: show them, then add what is not needed to draw them. The distance
        // to the target on about 6 frames (every stride-th and the last) is the metrics chart's curve;
        // the last value is the panel's final divergence. Frame 0 is the source sample in every panel
        // that starts there, so its value is computed once per run and shared.
        {
            std::lock_guard<std::mutex> lk(m_);
            panel->shown = history;
            panel->status.stage = "computing the Sinkhorn divergence";
        }
        notify();
        const std::size_t stride = std::max<std::size_t>(1, (times.size() - 1) / 5);
        SinkhornDivergenceResult warm;  // each frame's solve starts from the previous frame's potentials
        for (std::size_t i = 0; i < history->size() && !ctx.cancelled(); ++i) {
            if (!(i % stride == 0 || i + 1 == history->size())) continue;
            const FramePtr f = history->at(i);
            if (!f || f->rows() == 0) continue;
            try {
                const bool atSource = i == 0 && f->positions == source_->cloud.points && f->weights == source_->cloud.weights;
                double dv = std::numeric_limits<double>::quiet_NaN();
                if (atSource) {
                    std::lock_guard<std::mutex> lk(m_);
                    if (sourceDivergence_) {
                        dv = sourceDivergence_->divergence;
                        warm = *sourceDivergence_;
                    }
                }
                if (!std::isfinite(dv)) {
                    dv = frameDivergence(*f, target_->cloud, scenario_.divergenceEpsilon, threads_, ctx.stop, &warm, scenario_.divergenceSamples);
                    if (atSource && !ctx.cancelled()) {
                        std::lock_guard<std::mutex> lk(m_);
                        sourceDivergence_ = std::make_shared<const SinkhornDivergenceResult>(warm);
                    }
                }
                auto g = std::make_shared<Frame>(*f);
                g->setMetric("sinkhorn_divergence", dv);
                history->replace(i, g);
                if (i + 1 == history->size()) divergence = dv;
            } catch (const Error&) {
                // a degenerate frame (or a cancel): leave the metric out rather than fail the panel
            }
            notify();
        }
    }
    {
        std::lock_guard<std::mutex> lk(m_);
        Panel& p = *panel;
        // A run stopped for new parameters is followed at once by the new one: it reads as busy.
        p.status.state = (state == PanelState::Cancelled && p.dirty && !stop.stop_requested()) ? PanelState::Running : state;
        p.status.error = error;
        if (state == PanelState::Done) {
            p.shown = history;
            p.status.summary = summary;
            p.status.finalDivergence = divergence;
            p.status.progress = 1;
            p.status.stage = "done";
            p.status.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        p.jobActive = false;
    }
    cv_.notify_all();
    notify();
}

}  // namespace tl
