// A small persistent thread pool and parallelFor over index ranges.
// Used by the kernel-reduction engine and the solvers; no Qt, no OpenMP.
#pragma once
#include <cstddef>
#include <functional>

namespace tl {

// Number of worker threads to use for `requested` (0 = all hardware threads).
int resolveThreads(int requested);

// Calls body(begin, end) on disjoint chunks covering [0, n), using up to `threads`
// threads (the caller's thread included). Chunks are handed out dynamically.
// Blocks until all chunks are done. Exceptions thrown by body are rethrown here.
void parallelFor(std::size_t n, std::size_t chunk, int threads,
                 const std::function<void(std::size_t, std::size_t)>& body);

}  // namespace tl
