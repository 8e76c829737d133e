"""Pytest configuration shared by every test module."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

SHARED_DATA = Path(os.environ.get("TF_CONTEXTNET_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def _shared_subdir(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real-speech data {path} is absent (set TF_CONTEXTNET_SHARED_DATA or place "
                    f"../shared/data beside the project root)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project root; skips the test with a reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-speech data {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    """Free Spoken Digit Dataset (8 kHz WAV, manifest.tsv)."""
    return _shared_subdir("fsdd")


@pytest.fixture(scope="session")
def ljspeech_dir() -> Path:
    """LJ Speech excerpt (22.05 kHz WAV, manifest.tsv)."""
    return _shared_subdir("ljspeech")


@pytest.fixture(scope="session")
def librispeech_audio_dir() -> Path:
    """Real LibriSpeech FLAC utterances (no transcripts)."""
    return _shared_subdir("librispeech_audio")


@pytest.fixture(autouse=True)
def _reset_keras_state():
    """Each test starts with the float32 policy and a fresh Keras name scope."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    keras.utils.clear_session()
    yield
    keras.mixed_precision.set_global_policy("float32")
