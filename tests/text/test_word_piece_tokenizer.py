"""WordPieceTokenizer: learnt vocabulary, greedy longest-match ids checked against a Python reference."""

from __future__ import annotations

import pytest
import tensorflow as tf

from tf_contextnet.text import WordPieceTokenizer, load_tokenizer

from .conftest import SMALL_CORPUS


def reference_wordpiece(text: str, vocabulary: list[str]) -> list[int]:
    """Greedy longest-match-first WordPiece (BERT's algorithm), written independently."""
    ids = []
    index = {token: i for i, token in enumerate(vocabulary)}
    for word in text.split():
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in index:
                    pieces.append(index[candidate])
                    start = end
                    break
            else:
                pieces = [index["[UNK]"]]
                break
        ids.extend(pieces)
    return ids


@pytest.mark.data
def test_round_trip_and_reference_on_all_transcripts(all_transcripts, tmp_path):
    tokenizer = WordPieceTokenizer.train(all_transcripts, vocabulary_size=1000)
    assert 30 < tokenizer.vocabulary_size <= 1000
    ids = tokenizer.encode(all_transcripts)
    assert int(tf.reduce_min(ids.flat_values)) >= 1
    assert ids.to_list() == [reference_wordpiece(t, tokenizer.vocabulary) for t in all_transcripts]
    assert tokenizer.decode_to_python(ids.to_tensor(0)) == [" ".join(t.split()) for t in all_transcripts]
    tokenizer.save(tmp_path)
    assert load_tokenizer(tmp_path).encode(all_transcripts).to_list() == ids.to_list()


def test_vocabulary_size_is_an_upper_bound_and_blank_is_zero():
    tokenizer = WordPieceTokenizer.train(SMALL_CORPUS, vocabulary_size=40)
    assert tokenizer.vocabulary_size <= 40
    assert tokenizer.vocabulary[0] == "<blank>"
    assert 0 not in tokenizer.encode(SMALL_CORPUS).flat_values.numpy()


def test_unknown_characters_map_to_unk_and_are_named():
    tokenizer = WordPieceTokenizer.train(SMALL_CORPUS, vocabulary_size=60)
    ids = tokenizer.encode(["the zebra"]).to_list()[0]
    assert ids[-1] == tokenizer.unknown_id
    assert tokenizer.unknown_symbols("the zebra sat") == ["zebra"]
    lengths, unknown = tokenizer.label_statistics(["the cat", "the zebra"])
    assert unknown.tolist() == [False, True]
    assert lengths[0] == len(reference_wordpiece("the cat", tokenizer.vocabulary))


def test_needs_words():
    with pytest.raises(ValueError, match="no words"):
        WordPieceTokenizer.train(["   "])
    with pytest.raises(ValueError, match="UNK"):
        WordPieceTokenizer(["a", "b"])
