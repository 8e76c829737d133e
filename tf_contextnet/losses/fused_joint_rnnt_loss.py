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

A batch of static size runs as a Python loop over its sub-batches; one of unknown size (a
``tf.data`` batch without ``drop_remainder``) as a ``tf.while_loop`` over sub-batches of the same
static size, the batch padded to a multiple of it (padded rows: zero inputs, one frame, no labels,
no gradient; they cost their share of the last sub-batch's joint), which XLA (``jit_compile``,
Keras' default on a GPU) can compile. The loop runs one iteration at a time, so one sub-batch's
logits are alive at a time there too.
"""

from __future__ import annotations

from typing import Callable, Sequence

import tensorflow as tf

from tf_contextnet.losses.rnnt_loss import rnnt_loss

JointFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
# What padded rows hold, per input (encoded, predicted, labels, logit_lengths, label_lengths): a
# one-frame, label-free utterance of zeros has a finite loss.
_PAD_VALUES = (0, 0, 0, 1, 0)


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
    size = int(sub_batch_size)
    labels = tf.convert_to_tensor(labels)
    logit_lengths = tf.convert_to_tensor(logit_lengths)
    label_lengths = tf.convert_to_tensor(label_lengths)

    @tf.custom_gradient
    def fused(enc, pred):
        batch, static_batch = tf.shape(enc)[0], enc.shape[0]
        rows = (enc, pred, labels, logit_lengths, label_lengths)
        if static_batch is None:
            rows = tuple(_pad_rows(x, batch, size, value) for x, value in zip(rows, _PAD_VALUES))

        def chunk_loss(start, n, enc_rows, pred_rows):
            sub_enc, sub_pred, sub_labels, sub_t, sub_u = (
                _take(x, start, n) for x in (enc_rows, pred_rows) + rows[2:])
            return rnnt_loss(joint_fn(sub_enc, sub_pred), sub_labels, sub_t, sub_u, blank)

        loss = _map_chunks(lambda s, n: chunk_loss(s, n, rows[0], rows[1]), batch, static_batch, size)

        def grad_fn(upstream, variables=None):
            variables = list(variables or [])
            enc_rows, pred_rows = rows[:2]
            weights = upstream if static_batch is not None else _pad_rows(upstream, batch, size, 0)

            def chunk_grads(start, n):
                with tf.GradientTape() as tape:
                    tape.watch([enc_rows, pred_rows])
                    tape.watch(variables)
                    part = chunk_loss(start, n, enc_rows, pred_rows)
                    total = tf.reduce_sum(part * tf.cast(_take(weights, start, n), part.dtype))
                grads = tape.gradient(total, [enc_rows, pred_rows] + variables,
                                      unconnected_gradients=tf.UnconnectedGradients.ZERO)
                return [tf.convert_to_tensor(g) for g in grads]

            grads = _sum_chunks(chunk_grads, batch, static_batch, size, [enc_rows, pred_rows] + variables)
            if static_batch is None:  # the padded rows' gradients are zero; drop them
                grads[:2] = [g[:batch] for g in grads[:2]]
            return grads[:2], grads[2:]

        return loss, grad_fn

    return fused(tf.convert_to_tensor(encoded), tf.convert_to_tensor(predicted))


def _chunks(static_batch: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(size, static_batch - s)) for s in range(0, static_batch, size)]


def _pad_rows(x: tf.Tensor, batch: tf.Tensor, size: int, value) -> tf.Tensor:
    """``x`` with rows of ``value`` appended up to a multiple of ``size`` rows."""
    missing = (size - batch % size) % size
    paddings = tf.concat([[[0, missing]], tf.zeros([tf.rank(x) - 1, 2], tf.int32)], 0)
    return tf.pad(x, paddings, constant_values=tf.cast(value, x.dtype))


def _take(x: tf.Tensor, start, n) -> tf.Tensor:
    """Rows ``start .. start + n``: a slice for Python ints, a gather of static size ``n`` otherwise (XLA)."""
    if isinstance(start, int):
        return x[start:start + n]
    return tf.gather(x, start + tf.range(n))


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
    out = tf.TensorArray(tf.float32, size=count, element_shape=[size])

    def body(i, out):
        return i + 1, out.write(i, tf.cast(fn(i * size, size), tf.float32))

    # One iteration at a time (the default runs up to 10 at once, each with its sub-batch's logits).
    _, out = tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), out), parallel_iterations=1)
    return tf.reshape(out.stack(), [-1])[:batch]


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
        grads = fn(i * size, size)
        return i + 1, [a + tf.cast(g, a.dtype) for a, g in zip(acc, grads)]

    init = [tf.zeros_like(tf.convert_to_tensor(x)) for x in like]
    _, total = tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), init), parallel_iterations=1)
    return list(total)
