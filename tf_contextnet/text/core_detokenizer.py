"""Token ids → text with core TensorFlow ops only (no tensorflow-text at load time).

Shapes: B batch, U labels, V vocabulary (blank included, blank id 0).
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf


class CoreDetokenizer(tf.Module):
    """Maps ids ``[..., U]`` to strings ``[...]`` through a table of surface forms.

    Every tokenizer of :mod:`tf_contextnet.text` reduces detokenisation to one rule: each id has
    a *surface* string (a WordPiece ``##ing`` has surface ``"ing"``, a word-initial piece ``"go"``
    has ``" go"``, a SentencePiece ``"▁go"`` has ``" go"``, a character is itself), the surfaces
    are concatenated, and word-based vocabularies strip the leading space. The graph is
    ``tf.gather`` over a string constant, ``tf.strings.reduce_join`` and ``tf.strings.strip``, so a
    SavedModel that decodes loads where tensorflow-text is not installed (TF Serving).

    Args:
        surfaces: surface string of each id ``0..V-1``; id 0 (blank) must map to ``""``.
        strip: strip leading/trailing whitespace of the joined string (word-based vocabularies).
    """

    def __init__(self, surfaces: Sequence[str], strip: bool, name: str | None = None):
        super().__init__(name=name)
        if not surfaces or surfaces[0] != "":
            raise ValueError("surfaces[0] is the blank's surface and must be the empty string")
        self.surfaces = tf.constant(list(surfaces), dtype=tf.string)
        self.strip = strip

    @property
    def vocabulary_size(self) -> int:
        return int(self.surfaces.shape[0])

    def __call__(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        """Decode ``ids`` (dense 0-padded or ragged, rank ≥ 1) to strings of rank ``rank - 1``.

        Blank/padding (0) and ids outside ``0..V-1`` contribute nothing.
        """
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(0)
        ids = tf.cast(ids, tf.int32)
        valid = tf.logical_and(ids >= 0, ids < tf.shape(self.surfaces)[0])
        pieces = tf.gather(self.surfaces, tf.where(valid, ids, tf.zeros_like(ids)))
        text = tf.strings.reduce_join(pieces, axis=-1)
        if self.strip:
            text = tf.strings.strip(text)
        return text
