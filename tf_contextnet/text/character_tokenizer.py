"""Character tokenizer: one id per Unicode character (the space included).

Shapes: B batch, U labels (characters), V vocabulary (blank included, blank id 0).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import tensorflow as tf

from tf_contextnet.text.tokenizer import BLANK_TOKEN, Tokenizer, make_lookup_table, register_tokenizer


@register_tokenizer("characters")
class CharacterTokenizer(Tokenizer):
    """Ids ``1..V-1`` for the characters in ``characters``; blank is 0.

    Encoding a transcript with a character outside the vocabulary fails with
    ``tf.errors.InvalidArgumentError`` naming the transcript (in Python, use
    ``unknown_symbols`` first to name the characters, as ``make_dataset`` does).

    Args:
        characters: the alphabet, each entry a single character, no duplicates.
    """

    strip_decoded = False

    def __init__(self, characters: Sequence[str]):
        characters = list(characters)
        bad = [c for c in characters if len(c) != 1]
        if bad:
            raise ValueError(f"characters must be single characters, got {bad[:5]!r}")
        self.characters = characters
        super().__init__([BLANK_TOKEN] + characters)
        self._table = make_lookup_table(self.vocabulary)
        self._known = set(characters)

    @classmethod
    def train(cls, texts: Iterable[str]) -> "CharacterTokenizer":
        """The alphabet of ``texts``, sorted by code point."""
        alphabet: set[str] = set()
        for text in texts:
            alphabet.update(text)
        if not alphabet:
            raise ValueError("cannot build a character vocabulary from no text")
        return cls(sorted(alphabet))

    def surfaces(self) -> list[str]:
        return [""] + self.characters

    def label_statistics(self, texts: Sequence[str], chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.array([len(t) for t in texts], np.int64)
        unknown = np.array([not self._known.issuperset(t) for t in texts], bool)
        return lengths, unknown

    def unknown_symbols(self, text: str) -> list[str]:
        return sorted({c for c in text if c not in self._known})

    def _encode(self, texts: tf.Tensor) -> tf.RaggedTensor:
        chars = tf.strings.unicode_split(texts, "UTF-8")
        ids = tf.ragged.map_flat_values(self._table.lookup, chars)
        unknown = tf.reduce_any(ids < 0, axis=-1)
        check = tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(unknown)),
            ["CharacterTokenizer: transcript(s) with characters outside the vocabulary:",
             tf.boolean_mask(texts, unknown)], summarize=8)
        with tf.control_dependencies([check]):
            return tf.cast(tf.identity(ids), tf.int32)

    def _state(self, directory: str) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_state(cls, state: dict[str, Any], directory: str) -> "CharacterTokenizer":
        return cls(state["vocabulary"][1:])
