"""ContextBlock: harness, float64 reference (random and constant weights), lengths, padding invariance."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.layers import reference
from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.layers import ContextBlock

KWARGS = {"filters": 8, "num_layers": 3, "kernel_size": 5, "strides": 2, "residual": True, "se": True,
          "se_context_window": None}


def _inputs(batch=3, frames=13, channels=6, lengths=(13, 8, 3), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, frames, channels)).astype(np.float32)
    lengths = np.array(lengths, np.int32)
    return x * reference.valid_mask(lengths, frames).astype(np.float32), lengths


def _ceil_half(lengths):
    return -(-np.asarray(lengths) // 2)


def test_harness(tmp_path):
    run_layer_checks(ContextBlock, KWARGS, _inputs(), tmp_path, atol=1e-5,
                     valid_mask_fn=lengths_mask_fn(out_lengths_fn=_ceil_half))


def _set_weights(block, mode: str, seed: int = 0) -> dict:
    """Assign random or constant weights (BN statistics included) and return them as float64."""
    rng = np.random.default_rng(seed)
    weights = {}

    def value(shape, constant, low=-0.5, high=0.5):
        return np.full(shape, constant) if mode == "constant" else rng.uniform(low, high, shape)

    def bn(norm, constant):
        params = [value(norm.gamma.shape, constant, 0.5, 1.5), value(norm.beta.shape, 0.1 * constant),
                  value(norm.moving_mean.shape, -0.05), value(norm.moving_variance.shape, 2.0, 0.5, 2.0)]
        norm.set_weights(params)
        return params

    for i in range(block.num_layers):
        weights[f"depthwise_{i}"] = value(block.depthwise[i].kernel.shape, 0.2)
        block.depthwise[i].kernel.assign(weights[f"depthwise_{i}"])
        weights[f"depthwise_{i}"] = weights[f"depthwise_{i}"][..., 0]
        weights[f"pointwise_{i}"] = value(block.pointwise[i].kernel.shape, 0.1 * (i + 1))
        block.pointwise[i].kernel.assign(weights[f"pointwise_{i}"])
        weights[f"bn_{i}"] = bn(block.norms[i], 1.0)
    if block.se:
        se = [value(w.shape, c) for w, c in ((block.squeeze_excite.squeeze.kernel, 0.3),
                                              (block.squeeze_excite.squeeze.bias, -0.1),
                                              (block.squeeze_excite.excite.kernel, 0.2),
                                              (block.squeeze_excite.excite.bias, 0.05))]
        block.squeeze_excite.set_weights(se)
        weights["se"] = se
    if block.residual:
        weights["projection"] = value(block.projection.kernel.shape, -0.15)
        block.projection.kernel.assign(weights["projection"])
        weights["projection_bn"] = bn(block.projection_norm, 0.7)
    return weights


@pytest.mark.parametrize("mode", ["random", "constant"])
@pytest.mark.parametrize("kwargs", [
    KWARGS,
    {**KWARGS, "strides": 1, "se_context_window": 3},
    {**KWARGS, "num_layers": 1, "residual": False, "strides": 1, "kernel_size": 3},
    {**KWARGS, "se": False, "kernel_size": 4},
])
def test_matches_float64_reference(kwargs, mode):
    x, lengths = _inputs(seed=4)
    block = ContextBlock(**kwargs)
    block((x, lengths))
    weights = _set_weights(block, mode)
    expected, expected_lengths = reference.context_block(
        x, lengths, weights, kwargs["kernel_size"], kwargs["strides"], kwargs["num_layers"], kwargs["residual"],
        kwargs["se"], kwargs["se_context_window"])
    got, got_lengths = block((x, lengths), training=False)
    np.testing.assert_array_equal(got_lengths.numpy(), expected_lengths)
    np.testing.assert_allclose(got.numpy(), expected, atol=2e-5)
    try:
        ContextBlock.fold_batch_norm_in_inference = False  # the unfolded path gives the same
        np.testing.assert_allclose(block((x, lengths), training=False)[0].numpy(), expected, atol=2e-5)
    finally:
        ContextBlock.fold_batch_norm_in_inference = True


@pytest.mark.parametrize("strides", [1, 2, 3])
def test_lengths_for_odd_lengths(strides):
    block = ContextBlock(8, num_layers=2, strides=strides)
    for frames in (1, 2, 5, 6, 7, 17):
        lengths = np.array([frames, max(1, frames - 1), 1], np.int32)
        y, out = block((np.ones((3, frames, 4), np.float32), lengths))
        assert y.shape == (3, -(-frames // strides), 8)
        np.testing.assert_array_equal(out.numpy(), -(-lengths // strides))


@pytest.mark.parametrize("training", [False, True])
def test_padding_invariance(training):
    """A sequence's valid outputs do not depend on how much padding follows it, nor on its content."""
    x, lengths = _inputs(batch=1, frames=9, lengths=(9,), seed=5)
    block = ContextBlock(8, num_layers=3, strides=2, se_context_window=None)
    alone = block((x, lengths), training=training)[0].numpy()
    padded = np.concatenate([x, np.full((1, 8, x.shape[2]), 50.0, np.float32)], axis=1)
    block2 = ContextBlock.from_config(block.get_config())
    block2((padded, lengths))
    block2.set_weights(block.get_weights())
    together = block2((padded, lengths), training=training)[0].numpy()
    np.testing.assert_allclose(together[:, :5], alone, atol=1e-5)
    assert np.all(together[:, 5:] == 0.0)


@pytest.mark.parametrize("kwargs", [{"filters": 0}, {"filters": 4, "strides": 0}, {"filters": 4, "kernel_size": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="ContextBlock"):
        ContextBlock(**kwargs)


def test_mixed_float16_with_padding():
    x, lengths = _inputs(seed=6)
    block = ContextBlock(8, strides=2, dtype="mixed_float16")
    y, out = block((tf.constant(x), tf.constant(lengths)))
    assert y.dtype == tf.float16 and np.all(np.isfinite(y.numpy()))
    np.testing.assert_array_equal(out.numpy(), _ceil_half(lengths))
