// The SIMD target of every Highway kernel (the kernel engine, pair forces, the network simplex's
// cost kernels), chosen once per process. Highway compiles each kernel for several x86 targets
// (AVX3 = AVX-512, AVX2, SSE4, SSSE3, and a portable fallback for the SSE2 baseline: EMU128, or
// SCALAR where the compiler cannot build EMU128, as GCC < 12.3, Debian 12's, cannot) and dispatches
// at run time to the best one the CPU has. The environment variable TL_SIMD caps it:
//   TL_SIMD=avx3|avx2|sse4|sse2|emu128 (case-insensitive): the widest target the kernels may use.
// A target the CPU lacks falls back to the best it has, with one line on stderr; sse2 and emu128
// both select the portable fallback (reported as "emu128" or "scalar", whichever ran). An unknown value is an Error naming TL_SIMD and the
// accepted values (the CLI, bench and GUI print it and exit 2 before doing anything).
#pragma once
#include <string>
#include <vector>

namespace tl::simd {

// The accepted TL_SIMD values, as one string for messages: "avx3, avx2, sse4, sse2, emu128".
const char* acceptedValues();

// Applies TL_SIMD (once per process; later calls return at once). Throws tl::Error on an unknown
// value. Every kernel entry point calls it, so a library user needs nothing; main() calls it first
// so that a bad value fails before any work.
void configure();

// The target the kernels run on now, lower case ("avx3", "avx2", "sse4", "ssse3", "emu128", "scalar").
std::string activeTarget();

// The targets this CPU can run (compiled and supported), best first, whatever TL_SIMD says.
std::vector<std::string> cpuTargets();

// Tests only: run every kernel on `name` (one of cpuTargets()) from now on; "" restores the
// normal choice (TL_SIMD ignored). Not thread-safe against kernels running at the same time.
void forceTargetForTest(const std::string& name);

}  // namespace tl::simd
