"""Adam with one fused kernel per variable (``ResourceApplyAdam``), numerically Keras' Adam.

Keras 3's ``Adam.update_step`` issues ~20 small ops per variable (casts, powers, three
assignments); ContextNet-S has ~600 variables, so on a CPU the update costs tens of
milliseconds of op overhead per step. TensorFlow's ``ResourceApplyAdam`` does the same update in
one kernel:

    m ← β1 m + (1 - β1) g,   v ← β2 v + (1 - β2) g²,
    θ ← θ - lr · sqrt(1 - β2^t) / (1 - β1^t) · m / (sqrt(v) + ε)

which is exactly the update Keras writes (the "ε-hat" form of Kingma & Ba, §2). Variables that
are not plain TensorFlow resource variables (distributed/mirrored ones, sparse gradients,
``amsgrad``) fall back to Keras' own update, so the optimizer works everywhere Keras' does.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _resource_variable(variable) -> tf.Variable | None:
    """The ``tf.Variable`` behind ``variable`` when it is a plain resource variable, else ``None``."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    if isinstance(variable, tf.distribute.DistributedValues) or not hasattr(variable, "handle"):
        return None
    return variable


@keras.saving.register_keras_serializable(package="tf_contextnet")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose dense per-variable update is one ``ResourceApplyAdam``.

    Same arguments, configuration, variables (``momentum``/``velocity`` slots) and checkpoints
    as Keras' Adam; ``amsgrad`` uses Keras' update.
    """

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        targets = [_resource_variable(x) for x in (variable, self._momentums[index], self._velocities[index])]
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices) or any(t is None for t in targets):
            return super().update_step(gradient, variable, learning_rate)
        dtype = targets[0].dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=targets[0].handle, m=targets[1].handle, v=targets[2].handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype), use_locking=False)
