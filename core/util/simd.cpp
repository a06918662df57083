#include "util/simd.h"

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "util/error.h"
#include "util/quote.h"

namespace tl::simd {

namespace {

struct Named {
    const char* name;
    std::int64_t bit;
};

// Best first. Lower Highway bits are better targets.
constexpr Named kTargets[] = {
#if HWY_ARCH_X86
    {"avx3_dl", HWY_AVX3_DL}, {"avx3", HWY_AVX3}, {"avx2", HWY_AVX2}, {"sse4", HWY_SSE4}, {"ssse3", HWY_SSSE3},
#endif
    {"emu128", HWY_EMU128},   {"scalar", HWY_SCALAR},
};

// What TL_SIMD accepts, and the target each value caps the kernels at.
constexpr Named kAccepted[] = {
#if HWY_ARCH_X86
    {"avx3", HWY_AVX3}, {"avx2", HWY_AVX2}, {"sse4", HWY_SSE4}, {"sse2", HWY_EMU128},
#endif
    {"emu128", HWY_EMU128},
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

const char* nameOf(std::int64_t bit) {
    for (const auto& t : kTargets)
        if (t.bit == bit) return t.name;
    return "unknown";
}

std::int64_t best(std::int64_t mask) { return mask & -mask; }

// Compiled into the kernels and supported by the CPU (before any cap).
std::int64_t cpuMask() {
    static const std::int64_t mask = hwy::SupportedTargets() & HWY_TARGETS;
    return mask;
}

std::once_flag g_once;
bool g_forced = false;

void apply() {
    (void)cpuMask();  // read the CPU's own set before anything is disabled
    const char* env = std::getenv("TL_SIMD");
    if (!env || !*env) return;
    const std::string want = lower(env);
    const Named* hit = nullptr;
    for (const auto& a : kAccepted)
        if (want == a.name) hit = &a;
    if (!hit) throw Error("TL_SIMD=" + tl::quoted(env) + " is not a SIMD target: use one of " + acceptedValues());
    // Every target better than the cap is disabled; Highway then dispatches to the best one left.
    hwy::DisableTargets(hit->bit - 1);
    const std::int64_t got = best(hwy::SupportedTargets() & HWY_TARGETS);
    if (got != hit->bit && hit->bit != HWY_EMU128)
        std::fprintf(stderr, "transportlab: TL_SIMD=%s: this CPU has no %s; the kernels use %s\n", want.c_str(), hit->name, nameOf(got));
}

}  // namespace

const char* acceptedValues() {
    static const std::string s = [] {
        std::string r;
        for (const auto& a : kAccepted) r += (r.empty() ? "" : ", ") + std::string(a.name);
        return r;
    }();
    return s.c_str();
}

void configure() {
    std::call_once(g_once, [] {
        if (!g_forced) apply();
    });
}

std::string activeTarget() {
    configure();
    return nameOf(best(hwy::SupportedTargets() & HWY_TARGETS));
}

std::vector<std::string> cpuTargets() {
    std::vector<std::string> r;
    for (const auto& t : kTargets)
        if (cpuMask() & t.bit) r.push_back(t.name);
    return r;
}

void forceTargetForTest(const std::string& name) {
    (void)cpuMask();
    std::call_once(g_once, [] { g_forced = true; });  // TL_SIMD no longer applies
    hwy::DisableTargets(0);
    if (name.empty()) {
        hwy::SetSupportedTargetsForTest(0);
        return;
    }
    for (const auto& t : kTargets)
        if (t.name == name) {
            if (!(cpuMask() & t.bit)) throw Error("SIMD target " + name + " is not supported by this CPU");
            hwy::SetSupportedTargetsForTest(t.bit);
            return;
        }
    throw Error("unknown SIMD target " + tl::quoted(name));
}

}  // namespace tl::simd
