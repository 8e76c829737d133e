"""Mixed precision for training: one switch for the global Keras dtype policy.

``float16`` needs dynamic loss scaling (``Model.compile`` wraps the optimizer in a
``LossScaleOptimizer`` under ``mixed_float16``); ``bfloat16`` has float32's exponent range and
needs none. Variables stay float32 under both; the transducer loss casts logits to float32
before the log-softmax (see ``transducer_loss``), so the loss itself is always computed in fp32.
"""

from __future__ import annotations

import keras

PRECISIONS = {"float32": "float32", "float16": "mixed_float16", "mixed_float16": "mixed_float16",
              "bfloat16": "mixed_bfloat16", "mixed_bfloat16": "mixed_bfloat16"}


def set_precision(precision: str) -> str:
    """Set the global Keras policy for ``precision`` in {float32, float16, bfloat16}; returns the policy name.

    Call it before building the model (layers read the global policy when they are created).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {sorted(PRECISIONS)}")
    policy = PRECISIONS[precision]
    keras.mixed_precision.set_global_policy(policy)
    return policy
