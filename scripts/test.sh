#!/usr/bin/env bash
# Install the project from its own files into .venv and run the test suite (slow tests excluded;
# run them with: .venv/bin/python -m pytest -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
exec .venv/bin/python -m pytest -q -m "not slow" --timeout 900 --durations=15 "$@"
