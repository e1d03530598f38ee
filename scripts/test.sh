#!/usr/bin/env bash
# Install the test dependencies into .venv and run every check and the whole suite.
# This is the README's test command and what CI runs (.ci/run). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests drive Debian's Chromium (Playwright's own browser download
# does not work on our machines).
if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium for the browser tests"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq chromium >/dev/null
fi

python3 -m venv .venv
# torch is pinned to 2.13.0 in the [test] extra: on this project's machines that
# resolves to the local CPU wheel (any other spec downloads GBs of CUDA).
# Installing also builds the web app (npm, see setup.py).
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== generated protobuf modules"
.venv/bin/python scripts/gen_protos.py --check
echo "== pytest"
.venv/bin/python -m pytest "$@"
