"""Joint network + RNN-T loss computed in sub-batches, so peak memory scales with the sub-batch.

Shapes: B batch, b sub-batch, T frames, U labels, V vocabulary, De / Dp encoder / prediction
channels.

The ``[B, T, U+1, V]`` logits dominate the memory of RNN-T training. Like NeMo's
``fused_batch_size``, :func:`fused_joint_rnnt_loss` never materialises them for the whole
batch: the forward pass evaluates ``joint_fn`` and :func:`~tf_contextnet.losses.rnnt_loss` on
``sub_batch_size`` examples at a time and keeps only the ``[B]`` losses; the backward pass
recomputes each sub-batch's logits and back-propagates through them at once (activation
recomputation), so at most one sub-batch of logits and their gradient are alive. The cost is
one extra evaluation of the joint network.
"""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf

from tf_contextnet.losses.rnnt_loss import rnnt_loss

JointFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def fused_joint_rnnt_loss(joint_fn: JointFn, encoded: tf.Tensor, predicted: tf.Tensor, labels: tf.Tensor,
                          logit_lengths: tf.Tensor, label_lengths: tf.Tensor, sub_batch_size: int,
                          blank: int = 0) -> tf.Tensor:
    """Per-example RNN-T loss of ``joint_fn(encoded, predicted)``, evaluated ``sub_batch_size`` at a time.

    Args:
        joint_fn: ``(enc [b, T, De], pred [b, U+1, Dp]) -> logits [b, T, U+1, V]``; any variables it
            reads get gradients (it must create none: build it before the first call).
        encoded: ``[B, T, De]`` encoder output.
        predicted: ``[B, U+1, Dp]`` prediction-network output.
        labels: ``[B, U]`` int labels, 0-padded.
        logit_lengths: ``[B]`` valid frames.
        label_lengths: ``[B]`` valid labels.
        sub_batch_size: examples per sub-batch (>= 1).
        blank: blank id.

    Returns:
        ``[B]`` float32 losses, equal to ``rnnt_loss(joint_fn(encoded, predicted), ...)``, with
        gradients to ``encoded``, ``predicted`` and the variables ``joint_fn`` reads.
    """
    if int(sub_batch_size) < 1:
        raise ValueError(f"fused_joint_rnnt_loss: sub_batch_size must be >= 1, got {sub_batch_size}")
    sub_batch_size = int(sub_batch_size)
    labels = tf.convert_to_tensor(labels)
    logit_lengths = tf.convert_to_tensor(logit_lengths)
    label_lengths = tf.convert_to_tensor(label_lengths)

    def chunk_loss(start, size, enc, pred):
        def sub(x):
            return x[start:start + size]

        logits = joint_fn(sub(enc), sub(pred))
        return rnnt_loss(logits, sub(labels), sub(logit_lengths), sub(label_lengths), blank)

    @tf.custom_gradient
    def fused(enc, pred):
        loss = _map_chunks(lambda s, n: chunk_loss(s, n, enc, pred), tf.shape(enc)[0], enc.shape[0],
                           sub_batch_size)

        def grad_fn(upstream, variables=None):
            variables = list(variables or [])

            def chunk_grads(start, size):
                with tf.GradientTape() as tape:
                    tape.watch([enc, pred])
                    tape.watch(variables)
                    part = chunk_loss(start, size, enc, pred)
                    total = tf.reduce_sum(part * tf.cast(upstream[start:start + size], part.dtype))
                grads = tape.gradient(total, [enc, pred] + variables,
                                      unconnected_gradients=tf.UnconnectedGradients.ZERO)
                return [tf.convert_to_tensor(g) for g in grads]

            grads = _sum_chunks(chunk_grads, tf.shape(enc)[0], enc.shape[0], sub_batch_size,
                                [enc, pred] + variables)
            return grads[:2], grads[2:]

        return loss, grad_fn

    return fused(tf.convert_to_tensor(encoded), tf.convert_to_tensor(predicted))


def _chunks(static_batch: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(size, static_batch - s)) for s in range(0, static_batch, size)]


def _map_chunks(fn: Callable, batch: tf.Tensor, static_batch: int | None, size: int) -> tf.Tensor:
    """Concatenated ``fn(start, n)`` over the sub-batches, one after another."""
    if static_batch is not None:
        outs: list[tf.Tensor] = []
        for start, n in _chunks(static_batch, size):
            # The control dependency serialises the sub-batches, which bounds the peak memory.
            with tf.control_dependencies(outs[-1:]):
                outs.append(fn(start, n))
        return tf.concat(outs, 0)
    count = (batch + size - 1) // size
    out = tf.TensorArray(tf.float32, size=count, infer_shape=False)

    def body(i, out):
        start = i * size
        return i + 1, out.write(i, tf.cast(fn(start, tf.minimum(size, batch - start)), tf.float32))

    _, out = tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), out))
    return out.concat()


def _sum_chunks(fn: Callable, batch: tf.Tensor, static_batch: int | None, size: int,
                like: Sequence[tf.Tensor]) -> list[tf.Tensor]:
    """Gradients summed over the sub-batches (each sub-batch only touches its own rows of the inputs)."""
    if static_batch is not None:
        total: list[tf.Tensor] | None = None
        for start, n in _chunks(static_batch, size):
            # Every gradient of the previous sub-batch must be done (its logits freed) first.
            with tf.control_dependencies(total or []):
                grads = fn(start, n)
            total = grads if total is None else [a + g for a, g in zip(total, grads)]
        return total
    count = (batch + size - 1) // size

    def body(i, acc):
        start = i * size
        grads = fn(start, tf.minimum(size, batch - start))
        return i + 1, [a + tf.cast(g, a.dtype) for a, g in zip(acc, grads)]

    init = [tf.zeros_like(tf.convert_to_tensor(x)) for x in like]
    _, total = tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), init))
    return total
