"""S/D/I counts and corpus totals against jiwer (an independent implementation) on random pairs."""

from __future__ import annotations

import random

import pytest

from tf_contextnet.metrics import (EditCounts, align, character_errors, count_edits, edit_counts, edit_distance,
                                   sentence_errors, word_errors)

jiwer = pytest.importorskip("jiwer", reason="jiwer is in the dev extra (pip install -e .[dev])")


def random_sentence(rng: random.Random, words: str = "a b c d ab", max_words: int = 7) -> str:
    return " ".join(rng.choice(words.split()) for _ in range(rng.randint(0, max_words)))


def random_corpus(seed: int, size: int = 12) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    return [random_sentence(rng) for _ in range(size)], [random_sentence(rng) for _ in range(size)]


@pytest.mark.parametrize("seed", range(20))
def test_word_totals_equal_jiwer(seed):
    references, hypotheses = random_corpus(seed)
    expected = jiwer.process_words(references, hypotheses)
    totals = sum((edit_counts(r.split(), h.split()) for r, h in zip(references, hypotheses)), EditCounts())
    jiwer_edits = expected.substitutions + expected.deletions + expected.insertions
    assert totals.edits == jiwer_edits
    assert totals.reference_length == expected.hits + expected.substitutions + expected.deletions
    assert word_errors(references, hypotheses) == (jiwer_edits, totals.reference_length)
    if totals.reference_length:
        assert totals.rate == pytest.approx(expected.wer)


@pytest.mark.parametrize("seed", range(10))
def test_character_totals_equal_jiwer(seed):
    references, hypotheses = random_corpus(100 + seed)
    references = [r or "a" for r in references]  # jiwer's CER needs a non-empty reference
    expected = jiwer.process_characters(references, hypotheses)
    counts = character_errors(references, hypotheses)
    assert counts.edits == expected.substitutions + expected.deletions + expected.insertions
    assert counts.length == expected.hits + expected.substitutions + expected.deletions


def test_each_alignment_is_valid_and_minimal():
    rng = random.Random(7)
    for _ in range(300):
        r, h = random_sentence(rng).split(), random_sentence(rng).split()
        pairs = align(r, h)
        assert [x for x, _ in pairs if x is not None] == r
        assert [y for _, y in pairs if y is not None] == h
        assert all(x is not None or y is not None for x, y in pairs)
        counts = count_edits(pairs)
        assert counts.edits == edit_distance(r, h)
        assert counts.hypothesis_length == len(h)


def test_documented_tie_break_prefers_substitutions():
    # a b c -> a c d: two substitutions or one deletion + one insertion; substitutions win
    assert edit_counts("a b c".split(), "a c d".split()) == EditCounts(hits=1, substitutions=2)
    assert align(["x"], ["y", "x"]) == [(None, "y"), ("x", "x")]


def test_empty_reference_is_all_insertions():
    assert edit_counts([], ["a", "b"]) == EditCounts(insertions=2)
    assert edit_counts([], []) == EditCounts()
    assert EditCounts(insertions=2).rate == float("inf")
    assert EditCounts().rate == 0.0
    expected = jiwer.process_words(["", "a b"], ["x y", "a b"])
    assert expected.insertions == 2
    assert word_errors(["", "a b"], ["x y", "a b"]) == (2, 2)
    assert word_errors([""], [""]).rate == 0.0


def test_sentence_error_rate():
    counts = sentence_errors(["a b", "c", "", "d  e"], ["a b", "x", "y", "d e"])
    assert counts == (2, 4)
    assert counts.rate == 0.5
