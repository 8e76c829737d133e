"""Random and mutated WAV bytes into serving_default: every failure an error status, no crash or hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hypothesis", reason="hypothesis (the 'dev' extra) is not installed")
CLIENT = Path(__file__).with_name("wav_fuzz_client.py")


def _fuzz(exported, cases: int, timeout: int) -> dict:
    result = subprocess.run([sys.executable, str(CLIENT), str(exported / "saved_model" / "3"), str(cases)],
                            capture_output=True, text=True, timeout=timeout, check=False,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, f"the serving process crashed (exit {result.returncode}):\n{result.stderr[-3000:]}"
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["other"] == []
    assert counts["cases"] >= cases and counts["ok"] + counts["invalid_argument"] == counts["cases"]
    assert counts["ok"] > 0 and counts["invalid_argument"] > 0
    return counts


def test_fuzz_200_cases(exported):
    _fuzz(exported, 200, timeout=900)


@pytest.mark.slow
def test_fuzz_2000_cases(exported):
    _fuzz(exported, 2000, timeout=3600)
