"""CharacterTokenizer: ids are alphabet positions + 1; unknown characters are named."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.text import CharacterTokenizer, load_tokenizer


def test_ids_follow_the_alphabet():
    tokenizer = CharacterTokenizer([" ", "a", "b", "c"])
    assert tokenizer.vocabulary_size == 5
    assert tokenizer.encode(["cab a", ""]).to_list() == [[4, 2, 3, 1, 2], []]
    assert tokenizer.encode("b").numpy().tolist() == [3]
    assert tokenizer.encode(["a"]).dtype == tf.int32


@pytest.mark.data
def test_round_trip_on_all_transcripts(all_transcripts, tmp_path):
    tokenizer = CharacterTokenizer.train(all_transcripts)
    ids = tokenizer.encode(all_transcripts)
    assert int(tf.reduce_min(ids.flat_values)) >= 1
    assert int(tf.reduce_max(ids.flat_values)) == tokenizer.vocabulary_size - 1
    expected = [[tokenizer.vocabulary.index(c) for c in text] for text in all_transcripts]
    assert ids.to_list() == expected
    assert tokenizer.decode_to_python(ids.to_tensor(0)) == all_transcripts
    tokenizer.save(tmp_path)
    reloaded = load_tokenizer(tmp_path)
    assert isinstance(reloaded, CharacterTokenizer)
    assert reloaded.encode(all_transcripts).to_list() == expected


def test_unknown_character_is_named():
    tokenizer = CharacterTokenizer.train(["abc d"])
    assert tokenizer.unknown_symbols("a é x") == ["x", "é"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="(?s)outside the vocabulary.*bad zx"):
        tokenizer.encode(["abc", "bad zx"])
    lengths, unknown = tokenizer.label_statistics(["abc", "bad zx", ""])
    np.testing.assert_array_equal(lengths, [3, 6, 0])
    np.testing.assert_array_equal(unknown, [False, True, False])


def test_encode_in_tf_data():
    tokenizer = CharacterTokenizer.train(["ab c"])
    dataset = tf.data.Dataset.from_tensor_slices(["ab", "c a"]).map(tokenizer.encode)
    assert [x.numpy().tolist() for x in dataset] == [[2, 3], [4, 1, 2]]


def test_invalid_alphabet():
    with pytest.raises(ValueError, match="single characters"):
        CharacterTokenizer(["ab"])
    with pytest.raises(ValueError, match="duplicate"):
        CharacterTokenizer(["a", "a"])
    with pytest.raises(ValueError, match="no text"):
        CharacterTokenizer.train([])
