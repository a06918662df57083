#!/usr/bin/env bash
# Builds core, transportlab-cli and the core + cli tests with AddressSanitizer + UndefinedBehaviorSanitizer
# (clang, -O2 -g, -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined,
# plus libFuzzer's coverage instrumentation, so scripts/fuzz.sh reuses the same objects; no GUI) in
# build-san/ (scripts/lib.sh: tl_configure_sanitized), and runs ctest on the labels core and cli
# (tst_cli_hostile's fuzz corpus included). Zero reports required: every process (tests and the CLI
# they start) writes its ASan / LSan / UBSan reports to build-san/sanitizer-logs/, and any file there
# fails the step, even when the test that started the process passed. LSan suppressions (third-party
# code only) are in scripts/lsan.supp, documented there. A canary (tests/asan/asan_canary.cpp) first
# proves that a heap overflow, a signed overflow and a leak are reported under exactly these settings.
# GUI tests are not run under ASan (docs/sanitizers.md says why). The tests know they are sanitized
# (TL_SANITIZED): numerics-heavy ones use smaller problems, and ctest's per-test timeouts are 4x.
# Environment: TL_ASAN_JOBS (build and ctest parallelism, default 2). Extra arguments go to ctest
# (e.g. -R tst_measure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
source scripts/lib.sh
jobs=${TL_ASAN_JOBS:-2}
build=$TL_SAN_BUILD
tl_configure_sanitized
targets=(transportlab-cli asan_canary)
for src in tests/core/tst_*.cpp tests/cli/tst_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

logs="$(pwd)/$build/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=$logs/asan"
export LSAN_OPTIONS="suppressions=$(pwd)/scripts/lsan.supp:print_suppressions=0"
# GCC's UBSan ignores log_path when combined with ASan and prints to stderr: abort_on_error turns every
# UB report (fatal: -fno-sanitize-recover) into SIGABRT, a crash that fails the test, or the test that
# started the CLI (every CLI test checks the exit status; a crash is never accepted).
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export QT_QPA_PLATFORM=offscreen
export QTEST_FUNCTION_TIMEOUT=1800000  # QtTest's 5-minute watchdog per test function, for the slower build
# 1. The canary: a heap overflow and a leak must each be reported in the log folder, a signed overflow
#    on stderr with SIGABRT (exit 134), under exactly these settings, or a clean run would prove nothing.
canary_err="$build/canary.stderr"
for kind in overflow:heap-buffer-overflow ub:"runtime error: signed integer overflow" leak:"detected memory leaks"; do
  mode=${kind%%:*}
  want=${kind#*:}
  set +e
  "$build/tests/asan_canary" "$mode" >/dev/null 2>"$canary_err"
  rc=$?
  set -e
  if [ "$rc" -eq 0 ] || ! grep -qs "$want" "$logs"/* "$canary_err" || { [ "$mode" = ub ] && [ "$rc" -ne 134 ]; }; then
    echo "asan: the canary's deliberate $mode was not reported (exit $rc): this step would miss our defects" >&2
    exit 1
  fi
  rm -f "$logs"/*
done
echo "asan: canary overflow, UB and leak reported as expected"

# 2. The core and cli tests: zero reports.
set +e
(cd "$build" && ctest -L 'core|cli' -j"$jobs" --output-on-failure "$@")
rc=$?
set -e
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  for f in $reports; do
    echo "==== $f"
    head -n 80 "$f"
  done
  echo "asan: $(echo "$reports" | wc -l) sanitizer report(s) (above; all in $logs)" >&2
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  echo "asan: ctest failed (exit $rc) without a sanitizer report" >&2
  exit "$rc"
fi
echo "asan: core and cli tests clean under ASan + UBSan"
