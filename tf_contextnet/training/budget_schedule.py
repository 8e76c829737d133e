"""A learning-rate schedule for a wall-clock budget: warm up in steps, hold, decay with the budget spent."""

from __future__ import annotations

import math

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_contextnet")
class BudgetSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up over ``warmup_steps``, hold, then a decay driven by the share of the budget spent.

    With ``p`` the fraction of the time budget spent (``set_progress``, from ``TimeBudget``),
    ``q = clip((p - decay_start) / (1 - decay_start), 0, 1)`` and ``s = step + 1``::

        lr = peak · min(1, s / w) · (f + (1 - f) · d(q))       f = final_fraction
        d(q) = 1 - q                      (shape "linear": budgeted training, Li et al. 2020)
        d(q) = (1 + cos(π q)) / 2         (shape "cosine")

    i.e. warm-up, a plateau at the peak until ``decay_start`` of the budget is spent, then a
    decay that reaches ``f · peak`` exactly when the budget ends, whatever the machine's speed
    (warmup-stable-decay). The inverse-square-root decay of the paper's schedule needs a known
    number of steps to end low; a budget in minutes does not give one. Decaying from the first
    step instead would cut the peak itself on a slow machine, where the warm-up takes a large
    share of the budget.

    Args:
        peak_learning_rate: the rate at the end of the warm-up.
        warmup_steps: length of the linear warm-up in optimizer steps.
        final_fraction: the rate at the end of the budget, as a fraction of the peak.
        shape: ``"linear"`` or ``"cosine"``.
        decay_start: the share of the budget after which the decay begins (0: from the start).
    """

    SHAPES = ("linear", "cosine")

    def __init__(self, peak_learning_rate: float = 2e-3, warmup_steps: int = 500, final_fraction: float = 0.05,
                 shape: str = "linear", decay_start: float = 0.4):
        super().__init__()
        if peak_learning_rate <= 0:
            raise ValueError(f"peak_learning_rate must be > 0, got {peak_learning_rate}")
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps must be >= 1, got {warmup_steps}")
        if not 0 <= final_fraction <= 1:
            raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")
        if not 0 <= decay_start < 1:
            raise ValueError(f"decay_start must be in [0, 1), got {decay_start}")
        if shape not in self.SHAPES:
            raise ValueError(f"shape must be one of {self.SHAPES}, got {shape!r}")
        self.peak_learning_rate = float(peak_learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.final_fraction = float(final_fraction)
        self.shape = shape
        self.decay_start = float(decay_start)
        self.progress = tf.Variable(0.0, trainable=False, dtype=tf.float32, name="budget_progress")

    def set_progress(self, fraction: float) -> None:
        """The share of the budget spent so far (clipped to ``[0, 1]``)."""
        self.progress.assign(min(1.0, max(0.0, float(fraction))))

    def __call__(self, step) -> tf.Tensor:
        s = tf.cast(step, tf.float32) + 1.0
        warmup = tf.minimum(1.0, s / float(self.warmup_steps))
        p = tf.clip_by_value(tf.cast(self.progress, tf.float32), 0.0, 1.0)
        q = tf.clip_by_value((p - self.decay_start) / (1.0 - self.decay_start), 0.0, 1.0)
        decay = 1.0 - q if self.shape == "linear" else 0.5 * (1.0 + tf.cos(math.pi * q))
        return self.peak_learning_rate * warmup * (self.final_fraction + (1.0 - self.final_fraction) * decay)

    def get_config(self) -> dict:
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps,
                "final_fraction": self.final_fraction, "shape": self.shape, "decay_start": self.decay_start}
