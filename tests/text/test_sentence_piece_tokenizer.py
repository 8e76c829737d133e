"""SentencePieceTokenizer: ids equal to the sentencepiece library's, blank = pad = 0 never produced."""

from __future__ import annotations

import pytest
import sentencepiece as spm
import tensorflow as tf

from tf_contextnet.text import SentencePieceTokenizer, load_tokenizer

from .conftest import SMALL_CORPUS


@pytest.mark.data
@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_round_trip_and_reference_on_all_transcripts(all_transcripts, model_type, tmp_path):
    tokenizer = SentencePieceTokenizer.train(all_transcripts, vocabulary_size=1000, model_type=model_type)
    assert tokenizer.vocabulary_size <= 1000
    reference = spm.SentencePieceProcessor(model_proto=tokenizer.model_proto)
    ids = tokenizer.encode(all_transcripts)
    assert ids.to_list() == [reference.encode(t) for t in all_transcripts]
    assert int(tf.reduce_min(ids.flat_values)) >= 1
    assert tokenizer.decode_to_python(ids.to_tensor(0)) == [" ".join(t.split()) for t in all_transcripts]
    assert tokenizer.decode_to_python(ids.to_tensor(0)) == [reference.decode(i) for i in ids.to_list()]
    tokenizer.save(tmp_path)
    assert load_tokenizer(tmp_path).encode(all_transcripts).to_list() == ids.to_list()


def test_unknown_characters_are_named():
    tokenizer = SentencePieceTokenizer.train(SMALL_CORPUS * 5, vocabulary_size=30)
    assert tokenizer.unknown_symbols("the cat") == []
    assert tokenizer.unknown_symbols("the zebra!") == ["!", "b", "r", "z"]
    lengths, unknown = tokenizer.label_statistics(["the cat", "zz"])
    assert unknown.tolist() == [False, True]


def test_bad_arguments():
    with pytest.raises(ValueError, match="model_type"):
        SentencePieceTokenizer.train(SMALL_CORPUS, model_type="word")
    with pytest.raises(ValueError, match="no text"):
        SentencePieceTokenizer.train([" "])
