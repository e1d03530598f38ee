#!/usr/bin/env bash
# Install stepscope into .venv and run the main job: write a demo logdir and serve
# the dashboard on http://localhost:6006 (or the next free port) until Ctrl-C.
# Installing builds the web app too (Node.js and npm, see setup.py).
# Extra arguments go to `stepscope --logdir` (e.g. --port 6010).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check .
logdir="runs/stepscope-demo"
.venv/bin/stepscope demo "$logdir"
exec .venv/bin/stepscope --logdir "$logdir" "$@"
