#!/usr/bin/env bash
# Runs the engine tests (runner thread, cancellation, live parameter changes) once under
# ThreadSanitizer, in their own build folder (core + tst_engine only; no GUI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTL_SANITIZE_THREAD=ON -DTL_BUILD_GUI=OFF
cmake --build build-tsan -j"$jobs" --target tst_engine
# halt_on_error: any data race fails the run.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" QT_QPA_PLATFORM=offscreen build-tsan/tests/tst_engine
