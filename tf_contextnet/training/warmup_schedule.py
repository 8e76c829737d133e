"""The Transformer learning-rate schedule used by ContextNet (Han et al., 2020, §3.1).

Vaswani et al. (2017) schedule, parametrised by its peak value instead of the model width:

    s      = step + 1                       (Keras' optimizer.iterations starts at 0)
    lr(s)  = peak · min(s / w, (w / s)^p)   floored at ``min_learning_rate``

so the rate rises linearly to ``peak`` at ``s = w`` (the warm-up) and then decays as ``s^-p``
(``p = 0.5``: inverse square root). The paper uses peak 0.0025 and w = 15k steps.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_contextnet")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak_learning_rate`` over ``warmup_steps``, then ``step^-decay_exponent``.

    Args:
        peak_learning_rate: the rate reached at the end of the warm-up (paper: 0.0025).
        warmup_steps: length of the linear warm-up in optimizer steps (paper: 15000).
        decay_exponent: exponent ``p`` of the decay ``(w / s)^p`` after the warm-up (0.5: inverse sqrt).
        min_learning_rate: floor of the rate after the warm-up (0 disables the floor).
    """

    def __init__(self, peak_learning_rate: float = 0.0025, warmup_steps: int = 15000,
                 decay_exponent: float = 0.5, min_learning_rate: float = 0.0):
        super().__init__()
        if peak_learning_rate <= 0:
            raise ValueError(f"peak_learning_rate must be > 0, got {peak_learning_rate}")
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps must be >= 1, got {warmup_steps}")
        if decay_exponent < 0:
            raise ValueError(f"decay_exponent must be >= 0, got {decay_exponent}")
        if not 0 <= min_learning_rate <= peak_learning_rate:
            raise ValueError(f"min_learning_rate must be in [0, peak_learning_rate={peak_learning_rate}], "
                             f"got {min_learning_rate}")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.decay_exponent = float(decay_exponent)
        self.min_learning_rate = float(min_learning_rate)

    def __call__(self, step) -> tf.Tensor:
        s = tf.cast(step, tf.float32) + 1.0
        w = tf.constant(float(self.warmup_steps), tf.float32)
        warmup = s / w
        decay = tf.pow(w / s, self.decay_exponent)
        rate = self.peak_learning_rate * tf.minimum(warmup, decay)
        return tf.where(s < w, rate, tf.maximum(rate, self.min_learning_rate))

    def get_config(self) -> dict:
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_exponent": self.decay_exponent,
            "min_learning_rate": self.min_learning_rate,
        }
