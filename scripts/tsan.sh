#!/usr/bin/env bash
# Runs the engine tests (runner thread, cancellation, live parameter changes) under ThreadSanitizer,
# in their own build folder (core + tst_engine only; no GUI). Qt is not built with TSan, so TSan
# cannot see Qt's internal locking. Two measures keep the step deterministic without hiding our races:
# - the tests run with QtTest's "-callgrindchild" mode, in which QtTest starts no watchdog thread
#   (the watchdog's uninstrumented handshake with the main thread was reported at random; its frames
#   carry no symbols, so no function-name suppression can match them). That mode changes only
#   QBENCHMARK measurements, which these tests do not use; `timeout` replaces the watchdog.
# - scripts/tsan.supp suppresses Qt's own QWaitCondition / QThread functions, should a Qt thread
#   appear (documented there).
# A canary with a deliberate race must still be reported under exactly these settings, so neither
# measure can hide a race in our code. TL_TSAN_REPEAT=N runs the engine tests N times (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/lib.sh
tl_fresh_if_generator_changed build-tsan
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTL_SANITIZE_THREAD=ON -DTL_BUILD_GUI=OFF
cmake --build build-tsan -j"$jobs" --target tst_engine tst_tsan_canary
supp="$(pwd)/scripts/tsan.supp"
export QT_QPA_PLATFORM=offscreen

# 1. The canary: its race must be reported (exit 66) under the same options and suppressions.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$supp" timeout 300 build-tsan/tests/tst_tsan_canary -callgrindchild >"$log" 2>&1
rc=$?
set -e
if [ "$rc" -ne 66 ] || ! grep -q "WARNING: ThreadSanitizer: data race" "$log"; then
  cat "$log"
  echo "tsan: the canary's deliberate race was not reported (exit $rc): the TSan step would miss our races" >&2
  exit 1
fi
echo "tsan: canary race reported as expected"

# 2. The engine tests: any data race in our code fails the run (halt_on_error).
repeat=${TL_TSAN_REPEAT:-1}
for ((i = 1; i <= repeat; ++i)); do
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$supp" timeout 1800 build-tsan/tests/tst_engine -callgrindchild
  echo "tsan: engine run $i/$repeat clean"
done
exit 0
