"""``keras.losses.Loss`` wrapper of :func:`~tf_contextnet.losses.rnnt_loss` for ``model.fit``.

Shapes: B batch, T frames, U labels, V vocabulary (blank included).
"""

from __future__ import annotations

from typing import Any, Mapping

import keras
import tensorflow as tf

from tf_contextnet.losses.rnnt_loss import rnnt_loss
from tf_contextnet.losses.transducer_objective import scale_for_replicas

_REDUCTIONS = ("sum_over_batch_size", "sum", "mean_over_labels", "none", None)


@keras.saving.register_keras_serializable(package="tf_contextnet")
class RnntLoss(keras.losses.Loss):
    """RNN-T negative log-likelihood of a batch.

    ``y_true``: labels ``[B, U]`` int (0-padded), or a dict with ``"labels"`` and optionally
    ``"label_lengths"`` ``[B]`` (the data pipeline's dict).
    ``y_pred``: a dict with ``"logits"`` ``[B, T, U+1, V]``, ``"logit_lengths"`` ``[B]`` and
    ``"label_lengths"`` ``[B]`` (``ContextNetTransducer``'s output); ``label_lengths`` may instead
    come from ``y_true``.

    Reductions of the per-example losses ``L_b``: ``"sum_over_batch_size"`` (mean, the Keras
    default), ``"sum"``, ``"mean_over_labels"`` (``Σ L_b / Σ max(U_b, 1)``, per-token NLL) or
    ``"none"`` (``[B]``). ``sample_weight`` ``[B]`` multiplies ``L_b``.

    Unlike the base class, inputs are not cast to ``self.dtype``: a ``float16`` logits tensor is
    read as is (a cast would add a logits-sized copy); the loss is float32. As in every Keras loss,
    the mean reductions (``"sum_over_batch_size"``, ``"mean_over_labels"``) are divided by the
    replicas in sync under a ``tf.distribute`` strategy, so that the replicas' gradients sum to the
    gradient of the global-batch mean; ``"sum"`` and ``"none"`` are not scaled.
    """

    def __init__(self, blank: int = 0, reduction: str | None = "sum_over_batch_size",
                 name: str = "rnnt_loss", **kwargs):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"RnntLoss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        super().__init__(name=name, reduction="none", **kwargs)
        self.blank = blank
        self.reduction = reduction

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> tf.Tensor:
        with tf.name_scope(self.name):
            losses = self.call(y_true, y_pred)
            label_lengths = self._label_lengths(y_true, y_pred)
            if sample_weight is not None:
                losses = losses * tf.cast(tf.reshape(sample_weight, [-1]), losses.dtype)
            if self.reduction in ("none", None):
                return losses
            total = tf.reduce_sum(losses)
            if self.reduction == "sum":
                return total
            if self.reduction == "mean_over_labels":
                tokens = tf.reduce_sum(tf.maximum(tf.cast(label_lengths, losses.dtype), 1.0))
                return scale_for_replicas(total / tokens)
            return scale_for_replicas(total / tf.cast(tf.shape(losses)[0], losses.dtype))

    def call(self, y_true: Any, y_pred: Mapping[str, tf.Tensor]) -> tf.Tensor:
        """Per-example losses ``[B]`` float32."""
        if not isinstance(y_pred, Mapping) or "logits" not in y_pred or "logit_lengths" not in y_pred:
            raise ValueError("RnntLoss: y_pred must be a dict with 'logits' [B, T, U+1, V] and "
                             f"'logit_lengths' [B]; got {type(y_pred).__name__}"
                             f"{' with keys ' + str(sorted(y_pred)) if isinstance(y_pred, Mapping) else ''}")
        labels = y_true["labels"] if isinstance(y_true, Mapping) else y_true
        return rnnt_loss(y_pred["logits"], labels, y_pred["logit_lengths"],
                         self._label_lengths(y_true, y_pred), blank=self.blank)

    @staticmethod
    def _label_lengths(y_true: Any, y_pred: Mapping[str, tf.Tensor]) -> tf.Tensor:
        if isinstance(y_pred, Mapping) and "label_lengths" in y_pred:
            return y_pred["label_lengths"]
        if isinstance(y_true, Mapping) and "label_lengths" in y_true:
            return y_true["label_lengths"]
        raise ValueError("RnntLoss: 'label_lengths' [B] must be in y_pred (model output) or in y_true (dict)")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"blank": self.blank, "reduction": self.reduction})
        return config
