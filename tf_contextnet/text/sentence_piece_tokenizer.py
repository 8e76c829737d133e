"""SentencePiece tokenizer (unigram or BPE) trained with ``sentencepiece``, run with tensorflow-text.

Shapes: B batch, U labels (pieces), V vocabulary (blank included, blank id 0).
"""

from __future__ import annotations

import io
import os
from typing import Any, Iterable

import tensorflow as tf

from tf_contextnet.text.tokenizer import BLANK_TOKEN, Tokenizer, register_tokenizer

MODEL_FILE = "sentencepiece.model"
WORD_BOUNDARY = "\u2581"


@register_tokenizer("sentencepiece")
class SentencePieceTokenizer(Tokenizer):
    """A SentencePiece model whose id 0 is the blank (trained with ``pad_id=0``, ``unk_id=1``).

    The model is trained with the identity normaliser, so ``decode(encode(t))`` equals ``t`` up
    to runs of whitespace whenever every character of ``t`` was seen in training.

    Args:
        model_proto: the serialised SentencePiece ``ModelProto``.
    """

    def __init__(self, model_proto: bytes):
        import sentencepiece as spm

        self.model_proto = bytes(model_proto)
        processor = spm.SentencePieceProcessor(model_proto=self.model_proto)
        if processor.pad_id() != 0:
            raise ValueError(f"the SentencePiece model must have pad_id=0 (the blank), got {processor.pad_id()}")
        self._processor = processor
        pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        self.unknown_id = processor.unk_id()
        super().__init__([BLANK_TOKEN] + pieces[1:])
        self._tokenizer = None

    @classmethod
    def train(cls, texts: Iterable[str], vocabulary_size: int = 1000, model_type: str = "unigram",
              **trainer_options: Any) -> "SentencePieceTokenizer":
        """Train on ``texts``; at most ``vocabulary_size`` ids (blank included).

        ``model_type`` is ``"unigram"`` or ``"bpe"``; ``trainer_options`` go to
        ``SentencePieceTrainer.train``. ``hard_vocab_limit=False`` lets small corpora give fewer.
        """
        import sentencepiece as spm

        if model_type not in ("unigram", "bpe"):
            raise ValueError(f"model_type must be 'unigram' or 'bpe', got {model_type!r}")
        texts = [t for t in texts if t.strip()]
        if not texts:
            raise ValueError("cannot train SentencePiece on no text")
        options = dict(vocab_size=vocabulary_size, model_type=model_type, pad_id=0, unk_id=1,
                       bos_id=-1, eos_id=-1, character_coverage=1.0, hard_vocab_limit=False,
                       normalization_rule_name="identity", minloglevel=2, num_threads=1)
        options.update(trainer_options)
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=model, **options)
        return cls(model.getvalue())

    def surfaces(self) -> list[str]:
        surfaces = [""]
        for i, piece in enumerate(self.vocabulary[1:], start=1):
            if i == self.unknown_id:
                surfaces.append(" \u2047 ")
            else:
                surfaces.append(piece.replace(WORD_BOUNDARY, " "))
        return surfaces

    def _sentencepiece(self):
        if self._tokenizer is None:
            import tensorflow_text as tf_text

            self._tokenizer = tf_text.SentencepieceTokenizer(model=self.model_proto, out_type=tf.int32)
        return self._tokenizer

    def unknown_symbols(self, text: str) -> list[str]:
        pieces = self._processor.encode(text, out_type=int)
        if self.unknown_id not in pieces:
            return []
        return sorted({c for c in text if not c.isspace()
                       and self.unknown_id in self._processor.encode(c, out_type=int)})

    def _encode(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self._sentencepiece().tokenize(texts)

    def _state(self, directory: str) -> dict[str, Any]:
        with open(os.path.join(directory, MODEL_FILE), "wb") as f:
            f.write(self.model_proto)
        return {"model_file": MODEL_FILE}

    @classmethod
    def _from_state(cls, state: dict[str, Any], directory: str) -> "SentencePieceTokenizer":
        with open(os.path.join(directory, state["model_file"]), "rb") as f:
            return cls(f.read())
