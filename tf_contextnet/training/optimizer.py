"""The paper's optimizer: Adam (β1 0.9, β2 0.98, ε 1e-9) on the Transformer schedule, with clipping.

ContextNet (Han et al., 2020, §3.1) trains with Adam and the Transformer learning-rate schedule
(Vaswani et al., 2017: β1 0.9, β2 0.98, ε 1e-9). The paper does not state a clipping norm; we clip
the global gradient norm (default 5.0) so that a rare bad batch cannot blow up the LSTM.
"""

from __future__ import annotations

import keras

from tf_contextnet.training.fused_adam import FusedAdam
from tf_contextnet.training.warmup_schedule import WarmupSchedule


def make_optimizer(learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | None = None,
                   beta_1: float = 0.9, beta_2: float = 0.98, epsilon: float = 1e-9,
                   global_clipnorm: float | None = 5.0) -> keras.optimizers.Adam:
    """Adam with the paper's moments; ``learning_rate`` defaults to ``WarmupSchedule()`` (peak 0.0025, 15k).

    The optimizer is ``FusedAdam``: Keras' Adam with one fused kernel per variable update.

    Under the ``mixed_float16`` policy ``Model.compile`` wraps this optimizer in a
    ``keras.optimizers.LossScaleOptimizer`` (dynamic loss scaling) by itself.
    """
    if global_clipnorm is not None and global_clipnorm <= 0:
        raise ValueError(f"global_clipnorm must be > 0 or None, got {global_clipnorm}")
    return FusedAdam(
        learning_rate=WarmupSchedule() if learning_rate is None else learning_rate,
        beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, global_clipnorm=global_clipnorm)
