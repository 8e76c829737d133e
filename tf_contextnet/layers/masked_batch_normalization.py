"""Batch normalisation whose statistics come from valid frames only.

Shape letters: B batch, T frames, D channels.
"""

from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf

from tf_contextnet.utils.masking import valid_frames, zero_padding

SumAcross = Callable[[tf.Tensor], tf.Tensor]


def cross_replica_sum(synchronized: bool) -> SumAcross | None:
    """``t ↦ Σ_replicas t`` (an all-reduce in the current replica context) when ``synchronized`` and
    the call runs in a replica context of more than one replica; ``None`` otherwise (outside a
    strategy, in a cross-replica context, or with one replica: nothing to share)."""
    if not synchronized:
        return None
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return None
    return lambda t: context.all_reduce(tf.distribute.ReduceOp.SUM, t)


def normalize_in_training(x: tf.Tensor, valid: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: float,
                          activate: bool = False, mask_output: bool = False, residual: tf.Tensor | None = None,
                          sum_across: SumAcross | None = None):
    """Training-mode masked batch norm, optionally fused with a residual sum, swish and output masking.

    ``x`` ``[B, T, D]`` (any float dtype), ``valid`` ``[B, T, 1]`` (1 on valid frames, 0 on padding)
    and ``gamma``/``beta`` ``[D]`` in the statistics dtype ``S`` (float32, or float64):

        μ = Σ m·x / n,  σ² = Σ m·(x - μ)² / n  (n = Σ m, over B and T),  x̂ = (x - μ) / sqrt(σ² + ε)
        z = γ x̂ + β (+ residual),  y = swish(z) if activate else z,  y ← m·y if mask_output.

    Returns ``(y [B, T, D] in x's dtype, μ [D], σ² [D])``; ``μ``/``σ²`` are for the moving averages
    and carry no gradient. The gradient is written by hand (one fused pass instead of autodiff's
    per-op chain: a third as many kernels per layer on CPU). With ``g = ∂L/∂z`` at every frame:
    ``∂L/∂β = Σ g``, ``∂L/∂γ = Σ g·x̂``, ``∂L/∂x = γ/sqrt(σ² + ε) · (g - m/n · (∂L/∂β + x̂ ∂L/∂γ))``
    (padded frames of ``z`` depend on μ and σ too, so the sums run over all frames), and
    ``∂L/∂residual = g``.

    ``sum_across`` (see ``cross_replica_sum``) makes the batch the union of all replicas' batches:
    ``n``, ``Σ m·x`` and ``Σ m·(x - μ)²`` are summed across replicas before μ and σ² are formed
    (two passes, as above, rather than ``E[x²] - μ²``: the same numerics as one device), and in the
    gradient so are ``∂L/∂β`` and ``∂L/∂γ`` inside ``∂L/∂x`` (μ and σ depend on every replica's
    frames); the returned ``∂L/∂γ``, ``∂L/∂β`` stay this replica's share, which the strategy sums
    like any variable's gradient.
    """
    stats_dtype = gamma.dtype
    # Masked sums over B and T as one [1, B·T] x [B·T, D] matmul: one pass over x instead of a
    # multiply and a reduction (element-wise passes dominate the CPU cost of this layer).
    valid_row = tf.reshape(valid, [1, -1])

    def masked_sum(values: tf.Tensor) -> tf.Tensor:
        return tf.matmul(valid_row, tf.reshape(values, [-1, values.shape[-1]]))[0]

    @tf.custom_gradient
    def forward(x, gamma, beta, *residual):
        xs = tf.cast(x, stats_dtype)
        sums, count = masked_sum(xs), tf.reduce_sum(valid)
        if sum_across is not None:  # one all-reduce for both: the count rides as an extra channel
            packed = sum_across(tf.concat([sums, count[None]], 0))
            sums, count = packed[:-1], packed[-1]
        count = tf.maximum(count, 1.0)
        mean = sums / count
        centred = xs - mean
        variance = masked_sum(tf.square(centred))
        if sum_across is not None:
            variance = sum_across(variance)
        variance = variance / count
        inv_std = tf.math.rsqrt(variance + epsilon)
        scale = gamma * inv_std
        z = centred * scale + beta
        if residual:
            z = z + tf.cast(residual[0], stats_dtype)
        if activate:
            gate = tf.sigmoid(z)
            y = z * gate
        else:
            y = z
        if mask_output:
            y = y * valid

        def grad(dy, dmean, dvariance):
            del dmean, dvariance  # statistics feed only the (non-differentiable) moving averages
            g = tf.cast(dy, stats_dtype)
            if mask_output:
                g = g * valid
            if activate:  # swish'(z) = σ(z) + z σ(z)(1 - σ(z)); SigmoidGrad(σ, u) = u σ (1 - σ)
                g = g * gate + tf.raw_ops.SigmoidGrad(y=gate, dy=g * z)
            dbeta = tf.reduce_sum(g, axis=(0, 1))
            dgamma = tf.reduce_sum(g * centred, axis=(0, 1)) * inv_std
            dbeta_all, dgamma_all = dbeta, dgamma
            if sum_across is not None:  # dx needs the sums over the all-replica batch μ and σ came from
                dbeta_all, dgamma_all = tf.split(sum_across(tf.concat([dbeta, dgamma], 0)), 2)
            # dx = γ/σ · (g - m/n · (dβ + x̂ dγ)) with x̂ = (x - μ)/σ, as per-channel factors:
            k_centred = scale * inv_std * dgamma_all / count
            k_constant = scale * dbeta_all / count
            dx = g * scale - valid * (centred * k_centred + k_constant)
            return (tf.cast(dx, x.dtype), dgamma, dbeta) + tuple(tf.cast(g, r.dtype) for r in residual)

        return (tf.cast(y, x.dtype), tf.stop_gradient(mean), tf.stop_gradient(variance)), grad

    return forward(x, gamma, beta, *([] if residual is None else [residual]))


def finish_affine(y: tf.Tensor, valid: tf.Tensor, activate: bool, mask_output: bool,
                  residual: tf.Tensor | None = None) -> tf.Tensor:
    """The inference tail after the affine map: ``(+ residual)``, swish when ``activate``,
    ``· valid`` when ``mask_output`` (``valid`` ``[B, T, 1]``), in ``y``'s dtype."""
    if residual is not None:
        y = y + residual
    if activate:
        y = tf.nn.silu(y)
    return y * tf.cast(valid, y.dtype) if mask_output else y


@keras.saving.register_keras_serializable(package="tf_contextnet")
class MaskedBatchNormalization(keras.layers.Layer):
    """Batch normalisation over ``[B, T, D]`` with statistics from the frames ``t < lengths[b]``.

    Training: ``μ = Σ m·x / Σ m``, ``σ² = Σ m·(x - μ)² / Σ m`` over B and T (``m`` the valid-frame
    mask), ``y = γ (x - μ) / sqrt(σ² + ε) + β``; moving averages ``v ← momentum·v + (1-momentum)·stat``.
    Inference: ``y = x · scale + offset`` with ``scale = γ / sqrt(σ²_moving + ε)`` and
    ``offset = β - μ_moving · scale`` (see ``scale_and_offset``, which lets a caller fold the
    normalisation into a preceding linear map). Padded frames are *not* zeroed here (the caller
    masks after its activation), but ``call`` zeroes the padding of ``x`` with ``tf.where`` first,
    so NaN/Inf there reach no valid value or gradient; ``normalize`` (the fused path the conv block
    uses) expects finite padding. Statistics are computed in the variable dtype (float32 under
    mixed precision).

    ``synchronized=False``: statistics are per replica. ``synchronized=True`` (as Keras'
    ``BatchNormalization(synchronized=True)``): under a ``tf.distribute`` strategy with more than
    one replica, called in a replica context, the masked sums and valid-frame counts are all-reduced
    first, so every replica normalises with (and moves its averages towards) the statistics of the
    global batch's valid frames; elsewhere it equals the unsynchronised layer. Worth it when the
    per-replica batch is small (a few utterances): its statistics are noisy and differ by replica.

    Call: ``layer((x [B, T, D], lengths [B]), training)`` → ``(y [B, T, D], lengths)``.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, synchronized: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"MaskedBatchNormalization: momentum must be in [0, 1], got {momentum}")
        if epsilon <= 0.0:
            raise ValueError(f"MaskedBatchNormalization: epsilon must be > 0, got {epsilon}")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.synchronized = bool(synchronized)

    def build(self, input_shape):
        channels = input_shape[0][-1]
        if channels is None:
            raise ValueError(f"MaskedBatchNormalization needs a known channel dimension, got {input_shape[0]}")
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma", autocast=False)
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta", autocast=False)
        self.moving_mean = self.add_weight(shape=(channels,), initializer="zeros", name="moving_mean",
                                           trainable=False, autocast=False)
        self.moving_variance = self.add_weight(shape=(channels,), initializer="ones", name="moving_variance",
                                               trainable=False, autocast=False)
        self.built = True

    def scale_and_offset(self) -> tuple[tf.Tensor, tf.Tensor]:
        """The inference-mode affine map ``(scale [D], offset [D])`` in the variable dtype."""
        scale = tf.convert_to_tensor(self.gamma) * tf.math.rsqrt(tf.convert_to_tensor(self.moving_variance)
                                                                 + self.epsilon)
        return scale, tf.convert_to_tensor(self.beta) - tf.convert_to_tensor(self.moving_mean) * scale

    def normalize(self, x: tf.Tensor, valid: tf.Tensor, training=None, activate: bool = False,
                  mask_output: bool = False, residual: tf.Tensor | None = None) -> tf.Tensor:
        """``BN(x)`` (``+ residual``), then swish when ``activate``, then ``· valid`` when ``mask_output``.

        ``valid`` is the ``[B, T, 1]`` valid-frame mask (any float dtype). Training uses the
        hand-written fused gradient of ``normalize_in_training`` and updates the moving averages;
        inference is the moving affine map (``scale_and_offset``).
        """
        if training:
            valid = tf.cast(valid, self.variable_dtype)
            y, mean, variance = normalize_in_training(
                x, valid, tf.convert_to_tensor(self.gamma), tf.convert_to_tensor(self.beta), self.epsilon,
                activate=activate, mask_output=mask_output, residual=residual,
                sum_across=cross_replica_sum(self.synchronized))
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
            return y
        scale, offset = self.scale_and_offset()
        return finish_affine(x * tf.cast(scale, x.dtype) + tf.cast(offset, x.dtype), valid, activate, mask_output,
                             residual)

    def call(self, inputs, training=None):
        x, lengths = inputs
        valid = valid_frames(lengths, tf.shape(x)[1])
        x = zero_padding(x, valid)  # tf.where: the masked sums below are matmuls, where 0·NaN = NaN
        return self.normalize(x, tf.cast(valid, self.variable_dtype), training=training), lengths

    def compute_output_shape(self, input_shape):
        return input_shape[0], input_shape[1]

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "synchronized": self.synchronized}
