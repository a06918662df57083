#!/usr/bin/env bash
# One command: install what is missing, build, and launch the TransportLab window on its
# default scenario. Extra arguments go to the app (e.g. --source SPEC --target SPEC).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run.sh: no display found; starting the app under xvfb-run (use --screenshot FILE.png to capture it)" >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" build/app/gui/transportlab "$@"
fi
exec build/app/gui/transportlab "$@"
