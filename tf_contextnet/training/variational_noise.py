"""Variational (Gaussian weight) noise on the prediction network, as a training callback.

ContextNet (Han et al., 2020, §3.1) follows Graves (2011)/He et al. (2019): during training, from
a start step on, each step runs forward and backward with weights ``w + ε``, ε ~ N(0, σ²) drawn
afresh per step, and the update is applied to the clean ``w``. Implemented without touching
Keras' ``train_step``: ``on_train_batch_begin`` adds ε, ``on_train_batch_end`` subtracts the same ε
(regenerated from a stateless seed of (variable index, step)), so that

    w ← (w + ε − Δ(w + ε)) − ε = w − Δ(w + ε).

The seed depends only on the optimizer step, so every replica and every worker draws the same ε.
Place this callback *before* ``BackupAndRestore``/``ModelCheckpoint`` in the list so that backups
taken at a batch end see the clean weights. It requires ``steps_per_execution == 1``. The paper
gives no σ or start step; the defaults (σ 0.075 from step 10k) are our choice.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.models.transducer import transducer_parts


class VariationalNoise(keras.callbacks.Callback):
    """Adds N(0, ``stddev``²) noise to ``model.<layer_name>``'s trainable weights from ``start_step`` on.

    Args:
        stddev: standard deviation σ of the weight noise.
        start_step: first optimizer step (``optimizer.iterations``) that trains with noise.
        layer_name: attribute of the model holding the noised layer; ``None``: the prediction
            network of a model that declares the transducer contract (``transducer_parts``).
        seed: base seed of the stateless noise.
    """

    def __init__(self, stddev: float = 0.075, start_step: int = 10000, layer_name: str | None = None,
                 seed: int = 0):
        super().__init__()
        if stddev < 0:
            raise ValueError(f"stddev must be >= 0, got {stddev}")
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        self.stddev = float(stddev)
        self.start_step = int(start_step)
        self.layer_name = layer_name
        self.seed = int(seed)
        self._noised_step = None
        self._perturb_fn = None

    def _variables(self) -> list:
        if self.layer_name is None:
            try:
                return transducer_parts(self.model).prediction_network.trainable_variables
            except TypeError as error:
                raise TypeError(f"VariationalNoise: {error}; pass layer_name= to name the layer to add weight "
                                f"noise to") from None
        layer = getattr(self.model, self.layer_name, None)
        if layer is None:
            raise AttributeError(f"VariationalNoise: model {self.model.name!r} has no attribute "
                                 f"{self.layer_name!r} (the layer to add weight noise to)")
        return layer.trainable_variables

    def _perturb(self, sign: float, step: int) -> None:
        if self._perturb_fn is None:
            variables = self._variables()

            @tf.function
            def perturb(sign, step):
                for i, v in enumerate(variables):
                    noise = tf.random.stateless_normal(v.shape, seed=tf.stack([self.seed + i, step]),
                                                       stddev=self.stddev, dtype=v.dtype)
                    v.assign_add(sign * noise)

            self._perturb_fn = perturb
        self._perturb_fn(tf.constant(sign, tf.float32), tf.constant(step, tf.int64))

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if self.stddev > 0 and step >= self.start_step:
            self._perturb(1.0, step)
            self._noised_step = step

    def on_train_batch_end(self, batch, logs=None):
        if self._noised_step is not None:
            self._perturb(-1.0, self._noised_step)
            self._noised_step = None

    def get_config(self) -> dict:
        return {"stddev": self.stddev, "start_step": self.start_step, "layer_name": self.layer_name,
                "seed": self.seed}
