#!/usr/bin/env bash
# One command: install what is missing, build, and run the whole test suite headless
# (GUI tests need an X server: the suite runs under xvfb-run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
xvfb-run -a -s "-screen 0 1600x1000x24" ctest --output-on-failure --timeout 900 "$@"
