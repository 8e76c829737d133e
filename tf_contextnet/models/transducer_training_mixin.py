"""``compute_loss`` for a transducer ``keras.Model``, as a mixin: the model owns its training objective.

Keras' own ``train_step``/``test_step`` stay untouched: they call ``compute_loss``, track the
returned loss (the ``loss`` entry of ``fit``'s history) and apply loss scaling under
``mixed_float16``. Use as ``class ContextNetTransducer(TransducerTrainingMixin, keras.Model)``.
"""

from __future__ import annotations

from typing import Any, Callable

import tensorflow as tf

from tf_contextnet.losses.transducer_objective import (is_fused_output, l2_penalty, l2_variables, scale_for_replicas,
                                                       transducer_compute_loss)

DEFAULT_L2_WEIGHT = 1e-6


class TransducerTrainingMixin:
    """Gives a transducer model the paper's training loss (RNN-T NLL + L2 on kernels).

    ``l2_weight`` (paper: 1e-6) is λ of the L2 term; ``ContextNetTransducer`` takes it as a
    constructor argument and saves it in its config, other models may set the attribute
    (``model.l2_weight = 0.0`` disables the term; this class attribute is the default).

    A loss given to ``compile(loss=...)`` takes precedence over the built-in NLL: it is called as
    ``loss(y_true, y_pred, sample_weight)`` with ``y_true`` the data's ``y`` when there is one,
    otherwise the batch dict ``x`` (so ``RnntLoss`` reads ``labels`` and ``label_lengths`` from it),
    and ``y_pred`` the model's output dict. The L2 term and ``model.losses`` are added to it,
    divided by the replicas in sync; the compiled loss scales itself for distribution, as every
    Keras loss with a mean reduction does. Only one loss object (a ``keras.losses.Loss`` or a
    callable returning the scalar loss) is accepted: a name such as ``"mse"`` or a list or dict of
    losses (one per output) cannot apply to the transducer's output dict and is refused.

    ``fused_loss_sub_batch_size`` (default ``None``) is the sub-batch of a model whose training
    output holds the joint's inputs (``FUSED_LOSS_OUTPUT_KEYS`` of
    ``tf_contextnet.losses.transducer_objective``) instead of ``logits``: the built-in NLL is then
    computed that many utterances at a time. A compiled loss reads the whole ``logits``, which such
    an output never holds, so it is refused (``ValueError``) at ``compile`` when the attribute is
    set, and in ``compute_loss`` when a fused output reaches it.
    """

    l2_weight: float = DEFAULT_L2_WEIGHT
    fused_loss_sub_batch_size: int | None = None

    def compile(self, optimizer="rmsprop", loss=None, *args, **kwargs):
        """``keras.Model.compile``; a ``loss`` that cannot apply to the output dict is refused here."""
        if loss is not None:
            compiled_loss_function(loss, type(self).__name__)
            if self.fused_loss_sub_batch_size is not None:
                raise _fused_with_compiled_loss(type(self).__name__, self.fused_loss_sub_batch_size)
        super().compile(optimizer, loss, *args, **kwargs)
        # compute_loss calls self.loss itself: Keras' CompileLoss would map one loss onto every entry
        # of the output dict (and build itself symbolically under a strategy), so it is not kept.
        self._compile_loss = None

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The batch's scalar float32 loss (labels travel in ``x`` unless the data has a ``y``)."""
        compiled = getattr(self, "loss", None)
        if compiled is None:
            return transducer_compute_loss(self, x, y_pred, l2_weight=self.l2_weight,
                                           fused_loss_sub_batch_size=self.fused_loss_sub_batch_size)
        if is_fused_output(y_pred):
            raise _fused_with_compiled_loss(type(self).__name__, self.fused_loss_sub_batch_size)
        data_term = compiled_loss_function(compiled, type(self).__name__)(
            x if y is None else y, y_pred, sample_weight)
        regular = l2_penalty(l2_variables(self), self.l2_weight)
        if self.losses:
            regular += tf.add_n([tf.cast(extra, tf.float32) for extra in self.losses])
        return tf.cast(data_term, tf.float32) + scale_for_replicas(regular)


def compiled_loss_function(loss: Any, model_name: str) -> Callable:
    """The callable given as ``compile(loss=...)``; a ``TypeError`` naming the model for anything else."""
    if isinstance(loss, (str, list, tuple, dict)) or not callable(loss):
        raise TypeError(f"{model_name}: compile(loss=...) must be one loss object for the transducer's output "
                        f"dict, called as loss(y_true, y_pred, sample_weight) -> scalar (e.g. "
                        f"tf_contextnet.losses.RnntLoss()); got {loss!r}. Omit loss= to train with the "
                        f"built-in objective")
    return loss


def _fused_with_compiled_loss(model_name: str, sub_batch_size: int | None) -> ValueError:
    return ValueError(f"{model_name}: compile(loss=...) cannot be combined with fused_loss_sub_batch_size="
                      f"{sub_batch_size}: a compiled loss reads the whole logits [B, T', U+1, V], which the fused "
                      f"option never builds in training. Omit loss= (the built-in objective computes the same "
                      f"RNN-T NLL in sub-batches) or set fused_loss_sub_batch_size=None")
