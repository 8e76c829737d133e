"""LM training: beats an add-one unigram on held-out text, resumes, and refuses another tokenizer."""

from __future__ import annotations

import math

import pytest

from tf_contextnet.decoding.language_model_directory import load_language_model, read_language_model_info
from tf_contextnet.decoding.language_model_training import (compile_language_model, encode_sentences, perplexity,
                                                            sentence_dataset, split_held_out, train_language_model,
                                                            unigram_perplexity)
from tf_contextnet.models import LstmLanguageModel
from tf_contextnet.text import CharacterTokenizer

WORDS = ["one two three", "two three four", "three four five", "four five six", "five six seven"]


def corpus(n=120):
    return [WORDS[i % len(WORDS)] for i in range(n)]


@pytest.fixture(scope="module")
def tokenizer():
    return CharacterTokenizer.train(WORDS)


def test_encode_leaves_out_empty_and_unrepresentable_lines(tokenizer):
    kept, skipped = encode_sentences(["one", "", "qqq", "two"], tokenizer)
    assert skipped == 2 and len(kept) == 2
    assert tokenizer.decode_to_python([kept[0]]) == ["one"]


def test_trains_beats_unigram_and_resumes(tokenizer, tmp_path):
    out = tmp_path / "lm"
    small = dict(embedding_dim=16, units=32, num_layers=1, batch_size=16, learning_rate=1e-2, verbose=0)
    info = train_language_model(corpus(), tokenizer, out, epochs=2, held_out_fraction=0.1, **small)
    assert info["held_out_sentences"] == 12 and info["sentences"] == 108
    assert (out / "lm.keras").is_file() and read_language_model_info(out)["held_out_perplexity"] > 0
    rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and "val_perplexity" in rows[0]
    info = train_language_model(corpus(), tokenizer, out, epochs=6, held_out_fraction=0.1, **small)  # resumes
    rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [str(e) for e in range(6)], rows  # 2 epochs, then 4 more
    again = train_language_model(corpus(), tokenizer, out, epochs=6, held_out_fraction=0.1, **small)
    assert again["epochs"] == 6 and again["held_out_perplexity"] == pytest.approx(info["held_out_perplexity"])
    sentences, _ = encode_sentences(corpus(), tokenizer)
    train, held = split_held_out(sentences, 0.1)
    unigram = unigram_perplexity(train, held, tokenizer.vocabulary_size)
    lm = load_language_model(out, tokenizer)
    assert perplexity(lm, held) == pytest.approx(info["held_out_perplexity"], rel=1e-4)
    assert info["held_out_perplexity"] < 0.6 * unigram, (info["held_out_perplexity"], unigram)


def test_training_loss_is_the_log_perplexity_of_real_symbols(tokenizer):
    sentences, _ = encode_sentences(["one", "two three four five six seven", "five"], tokenizer)  # much padding
    model = LstmLanguageModel(tokenizer.vocabulary_size, embedding_dim=8, units=8, num_layers=1)
    model.build()
    compile_language_model(model, 1e-3)
    loss = model.evaluate(sentence_dataset(sentences, model.end_id, batch_size=8, shuffle=False), verbose=0)
    assert loss == pytest.approx(math.log(perplexity(model, sentences)), rel=1e-4)


def test_other_tokenizer_is_refused(tokenizer, tmp_path):
    train_language_model(corpus(20), tokenizer, tmp_path / "lm", epochs=1, embedding_dim=4, units=4, num_layers=1,
                         verbose=0)
    other = CharacterTokenizer.train(["abc"])
    with pytest.raises(ValueError, match="another tokenizer"):
        load_language_model(tmp_path / "lm", other)
    with pytest.raises(FileNotFoundError, match="lm.json is missing"):
        load_language_model(tmp_path)
