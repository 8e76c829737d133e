"""Helpers for the recipe tests: recipes are folders of scripts, not packages of the library."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def import_recipe_module(recipe: str, module: str) -> ModuleType:
    """Import ``recipes/<recipe>/local/<module>.py`` as ``local.<module>``.

    Every recipe has its own ``local`` package (icefall's layout), so any ``local`` imported
    from another recipe is dropped from ``sys.modules`` first.
    """
    recipe_dir = str(RECIPES / recipe)
    loaded = sys.modules.get("local")
    if loaded is not None and not str(getattr(loaded, "__file__", "")).startswith(recipe_dir):
        for name in [n for n in sys.modules if n == "local" or n.startswith("local.")]:
            del sys.modules[name]
    if recipe_dir in sys.path:
        sys.path.remove(recipe_dir)
    sys.path.insert(0, recipe_dir)
    return importlib.import_module(f"local.{module}")
