"""The training objective of a transducer model, for ``Model.compute_loss``.

Shapes: B batch, T' encoder frames, U labels, V vocabulary (blank 0 included).

    loss = mean_b NLL_b  [+ c · mean_b CTC_b]  +  λ · Σ_{w ∈ kernels} ‖w‖²  +  Σ model.losses

``NLL_b`` is the RNN-T negative log-likelihood of utterance b (``tf_contextnet.losses.rnnt_loss``,
computed from logits cast to float32 so that mixed precision never reaches the log-softmax). A
model's output holds either the whole lattice, ``logits [B, T', U+1, V]``, or, for memory-lean
training, the joint's inputs ``encoded [B, T', D]`` and ``predicted [B, U+1, H]``
(``FUSED_LOSS_OUTPUT_KEYS``) instead: then ``NLL_b`` comes from
``tf_contextnet.losses.fused_joint_rnnt_loss`` over ``model.join`` (the transducer contract's joint),
a given number of utterances at a time, so the whole lattice is never held (same value, same
gradients, one extra joint evaluation in the backward pass);
λ is the paper's L2 weight, 1e-6 (Han et al., 2020, §3.1), applied here to the trainable kernels
(dense/conv/depthwise/pointwise/recurrent kernels and embeddings; not biases, not BN/LN scales) so
that the model's own layers need no regularizer arguments. The total is divided by the number of
replicas in sync, as Keras' own ``compute_loss`` does, so that gradients summed across replicas
equal the gradient of the global-batch mean. ``CTC_b`` (``tf_contextnet.losses.ctc_loss``) is the
auxiliary CTC loss of a model with ``ctc_weight`` c > 0 on its ``ctc_logits`` output ``[B, T', V]``.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import keras
import tensorflow as tf

from tf_contextnet.losses.ctc_loss import ctc_loss
from tf_contextnet.losses.fused_joint_rnnt_loss import fused_joint_rnnt_loss
from tf_contextnet.losses.rnnt_loss import rnnt_loss

L2_WEIGHT_SUFFIXES = ("kernel", "embeddings")
# The output keys that declare a memory-lean (fused) model output: the joint's inputs instead of logits.
FUSED_LOSS_OUTPUT_KEYS = ("encoded", "predicted")


def l2_variables(model: keras.Model) -> list:
    """The trainable variables the L2 term applies to: kernels and embedding tables."""
    return [v for v in model.trainable_variables if v.path.split("/")[-1].endswith(L2_WEIGHT_SUFFIXES)]


def l2_penalty(variables: Iterable, weight: float) -> tf.Tensor:
    """``weight · Σ ‖w‖²`` in float32 (0 when ``weight`` is 0 or there are no variables)."""
    terms = [tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in variables]
    if weight == 0.0 or not terms:
        return tf.constant(0.0, tf.float32)
    return weight * tf.add_n(terms)


def scale_for_replicas(loss: tf.Tensor) -> tf.Tensor:
    """Divide by the number of replicas in sync (identity outside a multi-replica strategy)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / float(replicas) if replicas > 1 else loss


def is_fused_output(y_pred: Any) -> bool:
    """Whether a model output holds the joint's inputs (``FUSED_LOSS_OUTPUT_KEYS``) instead of ``logits``."""
    return (isinstance(y_pred, Mapping) and "logits" not in y_pred
            and all(key in y_pred for key in FUSED_LOSS_OUTPUT_KEYS))


def transducer_nll(model: keras.Model, x: Mapping[str, tf.Tensor], y_pred: Mapping[str, tf.Tensor],
                   fused_loss_sub_batch_size: int | None = None) -> tf.Tensor:
    """Per-utterance RNN-T NLL ``[B]`` float32 of a model output with ``logits`` or the fused keys.

    With ``logits`` in ``y_pred``: ``rnnt_loss`` of the logits cast to float32. With
    ``FUSED_LOSS_OUTPUT_KEYS`` instead: ``fused_joint_rnnt_loss`` over ``model.join`` (its
    logits cast to float32 too), ``fused_loss_sub_batch_size`` utterances at a time.
    """
    for key in ("logit_lengths", "label_lengths"):
        if key not in y_pred:
            raise KeyError(f"transducer_compute_loss: model output lacks {key!r}; got keys {sorted(y_pred)}")
    if "labels" not in x:
        raise KeyError(f"transducer_compute_loss: batch lacks 'labels'; got keys {sorted(x)}")
    if "logits" in y_pred:
        return rnnt_loss(tf.cast(y_pred["logits"], tf.float32), x["labels"], y_pred["logit_lengths"],
                         y_pred["label_lengths"], blank=0)
    if not is_fused_output(y_pred):
        raise KeyError(f"transducer_compute_loss: model output lacks 'logits' (or the fused-loss keys "
                       f"{FUSED_LOSS_OUTPUT_KEYS}); got keys {sorted(y_pred)}")
    if fused_loss_sub_batch_size is None:
        raise ValueError("transducer_compute_loss: the model output holds the fused-loss keys "
                         f"{FUSED_LOSS_OUTPUT_KEYS} instead of 'logits', but no fused_loss_sub_batch_size was given")

    def joint(encoded: tf.Tensor, predicted: tf.Tensor) -> tf.Tensor:
        return tf.cast(model.join(encoded[:, :, None], predicted[:, None]), tf.float32)

    return fused_joint_rnnt_loss(joint, y_pred["encoded"], y_pred["predicted"], x["labels"],
                                 y_pred["logit_lengths"], y_pred["label_lengths"], fused_loss_sub_batch_size)


def transducer_compute_loss(model: keras.Model, x: Mapping[str, tf.Tensor], y_pred: Mapping[str, tf.Tensor],
                            l2_weight: float = 1e-6, fused_loss_sub_batch_size: int | None = None) -> tf.Tensor:
    """The scalar float32 training loss of a transducer, ready to return from ``compute_loss``.

    Args:
        model: the transducer (its trainable kernels get the L2 term; its ``losses`` are added; its
            ``join`` is the joint of a fused output).
        x: the batch dict; ``x["labels"]`` ``[B, U]`` int32 token ids, 0-padded.
        y_pred: ``model(x)``: ``logit_lengths`` ``[B]``, ``label_lengths`` ``[B]``, optionally
            ``ctc_logits`` ``[B, T', V]``, and either ``logits`` ``[B, T', U+1, V]`` or, instead,
            ``encoded`` ``[B, T', D]`` and ``predicted`` ``[B, U+1, H]`` (``FUSED_LOSS_OUTPUT_KEYS``).
        l2_weight: λ of the L2 term (paper: 1e-6; 0 disables it).
        fused_loss_sub_batch_size: utterances per sub-batch of the fused NLL; required when
            ``y_pred`` holds the fused keys, unused with ``logits``.
    """
    per_example = transducer_nll(model, x, y_pred, fused_loss_sub_batch_size)
    loss = tf.reduce_mean(tf.cast(per_example, tf.float32))
    ctc_weight = float(getattr(model, "ctc_weight", 0.0) or 0.0)
    if ctc_weight > 0 and "ctc_logits" in y_pred:
        ctc = ctc_loss(y_pred["ctc_logits"], x["labels"], y_pred["logit_lengths"], y_pred["label_lengths"])
        loss += ctc_weight * tf.reduce_mean(ctc)
    loss += l2_penalty(l2_variables(model), l2_weight)
    if model.losses:
        loss += tf.add_n([tf.cast(extra, tf.float32) for extra in model.losses])
    return scale_for_replicas(loss)
