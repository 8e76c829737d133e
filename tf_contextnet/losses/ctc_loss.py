"""Connectionist temporal classification loss on encoder frames, for an auxiliary CTC objective.

Shapes: B batch, T' encoder frames, U labels, V vocabulary (blank 0 included).

    ctc_loss(logits [B, T', V], labels [B, U], logit_lengths [B], label_lengths [B]) -> NLL [B]

``NLL_b = -log Σ_{π ∈ B⁻¹(y_b)} Π_t softmax(logits_b,t)[π_t]`` over the frame alignments π of
length ``logit_lengths[b]`` that collapse to ``y_b = labels[b, :label_lengths[b]]`` (merge repeats,
then drop blanks; Graves et al., 2006). ESPnet's and icefall's transducer recipes add this on the
encoder output to get past the RNN-T's early plateau faster.

An utterance whose labels cannot be aligned in its frames (fewer frames than labels plus repeated
neighbours, which need a blank between them) has no alignment: its loss would be +inf and its
gradient NaN. Such utterances contribute 0 (PyTorch's ``zero_infinity``), computed on an empty
label sequence so that no non-finite value reaches the gradient.
"""

from __future__ import annotations

import tensorflow as tf


def ctc_feasible(labels: tf.Tensor, logit_lengths: tf.Tensor, label_lengths: tf.Tensor) -> tf.Tensor:
    """``[B]`` bool: ``logit_lengths >= label_lengths + (number of equal adjacent labels)``."""
    labels = tf.convert_to_tensor(labels)
    label_lengths = tf.cast(label_lengths, tf.int32)
    valid = tf.sequence_mask(label_lengths, tf.shape(labels)[1])
    repeats = tf.logical_and(tf.equal(labels[:, 1:], labels[:, :-1]), valid[:, 1:])
    needed = label_lengths + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)
    return tf.cast(logit_lengths, tf.int32) >= needed


def ctc_loss(logits: tf.Tensor, labels: tf.Tensor, logit_lengths: tf.Tensor, label_lengths: tf.Tensor) -> tf.Tensor:
    """Per-example CTC negative log-likelihood ``[B]`` float32, blank id 0 (module docstring).

    Logits are cast to float32 (mixed precision never reaches the log-softmax); frames past
    ``logit_lengths`` and labels past ``label_lengths`` are ignored; infeasible utterances give 0.
    """
    labels = tf.cast(labels, tf.int32)
    logit_lengths = tf.cast(logit_lengths, tf.int32)
    label_lengths = tf.cast(label_lengths, tf.int32)
    feasible = ctc_feasible(labels, logit_lengths, label_lengths)
    safe_lengths = tf.where(feasible, label_lengths, tf.zeros_like(label_lengths))
    safe_labels = labels * tf.cast(tf.sequence_mask(safe_lengths, tf.shape(labels)[1]), tf.int32)
    per_example = tf.nn.ctc_loss(labels=safe_labels, logits=tf.cast(logits, tf.float32), label_length=safe_lengths,
                                 logit_length=logit_lengths, logits_time_major=False, blank_index=0)
    return tf.where(feasible, per_example, tf.zeros_like(per_example))
