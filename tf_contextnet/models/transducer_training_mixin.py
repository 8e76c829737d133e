"""``compute_loss`` for a transducer ``keras.Model``, as a mixin: the model owns its training objective.

Keras' own ``train_step``/``test_step`` stay untouched: they call ``compute_loss``, track the
returned loss (the ``loss`` entry of ``fit``'s history) and apply loss scaling under
``mixed_float16``. Use as ``class ContextNetTransducer(TransducerTrainingMixin, keras.Model)``.
"""

from __future__ import annotations

from tf_contextnet.losses.transducer_objective import transducer_compute_loss


class TransducerTrainingMixin:
    """Gives a transducer model the paper's training loss (RNN-T NLL + L2 on kernels).

    ``l2_weight`` (paper: 1e-6) is a training option, not architecture: set the attribute before
    ``compile`` (``model.l2_weight = 0.0`` disables the term).
    """

    l2_weight: float = 1e-6

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The batch's scalar loss; ``y`` and ``sample_weight`` are unused (labels travel in ``x``)."""
        return transducer_compute_loss(self, x, y_pred, l2_weight=self.l2_weight)
