"""WordPiece tokenizer learnt from transcripts with tensorflow-text's vocabulary learner.

Shapes: B batch, U labels (word pieces), V vocabulary (blank included, blank id 0).
"""

from __future__ import annotations

import collections
from typing import Any, Iterable, Sequence

import tensorflow as tf

from tf_contextnet.text.tokenizer import BLANK_TOKEN, Tokenizer, make_lookup_table, register_tokenizer

UNKNOWN_TOKEN = "[UNK]"
SUFFIX_INDICATOR = "##"


@register_tokenizer("wordpiece")
class WordPieceTokenizer(Tokenizer):
    """Words split on whitespace, then greedy longest-match word pieces (``##`` marks a suffix).

    The paper (Han et al. 2020, §3.1) uses a 1k word-piece vocabulary. Words are split on
    whitespace only (no punctuation splitting), so ``decode(encode(t))`` equals ``t`` up to
    runs of whitespace whenever every character of ``t`` was seen in training.

    Args:
        pieces: the learnt vocabulary without the blank (``"[UNK]"`` included).
    """

    def __init__(self, pieces: Sequence[str]):
        pieces = list(pieces)
        if UNKNOWN_TOKEN not in pieces:
            raise ValueError(f"a WordPiece vocabulary must contain {UNKNOWN_TOKEN!r}")
        self.pieces = pieces
        super().__init__([BLANK_TOKEN] + pieces)
        self._table = make_lookup_table(self.vocabulary)
        self.unknown_id = self.vocabulary.index(UNKNOWN_TOKEN)
        self._tokenizer = None

    @classmethod
    def train(cls, texts: Iterable[str], vocabulary_size: int = 1000,
              **learn_params: Any) -> "WordPieceTokenizer":
        """Learn at most ``vocabulary_size`` ids (blank included) from ``texts``.

        Uses ``tensorflow_text.tools.wordpiece_vocab.wordpiece_tokenizer_learner_lib.learn`` on
        whitespace-split word counts; ``learn_params`` go to it (``lower_thresh`` defaults to 1
        so small corpora keep their words).
        """
        from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

        counts = collections.Counter(word for text in texts for word in text.split())
        if not counts:
            raise ValueError("cannot learn a WordPiece vocabulary from no words")
        if vocabulary_size < 3:
            raise ValueError(f"vocabulary_size must be at least 3, got {vocabulary_size}")
        learn_params.setdefault("lower_thresh", 1)
        vocab = learner.learn(sorted(counts.items()), vocab_size=vocabulary_size - 1,
                              reserved_tokens=[UNKNOWN_TOKEN], **learn_params)
        return cls(vocab)

    def surfaces(self) -> list[str]:
        surfaces = [""]
        for piece in self.pieces:
            if piece.startswith(SUFFIX_INDICATOR):
                surfaces.append(piece[len(SUFFIX_INDICATOR):])
            else:
                surfaces.append(" " + piece)
        return surfaces

    def _wordpiece(self):
        if self._tokenizer is None:
            import tensorflow_text as tf_text

            self._tokenizer = tf_text.WordpieceTokenizer(
                self._table, suffix_indicator=SUFFIX_INDICATOR, unknown_token=UNKNOWN_TOKEN,
                token_out_type=tf.int64)
        return self._tokenizer

    def unknown_symbols(self, text: str) -> list[str]:
        words = text.split()
        if not words:
            return []
        ids = self._wordpiece().tokenize(tf.constant(words))
        return sorted({w for w, row in zip(words, ids.to_list()) if self.unknown_id in row})

    def _encode(self, texts: tf.Tensor) -> tf.RaggedTensor:
        words = tf.strings.split(texts)
        ids = self._wordpiece().tokenize(words)
        return tf.cast(ids.merge_dims(-2, -1), tf.int32)

    def _state(self, directory: str) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_state(cls, state: dict[str, Any], directory: str) -> "WordPieceTokenizer":
        return cls(state["vocabulary"][1:])
