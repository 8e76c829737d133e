"""Tokenizers: text ↔ token ids with blank = 0 reserved; decoding in core TF ops only."""

from tf_contextnet.text.character_tokenizer import CharacterTokenizer
from tf_contextnet.text.core_detokenizer import CoreDetokenizer
from tf_contextnet.text.sentence_piece_tokenizer import SentencePieceTokenizer
from tf_contextnet.text.text_normalizer import TextNormalizer
from tf_contextnet.text.tokenizer import Tokenizer, load_tokenizer
from tf_contextnet.text.word_piece_tokenizer import WordPieceTokenizer

TOKENIZER_KINDS = {"characters": CharacterTokenizer, "wordpiece": WordPieceTokenizer,
                   "sentencepiece": SentencePieceTokenizer}


def train_tokenizer(kind: str, texts, vocabulary_size: int = 1000, **options) -> Tokenizer:
    """Train a tokenizer of ``kind`` (``characters``, ``wordpiece``, ``sentencepiece``) on ``texts``."""
    if kind not in TOKENIZER_KINDS:
        raise ValueError(f"unknown tokenizer kind {kind!r}; choose one of {sorted(TOKENIZER_KINDS)}")
    if kind == "characters":
        return CharacterTokenizer.train(texts)
    return TOKENIZER_KINDS[kind].train(texts, vocabulary_size=vocabulary_size, **options)


__all__ = ["CharacterTokenizer", "CoreDetokenizer", "SentencePieceTokenizer", "Tokenizer",
           "TextNormalizer", "WordPieceTokenizer", "load_tokenizer", "train_tokenizer", "TOKENIZER_KINDS"]
