"""WER/CER against a brute-force Levenshtein distance (the recursive definition, memo-free)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.metrics import (batch_edit_distance, character_error_rate, edit_distance, word_error_rate,
                                   word_errors)


def brute_levenshtein(a: tuple, b: tuple) -> int:
    """The textbook recursion, no table: exponential, fine for length <= 6."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    return min(brute_levenshtein(a[1:], b) + 1, brute_levenshtein(a, b[1:]) + 1,
               brute_levenshtein(a[1:], b[1:]) + (a[0] != b[0]))


def test_edit_distance_matches_brute_force_on_all_small_pairs():
    alphabet = "ab"
    sequences = [tuple(s) for n in range(4) for s in itertools.product(alphabet, repeat=n)]
    for a in sequences:
        for b in sequences:
            assert edit_distance(a, b) == brute_levenshtein(a, b), (a, b)


def test_edit_distance_random_against_brute_force():
    rng = random.Random(0)
    for _ in range(200):
        a = tuple(rng.choice("abcd") for _ in range(rng.randint(0, 6)))
        b = tuple(rng.choice("abcd") for _ in range(rng.randint(0, 6)))
        assert edit_distance(a, b) == brute_levenshtein(a, b)


def test_wer_and_cer_known_examples():
    refs = ["one two three", "four"]
    hyps = ["one too three extra", ""]
    # sentence 1: 1 substitution + 1 insertion; sentence 2: 1 deletion; 4 reference words
    assert word_errors(refs, hyps) == (3, 4)
    assert word_error_rate(refs, hyps) == pytest.approx(3 / 4)
    # "kitten" -> "sitting": the classic 3
    assert character_error_rate(["kitten"], ["sitting"]) == pytest.approx(3 / 6)
    assert character_error_rate(["a  b "], ["a b"]) == 0.0


def test_mismatched_inputs_raise():
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        word_error_rate(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="sequences of strings"):
        word_error_rate("a b", "a b")


def test_batch_edit_distance_matches_python():
    rng = np.random.default_rng(1)
    refs = [list(rng.integers(1, 5, rng.integers(0, 7))) for _ in range(16)]
    hyps = [list(rng.integers(1, 5, rng.integers(0, 7))) for _ in range(16)]
    got = batch_edit_distance(tf.ragged.constant(refs, dtype=tf.int32, inner_shape=()),
                              tf.ragged.constant(hyps, dtype=tf.int32, inner_shape=())).numpy()
    expected = [brute_levenshtein(tuple(r), tuple(h)) for r, h in zip(refs, hyps)]
    np.testing.assert_array_equal(got, expected)
    dense = tf.ragged.constant(hyps, dtype=tf.int32, inner_shape=()).to_tensor()
    got_dense = batch_edit_distance(tf.ragged.constant(refs, dtype=tf.int32, inner_shape=()), dense).numpy()
    np.testing.assert_array_equal(got_dense, expected)
