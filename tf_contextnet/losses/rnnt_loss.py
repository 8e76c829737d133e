"""RNN-Transducer loss (Graves 2012, arXiv 1211.3711) in TensorFlow ops, exact and memory-lean.

Shapes: B batch, T frames (encoder output), U labels (U+1 prediction steps), V vocabulary
(blank included).

For one example with ``T_b`` frames and ``U_b`` labels ``y_1..y_U_b`` the lattice node ``(t, u)``
has two outgoing arcs, with log-probabilities taken from ``log_softmax(logits[t, u])``:

* blank ``∅(t, u) = log p(blank | t, u)`` to ``(t+1, u)``;
* label ``ŷ(t, u) = log p(y_{u+1} | t, u)`` to ``(t, u+1)``.

Forward and backward variables (Graves 2012, eq. 16 and 18)::

    α(0, 0) = 0,  α(t, u) = logaddexp(α(t-1, u) + ∅(t-1, u), α(t, u-1) + ŷ(t, u-1))
    β(T_b-1, U_b) = ∅(T_b-1, U_b),  β(t, u) = logaddexp(β(t+1, u) + ∅(t, u), β(t, u+1) + ŷ(t, u))
    loss = -log P(y | x) = -β(0, 0) = -(α(T_b-1, U_b) + ∅(T_b-1, U_b))

Both recursions run over the anti-diagonals ``n = t + u`` (every node on one diagonal depends only
on the previous one), so the sequential depth is ``T + U`` rather than ``T·U``. Only the blank and
next-label log-probabilities are gathered from the logits (``2 × [B, T, U+1]``, warp-rnnt's
"gather" trick). The gradient with respect to the logits (Graves 2012, eq. 20 with the softmax
folded in) is written directly::

    ∂loss/∂logits[t, u, v] = γ(t, u)·softmax(logits[t, u])_v − P∅(t, u)·[v = blank] − Pŷ(t, u)·[v = y_{u+1}]

with the arc posteriors ``P∅ = exp(α + ∅ + β(t+1, u) + loss)``, ``Pŷ = exp(α + ŷ + β(t, u+1) + loss)``
and the node occupancy ``γ = P∅ + Pŷ``. The only ``B·T·(U+1)·V`` tensor created is the gradient
itself (plus one transient for the log-sum-exp in the forward pass when not compiled with XLA;
for float16/bfloat16 logits that transient is the float32 copy the log-sum-exp is computed on).

Under XLA the gradient is one fused element-wise pass; in plain graph mode it is the softmax
kernel's output, scaled in place, with the ``2·B·T·(U+1)`` posteriors subtracted in place.
Measured on a 2-core CPU: ``benchmarks/rnnt_loss.py`` and ``benchmarks/results/rnnt_loss*.md``.
"""

from __future__ import annotations

import tensorflow as tf

# Log-probability standing for "no path". Finite so that sums of several never become NaN
# (-inf - -inf); 1e30 leaves ample float32 head-room for ~1e4 additions.
_NEG = -1e30


def rnnt_loss(logits: tf.Tensor, labels: tf.Tensor, logit_lengths: tf.Tensor,
              label_lengths: tf.Tensor, blank: int = 0) -> tf.Tensor:
    """Per-example RNN-T negative log-likelihood ``-log P(labels | logits)``.

    Args:
        logits: ``[B, T, U+1, V]`` unnormalised joint-network outputs (float16, bfloat16, float32
            or float64); the log-softmax over ``V`` is fused inside. Padding (``t >= logit_lengths``
            or ``u > label_lengths``) must be finite and gets a zero gradient.
        labels: ``[B, U]`` integer label ids in ``[0, V)`` (``!= blank`` for valid positions),
            anything past ``label_lengths`` is ignored. An invalid label within ``label_lengths``
            raises: a ``ValueError`` eagerly, a ``tf.errors.InvalidArgumentError`` naming the bad
            values in a ``tf.function``. Under XLA (``jit_compile=True``, TPU), where asserts are
            dropped, that example's loss is NaN (and its gradient zero, so the weights stay finite)
            for ``NonFiniteLossGuard`` to stop on.
        logit_lengths: ``[B]`` valid frames ``T_b``, ``1 <= T_b <= T``.
        label_lengths: ``[B]`` valid labels ``U_b``, ``0 <= U_b <= U``.
        blank: id of the blank symbol.

    Returns:
        ``[B]`` float32 (float64 for float64 logits) losses; differentiable with respect to
        ``logits`` through a custom gradient, the gradient has the dtype of ``logits``.

    Works eagerly, in ``tf.function`` and with ``jit_compile=True``; with static shapes it needs
    no dynamic shapes (TPU).
    """
    logits = tf.convert_to_tensor(logits)
    labels = tf.cast(tf.convert_to_tensor(labels), tf.int32)
    logit_lengths = tf.cast(tf.convert_to_tensor(logit_lengths), tf.int32)
    label_lengths = tf.cast(tf.convert_to_tensor(label_lengths), tf.int32)
    _check_inputs(logits, labels, logit_lengths, label_lengths, blank)
    if not tf.executing_eagerly() and not _in_xla_context():
        with tf.control_dependencies(_graph_assertions(logits, labels, logit_lengths, label_lengths, blank)):
            # every input waits for the checks, so that no op reads a bad value first
            logits, labels = tf.identity(logits), tf.identity(labels)
            logit_lengths, label_lengths = tf.identity(logit_lengths), tf.identity(label_lengths)
    return _rnnt_loss_with_grad(logits, labels, logit_lengths, label_lengths, int(blank))


def _check_inputs(logits: tf.Tensor, labels: tf.Tensor, logit_lengths: tf.Tensor,
                  label_lengths: tf.Tensor, blank: int) -> None:
    """Clear errors for bad shapes (always) and bad values (when executing eagerly)."""
    if not logits.dtype.is_floating:
        raise TypeError(f"rnnt_loss: logits must be floating point, got {logits.dtype.name}")
    if logits.shape.rank is not None and logits.shape.rank != 4:
        raise ValueError(f"rnnt_loss: logits must be [B, T, U+1, V], got shape {logits.shape}")
    if labels.shape.rank is not None and labels.shape.rank != 2:
        raise ValueError(f"rnnt_loss: labels must be [B, U], got shape {labels.shape}")
    for name, lengths in (("logit_lengths", logit_lengths), ("label_lengths", label_lengths)):
        if lengths.shape.rank is not None and lengths.shape.rank != 1:
            raise ValueError(f"rnnt_loss: {name} must be [B], got shape {lengths.shape}")
    batch = [logits.shape[0], labels.shape[0], logit_lengths.shape[0], label_lengths.shape[0]]
    if len({b for b in batch if b is not None}) > 1:
        raise ValueError(f"rnnt_loss: batch sizes differ: logits {logits.shape}, labels {labels.shape}, "
                         f"logit_lengths {logit_lengths.shape}, label_lengths {label_lengths.shape}")
    u1, u = logits.shape[2], labels.shape[1]
    if u1 is not None and u is not None and u1 != u + 1:
        raise ValueError(f"rnnt_loss: logits {logits.shape} must have U+1 = {u + 1} prediction steps "
                         f"for labels {labels.shape}")
    vocab = logits.shape[3]
    if vocab is not None and not 0 <= blank < vocab:
        raise ValueError(f"rnnt_loss: blank={blank} is outside the vocabulary [0, {vocab})")
    if not tf.executing_eagerly():
        return
    shape = tf.shape(logits).numpy()
    tl, ul = logit_lengths.numpy(), label_lengths.numpy()
    if (tl < 1).any() or (tl > shape[1]).any():
        raise ValueError(f"rnnt_loss: logit_lengths must be in [1, T={shape[1]}], got {tl.tolist()}")
    if (ul < 0).any() or (ul > shape[2] - 1).any():
        raise ValueError(f"rnnt_loss: label_lengths must be in [0, U={shape[2] - 1}], got {ul.tolist()}")
    valid = tf.sequence_mask(label_lengths, tf.shape(labels)[1]).numpy()
    lab = labels.numpy()[valid]
    if lab.size and ((lab < 0).any() or (lab >= shape[3]).any() or (lab == blank).any()):
        raise ValueError(f"rnnt_loss: valid labels must be in [0, V={shape[3]}) and differ from "
                         f"blank={blank}; got values in [{lab.min()}, {lab.max()}]"
                         f"{' including blank' if (lab == blank).any() else ''}")


def _invalid_labels(labels: tf.Tensor, label_lengths: tf.Tensor, vocab: tf.Tensor, blank: int) -> tf.Tensor:
    """``[B, U]`` bool: a label within ``label_lengths`` that is blank or outside ``[0, V)``."""
    valid = tf.sequence_mask(label_lengths, tf.shape(labels)[1])
    out_of_range = tf.logical_or(tf.logical_or(labels < 0, labels >= vocab), tf.equal(labels, blank))
    return tf.logical_and(valid, out_of_range)


def _graph_assertions(logits: tf.Tensor, labels: tf.Tensor, logit_lengths: tf.Tensor,
                      label_lengths: tf.Tensor, blank: int) -> list:
    """The eager value checks as graph asserts; each message names the offending values."""
    shape = tf.shape(logits)
    invalid = _invalid_labels(labels, label_lengths, shape[3], blank)
    where = tf.where(invalid)
    return [
        tf.debugging.assert_greater_equal(logit_lengths, 1, message="rnnt_loss: logit_lengths must be >= 1"),
        tf.debugging.assert_less_equal(logit_lengths, shape[1],
                                       message="rnnt_loss: logit_lengths must be <= T (the logits' frames)"),
        tf.debugging.assert_non_negative(label_lengths, message="rnnt_loss: label_lengths must be >= 0"),
        tf.debugging.assert_less_equal(label_lengths, shape[2] - 1,
                                       message="rnnt_loss: label_lengths must be <= U (the logits' steps - 1)"),
        tf.debugging.Assert(
            tf.logical_not(tf.reduce_any(invalid)),
            [f"rnnt_loss: valid labels must be in [0, V) and differ from blank={blank}; V =", shape[3],
             "; bad values", tf.gather_nd(labels, where), "at [example, position]", where],
            summarize=20, name="assert_valid_labels"),
    ]


def _in_xla_context() -> bool:
    """Whether the op being built will be compiled by XLA (``jit_compile=True`` or TPU)."""
    try:
        from tensorflow.python.framework import ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # private modules moved: fall back to the formulation valid everywhere
        return False
    return control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph())


def _next_labels(labels: tf.Tensor, shape: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Next label ``y_{u+1}`` per node, ``[B, T, U+1]`` int32, and its ``[B·T·(U+1)]`` int64 index
    into the flattened logits.

    The last prediction step (``u = U``) has no next label: it reads the padding value 0, and
    padding is clipped into the vocabulary; the posterior of those arcs is zero anyway.
    """
    b, t, u1, v = shape[0], shape[1], shape[2], shape[3]
    next_label = tf.pad(labels, [[0, 0], [0, 1]])
    next_label = tf.clip_by_value(next_label, 0, v - 1)
    next_label = tf.broadcast_to(next_label[:, None, :], tf.stack([b, t, u1]))
    rows = tf.range(tf.cast(b * t * u1, tf.int64), dtype=tf.int64)
    return next_label, rows * tf.cast(v, tf.int64) + tf.cast(tf.reshape(next_label, [-1]), tf.int64)


def _skew(x: tf.Tensor) -> tf.Tensor:
    """``[B, T, U+1]`` → ``[N, B, U+1]`` with ``out[n, b, u] = x[b, n-u, u]`` (``_NEG`` off the grid).

    ``N = T + U`` anti-diagonals. Pad ``T`` by ``U+1`` and re-read the rows with a stride one
    shorter, which shifts row ``u`` by ``u``.
    """
    shape = tf.shape(x)
    b, t, u1 = shape[0], shape[1], shape[2]
    rows = tf.transpose(x, [0, 2, 1])
    rows = tf.pad(rows, [[0, 0], [0, 0], [0, u1]], constant_values=_NEG)
    flat = tf.reshape(rows, tf.stack([b, u1 * (t + u1)]))[:, : u1 * (t + u1 - 1)]
    diag = tf.reshape(flat, tf.stack([b, u1, t + u1 - 1]))
    return tf.transpose(diag, [2, 0, 1])


def _unskew(s: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`_skew`: ``[N, B, U+1]`` → ``[B, T, U+1]``."""
    shape = tf.shape(s)
    n, b, u1 = shape[0], shape[1], shape[2]
    diag = tf.transpose(s, [1, 2, 0])
    flat = tf.pad(tf.reshape(diag, tf.stack([b, u1 * n])), [[0, 0], [0, u1]])
    rows = tf.reshape(flat, tf.stack([b, u1, n + 1]))[:, :, :t]
    return tf.transpose(rows, [0, 2, 1])


def _logaddexp(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    big = tf.maximum(a, b)
    return big + tf.math.log1p(tf.exp(-tf.abs(a - b)))


def _shift_right(x: tf.Tensor) -> tf.Tensor:
    """``out[..., u] = x[..., u-1]``, ``_NEG`` at ``u = 0`` (the label arc enters from ``u-1``)."""
    return tf.concat([tf.fill(tf.shape(x[..., :1]), tf.constant(_NEG, x.dtype)), x[..., :-1]], -1)


def _shift_left(x: tf.Tensor) -> tf.Tensor:
    """``out[..., u] = x[..., u+1]``, ``_NEG`` at ``u = U``."""
    return tf.concat([x[..., 1:], tf.fill(tf.shape(x[..., :1]), tf.constant(_NEG, x.dtype))], -1)


def _alphas(blank_sk: tf.Tensor, label_sk: tf.Tensor) -> tf.Tensor:
    """Forward variables on the diagonals, ``[N, B, U+1]``, from skewed arc log-probs."""
    first = tf.concat([tf.zeros_like(blank_sk[0, :, :1]),
                       tf.fill(tf.shape(blank_sk[0, :, 1:]), tf.constant(_NEG, blank_sk.dtype))], 1)

    def step(alpha, arcs):
        arc_blank, arc_label = arcs
        return _logaddexp(alpha + arc_blank, _shift_right(alpha + arc_label))

    rest = tf.scan(step, (blank_sk[:-1], label_sk[:-1]), initializer=first)
    return tf.concat([first[None], rest], 0)


def _betas(blank_sk: tf.Tensor, label_sk: tf.Tensor, terminal_sk: tf.Tensor) -> tf.Tensor:
    """Backward variables on the diagonals, ``[N, B, U+1]``; ``terminal_sk`` marks ``(T_b-1, U_b)``."""
    last = tf.fill(tf.shape(blank_sk[0]), tf.constant(_NEG, blank_sk.dtype))

    def step(beta_next, arcs):
        arc_blank, arc_label, terminal = arcs
        inner = _logaddexp(beta_next + arc_blank, _shift_left(beta_next) + arc_label)
        return tf.where(terminal, arc_blank, inner)

    return tf.scan(step, (blank_sk, label_sk, terminal_sk), initializer=last, reverse=True)


def _terminal_skewed(logit_lengths: tf.Tensor, label_lengths: tf.Tensor, n: tf.Tensor,
                     u1: tf.Tensor) -> tf.Tensor:
    """``[N, B, U+1]`` bool, true at the last node ``(T_b-1, U_b)`` of each example."""
    diag = tf.range(n)[:, None, None] == (logit_lengths - 1 + label_lengths)[None, :, None]
    col = tf.range(u1)[None, None, :] == label_lengths[None, :, None]
    return tf.logical_and(diag, col)


def _valid_nodes(logit_lengths: tf.Tensor, label_lengths: tf.Tensor, t: tf.Tensor, u1: tf.Tensor) -> tf.Tensor:
    """``[B, T, U+1]`` bool, true on the lattice of each example (``t < T_b``, ``u <= U_b``)."""
    in_t = tf.sequence_mask(logit_lengths, t)[:, :, None]
    in_u = tf.sequence_mask(label_lengths + 1, u1)[:, None, :]
    return tf.logical_and(in_t, in_u)


def _arc_log_probs(logits: tf.Tensor, label_index: tf.Tensor, blank: int,
                   valid: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Log-sum-exp ``[B, T, U+1]`` and the blank / next-label log-probs (``_NEG`` off the lattice)."""
    compute = tf.float64 if logits.dtype == tf.float64 else tf.float32
    lse = tf.reduce_logsumexp(tf.cast(logits, compute), axis=-1)
    blank_logit = tf.cast(logits[..., blank], compute)
    label_logit = tf.reshape(tf.gather(tf.reshape(logits, [-1]), label_index), tf.shape(lse))
    neg = tf.constant(_NEG, compute)
    log_blank = tf.where(valid, blank_logit - lse, neg)
    log_label = tf.where(valid, tf.cast(label_logit, compute) - lse, neg)
    return lse, log_blank, log_label


def _softmax_minus_posterior(logits: tf.Tensor, lse: tf.Tensor, occupancy: tf.Tensor,
                             post_blank: tf.Tensor, post_label: tf.Tensor, next_label: tf.Tensor,
                             label_index: tf.Tensor, blank: int) -> tf.Tensor:
    """``γ·softmax(logits) − P∅·[v=blank] − Pŷ·[v=y]`` as one logits-sized tensor.

    Under XLA an iota comparison fuses with the softmax into a single pass that writes the
    gradient once. Without XLA every element-wise op would allocate its own logits-sized
    temporary, so the gradient buffer is written by the softmax kernel, scaled in place (TF
    forwards a buffer with no other consumer) and the ``2·B·T·(U+1)`` posteriors are subtracted
    in place (``InplaceSub``; a scatter would copy the buffer).
    """
    dtype = logits.dtype
    vocab = tf.shape(logits)[-1]
    if _in_xla_context():
        compute = lse.dtype
        vid = tf.range(vocab)[None, None, None, :]
        soft = tf.exp(tf.cast(logits, compute) - lse[..., None]) * occupancy[..., None]
        grad = (soft - tf.where(vid == blank, post_blank[..., None], 0.0)
                - tf.where(vid == next_label[..., None], post_label[..., None], 0.0))
        return tf.cast(grad, dtype)
    soft = tf.nn.softmax(logits) * tf.cast(occupancy, dtype)[..., None]
    flat_shape = tf.shape(label_index, out_type=tf.int64)
    rows = tf.range(flat_shape[0], dtype=tf.int64) * tf.cast(vocab, tf.int64)
    index = tf.concat([rows + blank, label_index], 0)
    updates = tf.cast(tf.concat([tf.reshape(post_blank, [-1]), tf.reshape(post_label, [-1])], 0), dtype)
    if logits.shape.num_elements() is not None and logits.shape.num_elements() < 2**31:
        # InplaceSub aliases its input: `soft` has no other consumer, so this writes into the
        # gradient buffer (tensor_scatter_nd_sub would copy it first).
        grad = tf.raw_ops.InplaceSub(x=tf.reshape(soft, [-1, 1]), i=tf.cast(index, tf.int32),
                                     v=updates[:, None])
    else:
        grad = tf.tensor_scatter_nd_sub(tf.reshape(soft, [-1]), index[:, None], updates)
    return tf.reshape(grad, tf.shape(logits))


def _rnnt_loss_with_grad(logits: tf.Tensor, labels: tf.Tensor, logit_lengths: tf.Tensor,
                         label_lengths: tf.Tensor, blank: int) -> tf.Tensor:
    shape = tf.shape(logits)
    t, u1 = shape[1], shape[2]
    next_label, label_index = _next_labels(labels, shape)
    valid = _valid_nodes(logit_lengths, label_lengths, t, u1)
    invalid = tf.reduce_any(_invalid_labels(labels, label_lengths, shape[3], blank), axis=1)

    @tf.custom_gradient
    def loss_fn(logits_in):
        lse, log_blank, log_label = _arc_log_probs(logits_in, label_index, blank, valid)
        blank_sk, label_sk = _skew(log_blank), _skew(log_label)
        alpha = _alphas(blank_sk, label_sk)
        n = tf.shape(alpha)[0]
        batch = tf.range(tf.shape(alpha)[1])
        last = tf.stack([logit_lengths - 1 + label_lengths, batch, label_lengths], 1)
        loss = -(tf.gather_nd(alpha, last) + tf.gather_nd(blank_sk, last))
        # Invalid labels (only reachable where asserts are dropped, under XLA) make the loss NaN.
        loss = tf.where(invalid, tf.constant(float("nan"), loss.dtype), loss)

        def grad_fn(upstream):
            terminal = _terminal_skewed(logit_lengths, label_lengths, n, u1)
            beta = _betas(blank_sk, label_sk, terminal)
            beta_next = tf.concat([beta[1:], tf.fill(tf.shape(beta[:1]), tf.constant(_NEG, beta.dtype))], 0)
            # The exit arc from the last node carries beta 0 (log 1).
            beta_after_blank = tf.where(terminal, tf.zeros_like(beta_next), beta_next)
            beta_after_label = _shift_left(beta_next)
            base = alpha + loss[None, :, None]
            post_blank = _unskew(tf.exp(base + blank_sk + beta_after_blank), t)
            post_label = _unskew(tf.exp(base + label_sk + beta_after_label), t)
            scale = tf.cast(upstream, post_blank.dtype)[:, None, None]
            # tf.where, not a product: an invalid example's posteriors are NaN (its loss is).
            keep = tf.logical_not(invalid)[:, None, None]
            post_blank = tf.where(keep, post_blank * scale, tf.zeros_like(post_blank))
            post_label = tf.where(keep, post_label * scale, tf.zeros_like(post_label))
            return _softmax_minus_posterior(logits_in, lse, post_blank + post_label, post_blank,
                                            post_label, next_label, label_index, blank)

        return loss, grad_fn

    return loss_fn(logits)

