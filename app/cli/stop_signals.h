// SIGINT and SIGTERM during a long CLI command (simulate, sweep, render): while a StopSignals lives,
// either signal only sets a flag the command polls (runs are cancelled, nothing is written, staged
// output is removed); the previous handlers come back when it ends. One place for every command.
#pragma once
#include <atomic>
#include <csignal>

#include <chrono>

#include "engine/runner.h"
#include "util/error.h"

namespace tl::cli {

inline std::atomic<bool> gStopRequested{false};
extern "C" inline void onStopSignal(int) { gStopRequested = true; }

class StopSignals {
public:
    StopSignals() {
        gStopRequested = false;
        int_ = std::signal(SIGINT, onStopSignal);
        term_ = std::signal(SIGTERM, onStopSignal);
    }
    ~StopSignals() {
        std::signal(SIGINT, int_);
        std::signal(SIGTERM, term_);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;
    static bool requested() { return gStopRequested; }
    static void check() {
        if (gStopRequested) throw Error("interrupted: nothing was written");
    }
    // Waits until `runner` is idle, polling the flag every 100 ms; a signal cancels the run and, once
    // the runner has stopped, throws "interrupted: nothing was written".
    static void wait(Runner& runner) {
        while (!runner.waitIdle(std::chrono::milliseconds(100))) {
            if (requested()) {
                runner.cancel();
                runner.waitIdle();
                check();
            }
        }
    }

private:
    void (*int_)(int) = SIG_DFL;
    void (*term_)(int) = SIG_DFL;
};

}  // namespace tl::cli
