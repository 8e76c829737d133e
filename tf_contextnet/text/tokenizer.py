"""The one interface shared by every tokenizer, and loading a saved one.

Shapes: B batch, U labels, V vocabulary (blank included, blank id 0).
"""

from __future__ import annotations

import json
import os
from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from tf_contextnet.text.core_detokenizer import CoreDetokenizer

BLANK_TOKEN = "<blank>"
CONFIG_FILE = "tokenizer.json"

_REGISTRY: dict[str, type["Tokenizer"]] = {}


def register_tokenizer(kind: str):
    """Class decorator: makes ``load_tokenizer`` find a tokenizer class by its ``kind``."""

    def wrap(cls: type["Tokenizer"]) -> type["Tokenizer"]:
        cls.kind = kind
        _REGISTRY[kind] = cls
        return cls

    return wrap


class Tokenizer:
    """Text ↔ token ids, with id 0 reserved for the RNN-T blank.

    Subclasses implement ``_encode`` (strings ``[B]`` → ragged ids ``[B, (U)]``, ids ``1..V-1``),
    ``surfaces()`` (the detokeniser's table), ``unknown_symbols`` and the saved state
    (``_state`` / ``_from_state``). ``decode`` is shared and uses core TF ops only.

    Attributes:
        vocabulary: token strings, index = id; ``vocabulary[0]`` is ``"<blank>"``.
    """

    kind = "base"
    strip_decoded = True
    unknown_id: int | None = None

    def __init__(self, vocabulary: Sequence[str]):
        if not vocabulary or vocabulary[0] != BLANK_TOKEN:
            raise ValueError(f"vocabulary[0] must be the blank token {BLANK_TOKEN!r}")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("the vocabulary contains duplicate tokens")
        self.vocabulary = list(vocabulary)
        self._detokenizer = CoreDetokenizer(self.surfaces(), strip=self.strip_decoded)

    @property
    def vocabulary_size(self) -> int:
        """V, the blank included."""
        return len(self.vocabulary)

    def encode(self, texts: tf.Tensor | str | Sequence[str]) -> tf.RaggedTensor:
        """Strings ``[B]`` (or one string) → ``tf.RaggedTensor`` int32 ``[B, (U)]`` (or ``[(U)]``).

        Usable inside ``tf.data`` maps and ``tf.function``s.
        """
        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        if texts.shape.rank == 0:
            return self._encode(texts[tf.newaxis])[0]
        return self._encode(texts)

    def decode(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        """Ids ``[B, U]`` (0-padded, or ragged) → strings ``[B]``; 0 = blank is dropped."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        return self._detokenizer(ids)

    @property
    def detokenizer(self) -> CoreDetokenizer:
        """The core-TF decoder, a ``tf.Module`` to attach to exported models."""
        return self._detokenizer

    def decode_to_python(self, ids: Any) -> list[str]:
        """``decode`` as a list of Python strings."""
        return [t.decode("utf-8") for t in self.decode(ids).numpy().reshape(-1)]

    def label_statistics(self, texts: Sequence[str], chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Per text: the number of labels ``encode`` gives, and whether any part is unknown.

        Never fails on unknown parts (unlike a character tokenizer's ``encode``); used to count
        and name what ``make_dataset`` filters before it builds the pipeline.
        """
        lengths, unknown = [], []
        for start in range(0, len(texts), chunk):
            ids = self.encode(list(texts[start:start + chunk]))
            lengths.append(ids.row_lengths().numpy())
            unknown.append(tf.reduce_any(tf.equal(ids, self.unknown_id), axis=-1).numpy())
        if not lengths:
            return np.zeros([0], np.int64), np.zeros([0], bool)
        return np.concatenate(lengths), np.concatenate(unknown)

    def unknown_symbols(self, text: str) -> list[str]:
        """The parts of ``text`` this tokenizer cannot represent (empty when it can)."""
        raise NotImplementedError

    def surfaces(self) -> list[str]:
        raise NotImplementedError

    def _encode(self, texts: tf.Tensor) -> tf.RaggedTensor:
        raise NotImplementedError

    def _state(self, directory: str) -> dict[str, Any]:
        """JSON-serialisable state; may write extra files into ``directory``."""
        raise NotImplementedError

    @classmethod
    def _from_state(cls, state: dict[str, Any], directory: str) -> "Tokenizer":
        raise NotImplementedError

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``tokenizer.json`` (and any model file) into ``directory``."""
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        state = {"kind": self.kind, "vocabulary": self.vocabulary, **self._state(directory)}
        with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False, indent=1)

    @staticmethod
    def load(directory: str | os.PathLike) -> "Tokenizer":
        """The tokenizer saved by ``save(directory)``, whatever its kind."""
        return load_tokenizer(directory)


def load_tokenizer(directory: str | os.PathLike) -> Tokenizer:
    """Load the tokenizer saved in ``directory`` (dispatches on the saved ``kind``)."""
    directory = os.fspath(directory)
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no tokenizer in {directory!r}: {CONFIG_FILE} is missing")
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    kind = state.get("kind")
    # Importing the package registers every built-in kind.
    import tf_contextnet.text  # noqa: F401

    if kind not in _REGISTRY:
        raise ValueError(f"{path}: unknown tokenizer kind {kind!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[kind]._from_state(state, directory)


def make_lookup_table(vocabulary: Sequence[str]) -> tf.lookup.StaticHashTable:
    """token string → id (int64), -1 for strings not in the vocabulary."""
    keys = tf.constant(list(vocabulary), dtype=tf.string)
    values = tf.range(len(vocabulary), dtype=tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), default_value=-1)
