#!/usr/bin/env bash
# Install the project from its own files into .venv and run the test suite (slow tests excluded;
# run them with: .venv/bin/python -m pytest -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
# Two worker processes, a test file each at a time (pytest-xdist): much of a TensorFlow test is
# single-threaded tracing, so two files at once use the machine's 2 cores where one alone does not.
exec .venv/bin/python -m pytest -q -m "not slow" -n 2 --dist loadfile --timeout 900 --durations=30 "$@"
