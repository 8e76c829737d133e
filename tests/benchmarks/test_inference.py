"""benchmarks/inference.py: the fixed and per-token costs from the ``none`` and ``cap`` rows, and a
smoke run end to end (slow) in which the blank-biased model emits nothing and the untrained one
emits tokens, as many in TFLite as in Keras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmark_scripts import BENCHMARKS, load_benchmark_script

SCRIPT = BENCHMARKS / "inference.py"


def load_benchmark():
    return load_benchmark_script("inference")


def _row(backend, model, p50, tokens, batch=1):
    return {"backend": backend, "model": model, "batch": batch, "p50": p50, "p90": p50, "audio_s": 10.0 * batch,
            "tokens": tokens}


def test_token_costs_by_hand():
    rows = [_row("tflite_float", "none", 0.040, 0), _row("tflite_float", "cap", 0.290, 500),
            _row("keras", "none", 0.120, 0), _row("keras", "cap", 0.620, 500),
            _row("keras", "cap", 5.0, 500, batch=8)]  # batch 8 rows are not used
    costs = {c["backend"]: c for c in load_benchmark().token_costs(rows, target_rtf=0.01)}
    float_ = costs["tflite_float"]
    assert float_["fixed"] == pytest.approx(0.040)
    assert float_["per_token"] == pytest.approx(0.250 / 500)  # 0.5 ms a token
    assert float_["tokens_at_target"] == 120  # (0.1 s - 0.04 s) / 0.5 ms
    assert costs["keras"]["per_token"] == pytest.approx(0.001)
    assert costs["keras"]["tokens_at_target"] == 0  # 0.12 s fixed is already above RTF 0.01 of 10 s


def test_no_cost_row_without_both_models():
    assert load_benchmark().token_costs([_row("keras", "cap", 0.5, 500)], target_rtf=0.01) == []


@pytest.mark.slow
def test_smoke_run_tokens_and_tables(tmp_path: Path):
    out = tmp_path / "inference.md"
    result = subprocess.run([sys.executable, str(SCRIPT), "--alpha", "0.125", "--vocabulary-size", "32", "--seconds", "2",
                             "--repeats", "2", "--warmup", "1", "--batch", "2", "--backends", "keras,tflite_float",
                             "--work", str(tmp_path / "work"), "--out", str(out)],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split("|")[1:-1] for line in out.read_text().splitlines() if line.startswith("| keras")
             or line.startswith("| tflite")]
    rows = [[cell.strip() for cell in line] for line in lines if len(line) == 9]
    tokens = {(r[0], r[1], r[2]): int(r[3]) for r in rows}
    for backend in ("keras", "tflite_float"):
        assert tokens[(backend, "none", "1")] == 0
        assert tokens[(backend, "cap", "1")] > 0
    assert tokens[("keras", "cap", "1")] == tokens[("tflite_float", "cap", "1")]  # the same greedy rule
    assert "tokens for RTF 0.01" in out.read_text()
