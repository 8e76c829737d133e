"""Session fixtures for the serving tests: one tiny model directory, exported once (see
serving_fixtures.make_tiny_model_directory)."""

from __future__ import annotations

from pathlib import Path

import pytest
from serving_fixtures import make_tiny_model_directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return make_tiny_model_directory(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def exported(tiny_model_dir, tmp_path_factory) -> Path:
    """``contextnet export`` of the tiny model (SavedModel + float TFLite), run once per session."""
    from tf_contextnet.cli.main import main

    out = tmp_path_factory.mktemp("export") / "out"
    assert main(["export", "--model", str(tiny_model_dir), "--out", str(out), "--version", "3"]) == 0
    return out


@pytest.fixture(scope="session")
def loaded_saved_model(exported):
    """The exported SavedModel loaded once (TF2 API) for every test that calls its signatures."""
    import tensorflow as tf

    return tf.saved_model.load(str(exported / "saved_model" / "3"))
