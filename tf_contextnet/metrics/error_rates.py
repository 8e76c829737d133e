"""Word and character error rates from the Levenshtein edit distance.

    edits(r, h) = minimal number of substitutions + deletions + insertions turning r into h
    WER = Σ_i edits(words(r_i), words(h_i)) / Σ_i |words(r_i)|
    CER = Σ_i edits(chars(r_i), chars(h_i)) / Σ_i |chars(r_i)|
    SER = #{i : words(r_i) != words(h_i)} / #sentences

Rates are corpus-level (total edits over total reference length), the usual ASR convention.
Words are whitespace-separated tokens; characters are the characters of the text with runs of
whitespace collapsed to one space and the ends stripped. ``edit_distance`` is the python
reference (O(|r|·|h|) dynamic programme); ``batch_edit_distance`` is the same in TF ops
(``tf.edit_distance`` on sparse tensors) for use inside graphs.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import tensorflow as tf


class ErrorCounts(NamedTuple):
    """Total ``edits`` and reference ``length``; ``rate`` = edits / length (0 when both are 0)."""

    edits: int
    length: int

    @property
    def rate(self) -> float:
        if self.length == 0:
            return 0.0 if self.edits == 0 else float("inf")
        return self.edits / self.length


def edit_distance(reference: Sequence, hypothesis: Sequence) -> int:
    """Levenshtein distance between two sequences (unit-cost substitution, deletion, insertion)."""
    previous = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def words(text: str) -> list[str]:
    """Whitespace-separated words of ``text``."""
    return text.split()


def characters(text: str) -> list[str]:
    """Characters of ``text`` with whitespace runs collapsed to one space and the ends stripped."""
    return list(" ".join(text.split()))


def _check_pairs(references: Sequence[str], hypotheses: Sequence[str]) -> None:
    if isinstance(references, str) or isinstance(hypotheses, str):
        raise TypeError("references and hypotheses must be sequences of strings, not single strings")
    if len(references) != len(hypotheses):
        raise ValueError(f"got {len(references)} references but {len(hypotheses)} hypotheses")


def word_errors(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorCounts:
    """Total word edits and reference words over a corpus."""
    _check_pairs(references, hypotheses)
    return ErrorCounts(sum(edit_distance(words(r), words(h)) for r, h in zip(references, hypotheses)),
                       sum(len(words(r)) for r in references))


def character_errors(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorCounts:
    """Total character edits and reference characters over a corpus."""
    _check_pairs(references, hypotheses)
    return ErrorCounts(sum(edit_distance(characters(r), characters(h)) for r, h in zip(references, hypotheses)),
                       sum(len(characters(r)) for r in references))


def sentence_errors(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorCounts:
    """Sentences whose words differ at all, over the number of sentences (sentence error rate = rate)."""
    _check_pairs(references, hypotheses)
    return ErrorCounts(sum(words(r) != words(h) for r, h in zip(references, hypotheses)), len(references))


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: total word edits / total reference words."""
    return word_errors(references, hypotheses).rate


def character_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus CER: total character edits / total reference characters."""
    return character_errors(references, hypotheses).rate


def batch_edit_distance(reference: tf.Tensor, hypothesis: tf.Tensor) -> tf.Tensor:
    """Unnormalised edit distances ``[B]`` between ragged (or 0-padded dense) id sequences.

    Args:
        reference: ``tf.RaggedTensor`` ``[B, (U)]`` of ids, or dense ``[B, U]`` 0-padded ids.
        hypothesis: same, ``[B, (L)]``.
    """
    def to_sparse(t):
        if not isinstance(t, tf.RaggedTensor):
            t = tf.RaggedTensor.from_tensor(t, padding=tf.zeros([], t.dtype))
        return t.to_sparse()

    return tf.cast(tf.edit_distance(to_sparse(hypothesis), to_sparse(reference), normalize=False), tf.int32)
