"""The import rule of docs/interfaces.md ("floors"), checked by walking every import with ``ast``.

Lower floors (layers, models, losses, features, text, data, metrics, utils) never import the upper
ones (training, decoding, inference, serving, tuning, cli) or recipes; function-level imports
count as much as module-level ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tf_contextnet"
LOWER = ("layers", "models", "losses", "features", "text", "data", "metrics", "utils")
UPPER = ("training", "decoding", "inference", "serving", "tuning", "cli")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``path``, at any nesting depth (relative ones resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(floor: str) -> list[str]:
    bad = []
    for path in sorted((PACKAGE / floor).rglob("*.py")):
        for line, module in imported_modules(path):
            parts = module.split(".")
            upper = parts[0] == "tf_contextnet" and len(parts) > 1 and parts[1] in UPPER
            if upper or parts[0] == "recipes":
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("floor", LOWER)
def test_lower_floors_never_import_upper_ones(floor):
    assert violations(floor) == []


def test_the_checker_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    """The walker must catch what the rule forbids, or the test above could never fail."""
    fake = tmp_path / "tf_contextnet"
    (fake / "models").mkdir(parents=True)
    (fake / "models" / "bad.py").write_text(
        "def f():\n    from tf_contextnet.training import run_training\n"
        "def g():\n    from ..decoding import greedy\n"
        "import recipes.digits\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    found = violations("models")
    assert {entry.split(" imports ")[0].rsplit(":", 1)[1] for entry in found} == {"2", "4", "5"}
    assert any("tf_contextnet.decoding" in entry for entry in found)  # ``..decoding`` resolved
