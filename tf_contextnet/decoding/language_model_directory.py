"""The language-model directory written by ``contextnet lm-train`` and read by beam search with fusion.

Layout of ``DIR``:
    lm.keras        the ``LstmLanguageModel``
    tokenizer/      the acoustic model's tokenizer (the LM's ids are its ids; checked on load)
    lm.json         ``{"format": 1, "vocabulary_size", "held_out_perplexity", ...}``
"""

from __future__ import annotations

import json
import os

import keras

from tf_contextnet.models.lstm_language_model import LstmLanguageModel

LM_FILE = "lm.keras"
TOKENIZER_DIR = "tokenizer"
INFO_FILE = "lm.json"
FORMAT_VERSION = 1


def save_language_model(directory: str | os.PathLike, model: LstmLanguageModel, tokenizer, info: dict | None = None
                        ) -> None:
    """Write ``lm.keras``, ``tokenizer/`` and ``lm.json`` into ``directory``."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    model.save(os.path.join(directory, LM_FILE))
    tokenizer.save(os.path.join(directory, TOKENIZER_DIR))
    with open(os.path.join(directory, INFO_FILE), "w", encoding="utf-8") as f:
        json.dump({"format": FORMAT_VERSION, "vocabulary_size": model.vocabulary_size, **(info or {})}, f, indent=1)


def read_language_model_info(directory: str | os.PathLike) -> dict:
    """``lm.json`` of a language-model directory."""
    path = os.path.join(os.fspath(directory), INFO_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{os.fspath(directory)!r} is not a language-model directory: {INFO_FILE} is missing "
                                f"(written by `contextnet lm-train --out DIR`)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_language_model(directory: str | os.PathLike, tokenizer=None) -> LstmLanguageModel:
    """Load the LM; with ``tokenizer`` (the acoustic model's), a ``ValueError`` when its vocabulary is not the
    one the LM was trained on."""
    from tf_contextnet.text import load_tokenizer

    directory = os.fspath(directory)
    info = read_language_model_info(directory)
    if info.get("format") != FORMAT_VERSION:
        raise ValueError(f"{directory}/{INFO_FILE}: format {info.get('format')!r}, expected {FORMAT_VERSION}")
    for name in (LM_FILE, TOKENIZER_DIR):
        if not os.path.exists(os.path.join(directory, name)):
            raise FileNotFoundError(f"{directory!r}: {name} is missing (a language-model directory holds {LM_FILE}, "
                                    f"{TOKENIZER_DIR}/ and {INFO_FILE})")
    if tokenizer is not None:
        trained_on = load_tokenizer(os.path.join(directory, TOKENIZER_DIR))
        if list(trained_on.vocabulary) != list(tokenizer.vocabulary):
            raise ValueError(f"{directory}: the language model was trained on another tokenizer ({trained_on.kind}, "
                             f"{trained_on.vocabulary_size} ids) than the acoustic model's ({tokenizer.kind}, "
                             f"{tokenizer.vocabulary_size} ids); train it with `contextnet lm-train --model DIR`")
    return keras.saving.load_model(os.path.join(directory, LM_FILE), compile=False)
