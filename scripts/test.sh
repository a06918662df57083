#!/usr/bin/env bash
# One command: install what is missing, build, and run the whole test suite headless
# (GUI tests and `transportlab-cli render` need an X server: the suite runs under xvfb-run).
# The core and cli tests run two at a time (ctest -j2), then the GUI tests one at a time (they share
# the X server and measure the GUI thread's responsiveness). Per-test timeouts are ctest properties
# (tests/CMakeLists.txt). TL_REQUIRE_ALL=1 (set here): a missing optional dependency fails a test
# instead of skipping it. Extra arguments go to both ctest runs (e.g. -R tst_measure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
export TL_REQUIRE_ALL=${TL_REQUIRE_ALL:-1}
cd build
rc=0
xvfb-run -a -s "-screen 0 1600x1000x24" ctest -L 'core|cli' -LE ui -j2 --output-on-failure "$@" || rc=$?
xvfb-run -a -s "-screen 0 1600x1000x24" ctest -L ui --output-on-failure "$@" || rc=$?
exit "$rc"
