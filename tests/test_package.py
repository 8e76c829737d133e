"""The package's public surface: every exported name resolves, and importing it is cheap."""

from __future__ import annotations

import subprocess
import sys

import tf_contextnet


def test_every_exported_name_resolves():
    missing = [name for name in tf_contextnet.__all__ if getattr(tf_contextnet, name, None) is None]
    assert not missing, f"exported but unresolvable: {missing}"


def test_unknown_name_is_an_attribute_error():
    try:
        tf_contextnet.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("unknown attribute did not raise")


def test_import_has_no_tensorflow_side_effect():
    code = "import sys, tf_contextnet; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
