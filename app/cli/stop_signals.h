// SIGINT and SIGTERM during a long CLI command (simulate, sweep, render): while a StopSignals lives,
// either signal only sets a flag the command polls (runs are cancelled, nothing is written, staged
// output is removed); the previous handlers come back when it ends. One place for every command.
#pragma once
#include <atomic>
#include <csignal>

#include <chrono>
#include <string>

#include "engine/runner.h"
#include "util/error.h"

namespace tl::cli {

inline std::atomic<bool> gStopRequested{false};
inline std::atomic<int> gStopSignal{0};
extern "C" inline void onStopSignal(int sig) {
    gStopSignal = sig;
    gStopRequested = true;
}

// What a command throws once a signal stopped it: runCli prints one line and exits 128 + signal
// (130 for SIGINT, 143 for SIGTERM), as a shell reports a process killed by it.
struct Interrupted : Error {
    int signal;
    explicit Interrupted(int sig)
        : Error(std::string("interrupted by ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": nothing was written"), signal(sig) {}
    int exitCode() const { return 128 + signal; }
};

class StopSignals {
public:
    StopSignals() {
        gStopRequested = false;
        gStopSignal = 0;
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
        if (gStopRequested) throw Interrupted(gStopSignal ? gStopSignal.load() : SIGINT);
    }
    // Waits until `runner` is idle, polling the flag every 10 ms; a signal cancels the run (which
    // stops within one chunk of its parallel loops) and, once the runner has stopped, throws
    // Interrupted.
    static void wait(Runner& runner) {
        while (!runner.waitIdle(std::chrono::milliseconds(10))) {
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
