"""One sample rate: defined once in ``features/sample_rate.py``, imported everywhere else."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import tf_contextnet
from tf_contextnet.features import SAMPLE_RATE, LogMelSpectrogram, decode_wav, load_audio
from tf_contextnet.features.resample import COMMON_SAMPLE_RATES

PACKAGE = Path(tf_contextnet.__file__).parent
DEFINITION = PACKAGE / "features" / "sample_rate.py"


def _constants(tree: ast.AST) -> list[tuple[int, int]]:
    """``(line, value)`` of every integer literal 16000 outside the table of common rates."""
    table = {id(n) for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
             and getattr(node.target, "id", "") == "COMMON_SAMPLE_RATES" for n in ast.walk(node)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and n.value == 16000 and id(n) not in table]


def _assigned_names(node: ast.AST) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return {getattr(t, "id", "") for t in targets}


def test_no_other_module_defines_or_spells_the_rate():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == DEFINITION:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{path.relative_to(PACKAGE)}:{line} literal" for line, _ in _constants(tree)]
        found += [f"{path.relative_to(PACKAGE)}:{node.lineno} assigns SAMPLE_RATE" for node in ast.walk(tree)
                  if "SAMPLE_RATE" in _assigned_names(node)]
    assert found == []


def test_the_defaults_follow_the_one_definition():
    assert SAMPLE_RATE == 16000 and SAMPLE_RATE in COMMON_SAMPLE_RATES
    assert LogMelSpectrogram().sample_rate == SAMPLE_RATE
    for function in (load_audio, decode_wav):
        assert inspect.signature(function).parameters["sample_rate"].default == SAMPLE_RATE
