#!/usr/bin/env bash
# Install the test dependencies into .venv and run every check and the whole suite.
# This is the README's test command and what CI runs (.ci/run). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
# torch is pinned to 2.13.0 in the [test] extra: on this project's machines that
# resolves to the local CPU wheel (any other spec downloads GBs of CUDA).
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
