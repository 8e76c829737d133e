"""Moved to ``tf_contextnet.models.transducer_training_mixin``; this re-export keeps the old
import path working until the next release."""

from tf_contextnet.models.transducer_training_mixin import TransducerTrainingMixin

__all__ = ["TransducerTrainingMixin"]
