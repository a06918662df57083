// A small persistent thread pool and parallelFor over index ranges.
// Used by the kernel-reduction engine and the solvers; no Qt, no OpenMP.
#pragma once
#include <cstddef>
#include <functional>
#include <stop_token>

#include "util/error.h"

namespace tl {

// Number of worker threads to use for `requested` (0 = all hardware threads).
int resolveThreads(int requested);

// Calls body(begin, end) on disjoint chunks covering [0, n), using up to `threads`
// threads (the caller's thread included). Chunks are handed out dynamically.
// Blocks until all chunks are done. Exceptions thrown by body are rethrown here.
// Under a CancelScope whose token is stopped, no further chunk starts and Cancelled is thrown:
// a stop takes effect within one chunk (microseconds to milliseconds), also inside one long field
// evaluation, kernel reduction or Sinkhorn pass.
void parallelFor(std::size_t n, std::size_t chunk, int threads,
                 const std::function<void(std::size_t, std::size_t)>& body);

// What parallelFor throws when its caller's CancelScope was stopped (a tl::Error: the code that
// treats a failed step as "leave it out" treats a cancelled one the same).
struct Cancelled : Error {
    Cancelled() : Error("cancelled") {}
};

// Every parallelFor called on this thread while the scope lives stops at `stop` (the runner sets
// one per panel run with the run's token). Scopes nest; the innermost wins.
class CancelScope {
public:
    explicit CancelScope(std::stop_token stop);
    ~CancelScope();
    CancelScope(const CancelScope&) = delete;
    CancelScope& operator=(const CancelScope&) = delete;

private:
    std::stop_token stop_;
    const std::stop_token* outer_;
};

// The token of this thread's innermost CancelScope (a token that never stops when there is none).
std::stop_token currentCancelToken();

}  // namespace tl
