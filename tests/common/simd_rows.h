// Kernel tests run once per SIMD target this CPU has (non-negotiable 2): a test class calls
// tltest::simdRows() from initTestCase_data() and tltest::useSimdRow() from init(). QtTest then runs
// every test function once per global row ("avx3", "avx2", "sse4", "ssse3", and "emu128" or "scalar",
// the portable fallback; as far as the CPU has them), with Highway's dispatch forced to that row's target, and checks that the kernels
// really ran there. TL_SIMD does not apply inside these tests (forceTargetForTest ignores it).
// Under TL_SIMD_ROWS=best only the CPU's best target gets a row (a quick local run).
#pragma once

#include <QString>
#include <QTest>

#include <cstdlib>
#include <cstring>

#include "kernels/reduce.h"
#include "util/simd.h"

namespace tltest {

inline void simdRows() {
    QTest::addColumn<QString>("simd");
    const char* only = std::getenv("TL_SIMD_ROWS");
    for (const auto& t : tl::simd::cpuTargets()) {
        QTest::newRow(t.c_str()) << QString::fromStdString(t);
        if (only && std::strcmp(only, "best") == 0) break;
    }
}

// Whether this is the first row (the CPU's best target). Sanitized builds (TL_SANITIZED) run the long
// convergence checks, the same kernels for 10^4 iterations and more, on that row only: every row still
// runs every other check, which reaches each target's loops and tails.
inline bool onBestSimdRow() {
    QFETCH_GLOBAL(QString, simd);
    const auto targets = tl::simd::cpuTargets();
    return !targets.empty() && simd.toStdString() == targets.front();
}

// Forces this row's target; fails the test function if the kernels would run elsewhere.
inline void useSimdRow() {
    QFETCH_GLOBAL(QString, simd);
    tl::simd::forceTargetForTest(simd.toStdString());
    QCOMPARE(QString::fromStdString(tl::kernels::simdTargetName()), simd);
    QCOMPARE(QString::fromStdString(tl::simd::activeTarget()), simd);
}

}  // namespace tltest
