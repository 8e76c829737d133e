"""The trained-model directory: everything ``contextnet transcribe`` needs, nothing else.

Layout of ``DIR``:
    model.keras        the transducer (``keras.saving.load_model``; weights, architecture)
    tokenizer/         ``Tokenizer.save`` output (``tokenizer.json`` [+ model file])
    config.json        ``{"format": 1, "sample_rate", "front_end": {"feature_extractor",
                       "normalization"} (serialised Keras layers), "decoding": {...},
                       "training": {...}}``

Training state (``backup/``, ``checkpoints/``, ``logs/``) may live beside these files; it is not
needed to transcribe.
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

import keras

from tf_contextnet.features.sample_rate import SAMPLE_RATE

MODEL_FILE = "model.keras"
TOKENIZER_DIR = "tokenizer"
CONFIG_FILE = "config.json"
FORMAT_VERSION = 1


class ModelDirectory(NamedTuple):
    """A loaded model directory."""

    model: keras.Model
    tokenizer: Any
    config: dict
    feature_extractor: keras.layers.Layer
    normalization: keras.layers.Layer | None


def save_model_directory(directory: str | os.PathLike, model: keras.Model, tokenizer, *,
                         feature_extractor: keras.layers.Layer, normalization: keras.layers.Layer | None = None,
                         decoding: dict | None = None, training: dict | None = None) -> None:
    """Write ``model.keras``, ``tokenizer/`` and ``config.json`` into ``directory``."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    model.save(os.path.join(directory, MODEL_FILE))
    tokenizer.save(os.path.join(directory, TOKENIZER_DIR))
    config = {
        "format": FORMAT_VERSION,
        "sample_rate": int(getattr(feature_extractor, "sample_rate", SAMPLE_RATE)),
        "front_end": {
            "feature_extractor": keras.saving.serialize_keras_object(feature_extractor),
            "normalization": None if normalization is None else keras.saving.serialize_keras_object(normalization),
        },
        "decoding": decoding or {"max_symbols_per_frame": 4},
        "training": training or {},
    }
    with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=1, default=str)


def load_model_directory(directory: str | os.PathLike) -> ModelDirectory:
    """Load what ``save_model_directory`` wrote; errors name the missing piece."""
    import tf_contextnet.features  # noqa: F401  (registers the front-end layers)
    import tf_contextnet.models  # noqa: F401  (registers the model classes)
    from tf_contextnet.text import load_tokenizer

    directory = os.fspath(directory)
    for name in (MODEL_FILE, CONFIG_FILE, TOKENIZER_DIR):
        if not os.path.exists(os.path.join(directory, name)):
            raise FileNotFoundError(f"{directory!r} is not a trained-model directory: {name} is missing "
                                    f"(expected {MODEL_FILE}, {TOKENIZER_DIR}/ and {CONFIG_FILE}, as written by "
                                    f"`contextnet train --out DIR`)")
    with open(os.path.join(directory, CONFIG_FILE), encoding="utf-8") as f:
        config = json.load(f)
    if config.get("format") != FORMAT_VERSION:
        raise ValueError(f"{directory}/{CONFIG_FILE}: format {config.get('format')!r}, expected {FORMAT_VERSION}")
    model = keras.saving.load_model(os.path.join(directory, MODEL_FILE), compile=False)
    front_end = config["front_end"]
    extractor = keras.saving.deserialize_keras_object(front_end["feature_extractor"])
    normalization = (None if front_end.get("normalization") is None
                     else keras.saving.deserialize_keras_object(front_end["normalization"]))
    return ModelDirectory(model, load_tokenizer(os.path.join(directory, TOKENIZER_DIR)), config, extractor,
                          normalization)
