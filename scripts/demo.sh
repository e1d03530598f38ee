#!/usr/bin/env bash
# Install stepscope into .venv and run the main job: write a demo logdir and show what is in it.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check .
.venv/bin/stepscope demo "${1:-runs/stepscope-demo}"
