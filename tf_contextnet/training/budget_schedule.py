"""A learning-rate schedule for a wall-clock budget: warm up in steps, decay with the budget spent."""

from __future__ import annotations

import math

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_contextnet")
class BudgetSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up over ``warmup_steps``, then a decay driven by the share of the time budget spent.

    With ``p`` the fraction of the budget spent (``set_progress``, from ``TimeBudget``) and
    ``s = step + 1``::

        lr = peak · min(1, s / w) · (f + (1 - f) · d(p))       f = final_fraction
        d(p) = 1 - p                      (shape "linear": budgeted training, Li et al. 2020)
        d(p) = (1 + cos(π p)) / 2         (shape "cosine")

    so the rate reaches ``f · peak`` exactly when the budget ends, whatever the machine's speed.
    The inverse-square-root decay of the paper's schedule needs a known number of steps to end
    low; a budget in minutes does not give one.

    Args:
        peak_learning_rate: the rate at the end of the warm-up.
        warmup_steps: length of the linear warm-up in optimizer steps.
        final_fraction: the rate at the end of the budget, as a fraction of the peak.
        shape: ``"linear"`` or ``"cosine"``.
    """

    SHAPES = ("linear", "cosine")

    def __init__(self, peak_learning_rate: float = 2e-3, warmup_steps: int = 500, final_fraction: float = 0.05,
                 shape: str = "linear"):
        super().__init__()
        if peak_learning_rate <= 0:
            raise ValueError(f"peak_learning_rate must be > 0, got {peak_learning_rate}")
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps must be >= 1, got {warmup_steps}")
        if not 0 <= final_fraction <= 1:
            raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")
        if shape not in self.SHAPES:
            raise ValueError(f"shape must be one of {self.SHAPES}, got {shape!r}")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.final_fraction = float(final_fraction)
        self.shape = shape
        self.progress = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="budget_progress")

    def set_progress(self, fraction: float) -> None:
        """The share of the budget spent so far (clipped to ``[0, 1]``)."""
        self.progress.assign(min(1.0, max(0.0, float(fraction))))

    def __call__(self, step) -> tf.Tensor:
        s = tf.cast(step, tf.float32) + 1.0
        warmup = tf.minimum(1.0, s / float(self.warmup_steps))
        p = tf.clip_by_value(tf.cast(self.progress, tf.float32), 0.0, 1.0)
        decay = 1.0 - p if self.shape == "linear" else 0.5 * (1.0 + tf.cos(math.pi * p))
        return self.peak_learning_rate * warmup * (self.final_fraction + (1.0 - self.final_fraction) * decay)

    def get_config(self) -> dict:
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps,
                "final_fraction": self.final_fraction, "shape": self.shape}
