"""Tests of tf_contextnet.losses.rnnt_loss against independent float64 references.

References: brute-force enumeration of every alignment, a float64 numpy alpha-beta with the
gradient from Graves (2012) eq. 20, and finite differences.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.losses import rnnt_loss


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def brute_force_nll(logits: np.ndarray, labels: np.ndarray, blank: int = 0) -> float:
    """-log Σ over every alignment of Π arc probabilities, one example ``[T, U+1, V]``."""
    lp = log_softmax(logits)
    t_max, u_max = lp.shape[0], len(labels)
    path_logps = []
    # An alignment is the order of T-1 blank moves and U label moves from (0, 0) to (T-1, U),
    # then the final blank.
    for label_steps in itertools.combinations(range(t_max - 1 + u_max), u_max):
        t = u = 0
        total = 0.0
        for step in range(t_max - 1 + u_max):
            if step in label_steps:
                total += lp[t, u, labels[u]]
                u += 1
            else:
                total += lp[t, u, blank]
                t += 1
        path_logps.append(total + lp[t_max - 1, u_max, blank])
    return -float(np.logaddexp.reduce(path_logps))


def reference_loss_and_grad(logits: np.ndarray, labels: np.ndarray, t_len: int, u_len: int,
                            blank: int = 0) -> tuple[float, np.ndarray]:
    """Float64 alpha-beta on one example; gradient w.r.t. the full (padded) logits ``[T, U+1, V]``."""
    lp = log_softmax(logits[:t_len, : u_len + 1])
    y = labels[:u_len]
    alpha = np.full((t_len, u_len + 1), -np.inf)
    beta = np.full((t_len, u_len + 1), -np.inf)
    for t in range(t_len):
        for u in range(u_len + 1):
            if t == 0 and u == 0:
                alpha[t, u] = 0.0
                continue
            terms = []
            if t > 0:
                terms.append(alpha[t - 1, u] + lp[t - 1, u, blank])
            if u > 0:
                terms.append(alpha[t, u - 1] + lp[t, u - 1, y[u - 1]])
            alpha[t, u] = np.logaddexp.reduce(terms)
    for t in reversed(range(t_len)):
        for u in reversed(range(u_len + 1)):
            if t == t_len - 1 and u == u_len:
                beta[t, u] = lp[t, u, blank]
                continue
            terms = []
            if t < t_len - 1:
                terms.append(beta[t + 1, u] + lp[t, u, blank])
            if u < u_len:
                terms.append(beta[t, u + 1] + lp[t, u, y[u]])
            beta[t, u] = np.logaddexp.reduce(terms)
    log_p = beta[0, 0]
    # Graves (2012) eq. 20: d(-log P)/d log p(k|t,u) = -exp(alpha + log p + beta_next - log P);
    # the chain rule through log_softmax gives softmax * occupancy - posterior.
    dlp = np.zeros_like(lp)
    for t in range(t_len):
        for u in range(u_len + 1):
            next_blank = 0.0 if (t == t_len - 1 and u == u_len) else (
                beta[t + 1, u] if t < t_len - 1 else -np.inf)
            dlp[t, u, blank] -= np.exp(alpha[t, u] + lp[t, u, blank] + next_blank - log_p)
            if u < u_len:
                dlp[t, u, y[u]] -= np.exp(alpha[t, u] + lp[t, u, y[u]] + beta[t, u + 1] - log_p)
    grad_lp_sum = dlp.sum(-1, keepdims=True)
    grad = np.zeros(logits.shape, np.float64)
    grad[:t_len, : u_len + 1] = dlp - np.exp(lp) * grad_lp_sum
    return -float(log_p), grad


def random_batch(rng: np.random.Generator, b: int, t: int, u: int, v: int, blank: int = 0,
                 scale: float = 1.0):
    logits = (scale * rng.standard_normal((b, t, u + 1, v))).astype(np.float32)
    t_len = rng.integers(1, t + 1, size=b).astype(np.int32)
    u_len = rng.integers(0, u + 1, size=b).astype(np.int32)
    t_len[0], u_len[0] = t, u
    choices = np.array([k for k in range(v) if k != blank])
    labels = rng.choice(choices, size=(b, u)).astype(np.int32)
    for i in range(b):
        labels[i, u_len[i]:] = 0
    return logits, labels, t_len, u_len


def loss_and_grad(logits, labels, t_len, u_len, blank=0, mode="eager", weights=None):
    def fn(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = rnnt_loss(x, labels, t_len, u_len, blank=blank)
            total = tf.reduce_sum(loss if weights is None else loss * weights)
        return loss, tape.gradient(total, x)

    if mode != "eager":
        fn = tf.function(fn, jit_compile=(mode == "xla"))
    loss, grad = fn(tf.convert_to_tensor(logits))
    return loss.numpy(), grad.numpy()


@pytest.mark.parametrize("t,u,v", [(1, 0, 2), (1, 2, 3), (3, 1, 3), (2, 3, 4), (4, 2, 3)])
def test_matches_brute_force_enumeration(t, u, v):
    rng = np.random.default_rng(t * 100 + u * 10 + v)
    logits = rng.standard_normal((1, t, u + 1, v)).astype(np.float32)
    labels = rng.integers(1, v, size=(1, u)).astype(np.int32)
    loss = rnnt_loss(logits, labels, [t], [u]).numpy()
    np.testing.assert_allclose(loss[0], brute_force_nll(logits[0], labels[0]), rtol=1e-5)


def test_brute_force_with_nonzero_blank_and_ragged_batch():
    rng = np.random.default_rng(7)
    logits, labels, t_len, u_len = random_batch(rng, 4, 4, 3, 5, blank=2)
    loss = rnnt_loss(logits, labels, t_len, u_len, blank=2).numpy()
    expected = [brute_force_nll(logits[b, : t_len[b], : u_len[b] + 1], labels[b, : u_len[b]], blank=2)
                for b in range(4)]
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
@pytest.mark.parametrize("seed,shape", [(0, (3, 7, 4, 6)), (1, (4, 12, 6, 9)), (2, (2, 5, 8, 3))])
def test_loss_and_gradient_match_float64_reference(mode, seed, shape):
    rng = np.random.default_rng(seed)
    logits, labels, t_len, u_len = random_batch(rng, *shape, scale=2.0)
    weights = rng.uniform(0.5, 2.0, size=shape[0]).astype(np.float32)
    loss, grad = loss_and_grad(logits, labels, t_len, u_len, mode=mode, weights=weights)
    for b in range(shape[0]):
        ref_loss, ref_grad = reference_loss_and_grad(logits[b], labels[b], t_len[b], u_len[b])
        assert abs(loss[b] - ref_loss) <= 1e-4 * abs(ref_loss), (b, loss[b], ref_loss)
        err = np.abs(grad[b] - weights[b] * ref_grad).max() / np.abs(weights[b] * ref_grad).max()
        assert err <= 1e-4, (b, err)
    assert loss.dtype == np.float32 and grad.dtype == np.float32


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    logits, labels, t_len, u_len = random_batch(rng, 3, 5, 3, 4)
    x = logits.astype(np.float64)
    _, grad = loss_and_grad(x, labels, t_len, u_len)
    eps = 1e-6
    for _ in range(5):
        direction = rng.standard_normal(x.shape)
        up = rnnt_loss(x + eps * direction, labels, t_len, u_len).numpy().sum()
        down = rnnt_loss(x - eps * direction, labels, t_len, u_len).numpy().sum()
        np.testing.assert_allclose((up - down) / (2 * eps), (grad * direction).sum(), rtol=1e-6)


def test_invariant_to_padding_and_padding_gets_zero_gradient():
    rng = np.random.default_rng(4)
    logits, labels, t_len, u_len = random_batch(rng, 3, 6, 4, 5)
    t_len[:] = [6, 4, 2]
    u_len[:] = [4, 1, 3]
    for b in range(3):
        labels[b, u_len[b]:] = 0
    loss, grad = loss_and_grad(logits, labels, t_len, u_len)
    padded = np.concatenate([logits, 50 * rng.standard_normal((3, 3, 5, 5)).astype(np.float32)], 1)
    padded = np.concatenate([padded, 50 * rng.standard_normal((3, 9, 2, 5)).astype(np.float32)], 2)
    labels_padded = np.concatenate([labels, rng.integers(1, 5, size=(3, 2)).astype(np.int32)], 1)
    loss_p, grad_p = loss_and_grad(padded, labels_padded, t_len, u_len, mode="graph")
    np.testing.assert_allclose(loss_p, loss, rtol=1e-6)
    for b in range(3):
        tb, ub = t_len[b], u_len[b] + 1
        np.testing.assert_allclose(grad_p[b, :tb, :ub], grad[b, :tb, :ub], rtol=1e-5, atol=1e-7)
        assert not grad_p[b, tb:].any() and not grad_p[b, :, ub:].any()
        single = rnnt_loss(logits[b:b + 1, :tb, :ub], labels[b:b + 1, :ub - 1], [tb], [ub - 1]).numpy()
        np.testing.assert_allclose(single[0], loss[b], rtol=1e-6)


def test_long_sequences_are_stable():
    rng = np.random.default_rng(5)
    t, u, v = 1000, 200, 3
    logits = (10 * rng.standard_normal((1, t, u + 1, v))).astype(np.float32)
    labels = rng.integers(1, v, size=(1, u)).astype(np.int32)
    loss, grad = loss_and_grad(logits, labels, [t], [u], mode="graph")
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    ref_loss, _ = _reference_loss_vectorised(logits[0], labels[0])
    np.testing.assert_allclose(loss[0], ref_loss, rtol=1e-4)
    # Each node's gradient row sums to zero (softmax minus a distribution of the same mass).
    assert np.abs(grad.sum(-1)).max() < 1e-3


def _reference_loss_vectorised(logits: np.ndarray, labels: np.ndarray) -> tuple[float, None]:
    """Float64 alpha over t with a cumulative log-sum-exp along u (exact, fast enough for T=1000)."""
    lp = log_softmax(logits)
    t_len, u1 = lp.shape[:2]
    blank_lp = lp[:, :, 0]
    label_lp = np.take_along_axis(lp[:, :-1], labels[None, :, None], -1)[..., 0]
    alpha = np.full(u1, -np.inf)
    alpha[0] = 0.0
    for u in range(1, u1):
        alpha[u] = alpha[u - 1] + label_lp[0, u - 1]
    for t in range(1, t_len):
        from_below = alpha + blank_lp[t - 1]
        new = np.empty(u1)
        new[0] = from_below[0]
        for u in range(1, u1):
            new[u] = np.logaddexp(from_below[u], new[u - 1] + label_lp[t, u - 1])
        alpha = new
    return -(alpha[-1] + blank_lp[-1, -1]), None


@pytest.mark.parametrize("dtype,rtol", [(tf.float16, 2e-3), (tf.bfloat16, 1e-2)])
@pytest.mark.parametrize("mode", ["graph", "xla"])
def test_half_precision_logits(dtype, rtol, mode):
    rng = np.random.default_rng(6)
    logits, labels, t_len, u_len = random_batch(rng, 3, 8, 5, 7, scale=3.0)
    half = tf.cast(logits, dtype)
    rounded = tf.cast(half, tf.float32).numpy()
    loss, grad = loss_and_grad(half, labels, t_len, u_len, mode=mode)
    assert loss.dtype == np.float32
    assert grad.dtype == dtype.as_numpy_dtype
    for b in range(3):
        ref_loss, ref_grad = reference_loss_and_grad(rounded[b], labels[b], t_len[b], u_len[b])
        np.testing.assert_allclose(loss[b], ref_loss, rtol=1e-5)
        err = np.abs(grad[b].astype(np.float64) - ref_grad).max() / np.abs(ref_grad).max()
        assert err < rtol * 5, err


def test_jit_compile_equals_graph_and_eager():
    rng = np.random.default_rng(8)
    logits, labels, t_len, u_len = random_batch(rng, 4, 10, 6, 11)
    results = {mode: loss_and_grad(logits, labels, t_len, u_len, mode=mode) for mode in ("eager", "graph", "xla")}
    for mode in ("graph", "xla"):
        np.testing.assert_allclose(results[mode][0], results["eager"][0], rtol=1e-6)
        np.testing.assert_allclose(results[mode][1], results["eager"][1], rtol=1e-5, atol=1e-7)


def test_unknown_shapes_in_graph_mode():
    rng = np.random.default_rng(9)
    logits, labels, t_len, u_len = random_batch(rng, 3, 6, 3, 5)
    spec = [tf.TensorSpec([None, None, None, None]), tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32)]

    @tf.function(input_signature=spec)
    def fn(x, y, tl, ul):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = rnnt_loss(x, y, tl, ul)
        return loss, tape.gradient(loss, x)

    loss, grad = fn(logits, labels, t_len, u_len)
    ref = loss_and_grad(logits, labels, t_len, u_len)
    np.testing.assert_allclose(loss.numpy(), ref[0], rtol=1e-6)
    np.testing.assert_allclose(grad.numpy(), ref[1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kwargs,message", [
    (dict(logits=np.zeros((2, 3, 4), np.float32)), "logits must be"),
    (dict(labels=np.zeros((2, 5), np.int32)), "U\\+1"),
    (dict(logit_lengths=np.array([3, 4], np.int32)), "logit_lengths must be in"),
    (dict(label_lengths=np.array([3, 4], np.int32)), "label_lengths must be in"),
    (dict(labels=np.array([[1, 0, 2], [1, 1, 1]], np.int32)), "differ from blank"),
    (dict(labels=np.array([[1, 9, 2], [1, 1, 1]], np.int32)), "must be in \\[0, V=5\\)"),
    (dict(blank=5), "blank=5"),
    (dict(logits=np.zeros((2, 3, 4, 5), np.int32)), "floating point"),
])
def test_bad_input_gives_clear_error(kwargs, message):
    args = dict(logits=np.zeros((2, 3, 4, 5), np.float32), labels=np.ones((2, 3), np.int32),
                logit_lengths=np.array([3, 2], np.int32), label_lengths=np.array([3, 1], np.int32), blank=0)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        rnnt_loss(**args)


def _labels_case(bad_value: int):
    """V = 5; example 0 holds ``bad_value`` at its second (valid) position, example 1 is valid and has
    a 7 past its label length (padding, ignored)."""
    rng = np.random.default_rng(11)
    logits = rng.standard_normal((2, 4, 4, 5)).astype(np.float32)
    labels = np.array([[1, bad_value, 2], [3, 7, 7]], np.int32)
    return logits, labels, np.array([4, 3], np.int32), np.array([3, 1], np.int32)


@pytest.mark.parametrize("bad_value,kind", [(9, ">= V"), (0, "blank"), (-2, "negative")])
def test_invalid_labels_raise_in_graph_mode(bad_value, kind):
    logits, labels, t_len, u_len = _labels_case(bad_value)
    fn = tf.function(rnnt_loss)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"(?s)differ from blank=0.*V =.*5.*bad values.*\[{bad_value}\].*\[\[0 1\]\]"):
        fn(logits, labels, t_len, u_len)
    valid = labels.copy()
    valid[0, 1] = 4
    np.testing.assert_allclose(fn(logits, valid, t_len, u_len).numpy(),
                               rnnt_loss(logits, valid, t_len, u_len).numpy(), rtol=1e-6)


@pytest.mark.parametrize("kwargs,message", [
    (dict(logit_lengths=np.array([5, 3], np.int32)), "logit_lengths must be <= T"),
    (dict(label_lengths=np.array([3, 4], np.int32)), "label_lengths must be <= U"),
])
def test_bad_lengths_raise_in_graph_mode(kwargs, message):
    logits, labels, t_len, u_len = _labels_case(4)
    args = {"logits": logits, "labels": labels, "logit_lengths": t_len, "label_lengths": u_len, **kwargs}
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        tf.function(rnnt_loss)(**args)


@pytest.mark.parametrize("bad_value", [9, 0])
def test_invalid_label_under_xla_gives_nan_loss_and_zero_gradient(bad_value):
    logits, labels, t_len, u_len = _labels_case(bad_value)
    loss, grad = loss_and_grad(logits, labels, t_len, u_len, mode="xla")
    assert np.isnan(loss[0])
    assert np.isfinite(grad).all() and not grad[0].any()  # the weights stay finite
    ref_loss, ref_grad = reference_loss_and_grad(logits[1], labels[1], t_len[1], u_len[1])
    np.testing.assert_allclose(loss[1], ref_loss, rtol=1e-5)
    np.testing.assert_allclose(grad[1], ref_grad, rtol=1e-4, atol=1e-6)
