"""ContextNetEncoder: harness, shapes and lengths, padding invariance, SE window ablation, mixed precision."""

from __future__ import annotations

import numpy as np
import pytest

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.layers import MaskedBatchNormalization
from tf_contextnet.models import ContextNetEncoder, encoder_output_lengths

TINY = {"alpha": 1 / 32, "kernel_size": 5, "downsample_blocks": (3, 7, 14), "se": True, "se_context_window": None}


def _inputs(lengths=(37, 20, 9), frames=37, bins=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((len(lengths), frames, bins)).astype(np.float32)
    lengths = np.array(lengths, np.int32)
    return x * (np.arange(frames)[None, :, None] < lengths[:, None, None]), lengths


def calibrate(encoder, x, lengths):
    """Set every batch norm's moving statistics to this batch's (momentum 0), so that untrained
    inference outputs keep an O(1) scale through the 23 blocks instead of vanishing."""
    encoder((x, lengths))  # build, so that the norms exist
    norms = [layer for layer in encoder._flatten_layers() if isinstance(layer, MaskedBatchNormalization)]
    for norm in norms:
        norm.momentum = 0.0
    encoder((x, lengths), training=True)
    for norm in norms:
        norm.momentum = 0.99


def _mask_fn():
    return lengths_mask_fn(out_lengths_fn=lambda n: encoder_output_lengths(n).numpy())


def test_harness_fast(tmp_path):
    run_layer_checks(ContextNetEncoder, TINY, _inputs(), tmp_path, atol=1e-5, fit=False, mixed_precision=False,
                     valid_mask_fn=_mask_fn())


@pytest.mark.slow
def test_harness_full(tmp_path):
    run_layer_checks(ContextNetEncoder, TINY, _inputs(), tmp_path, atol=1e-5, valid_mask_fn=_mask_fn())


@pytest.mark.parametrize("frames, blocks", [(1, (3, 7, 14)), (9, (3, 7, 14)), (33, (3, 7, 14)), (7, (3,))])
def test_shapes_and_lengths(frames, blocks):
    encoder = ContextNetEncoder(alpha=1 / 32, downsample_blocks=blocks)
    lengths = np.array([frames, max(1, frames // 2 + 1)], np.int32)
    y, out = encoder((np.ones((2, frames, 12), np.float32), lengths))
    stride = 2 ** len(blocks)
    assert y.shape == (2, -(-frames // stride), 20)
    np.testing.assert_array_equal(out.numpy(), -(-lengths // stride))
    assert np.all(y.numpy()[1, out.numpy()[1]:] == 0.0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("se_context_window", [None, 4])
def test_padding_invariance_inference(se_context_window, dtype):
    """Valid outputs of a sequence are the same alone or padded next to a longer one.

    float64, with batch norms calibrated so that outputs are O(1): equal to 1e-9, i.e. no leak at
    all. float32: equal to 1e-5 relative to the output scale, with the initial batch-norm
    statistics (calibrated float32 norms amplify the ~1e-8 batch-shape dependent rounding of the
    matmuls through 23 blocks to ~1e-4, which says nothing about padding).
    """
    x, lengths = _inputs(lengths=(29, 61), frames=61, seed=1)
    encoder = ContextNetEncoder(alpha=1 / 16, se_context_window=se_context_window, dtype=dtype)
    x = x.astype(dtype)
    if dtype == "float64":
        calibrate(encoder, x, lengths)
    batched, batched_lengths = encoder((x, lengths), training=False)
    alone, alone_lengths = encoder((x[:1, :29], lengths[:1]), training=False)
    n = int(alone_lengths[0])
    scale = np.max(np.abs(alone.numpy()))
    assert scale > (0.1 if dtype == "float64" else 0.0)
    atol = 1e-9 if dtype == "float64" else 1e-5 * scale
    assert n == int(batched_lengths[0]) == 4
    np.testing.assert_allclose(batched.numpy()[0, :n], alone.numpy()[0, :n], atol=atol)
    # the longer sequence is unaffected by what shares its batch
    longer = encoder((x[1:], lengths[1:]), training=False)[0].numpy()
    np.testing.assert_allclose(batched.numpy()[1], longer[0], atol=atol)


def test_se_window_ablation_changes_outputs_and_large_window_equals_global():
    # float64, so that the comparison tests the function and not float32 rounding of the
    # cumulative sums, which 23 blocks of freshly calibrated batch norms amplify to ~1e-2.
    x, lengths = _inputs(seed=2)
    x = x.astype(np.float64)
    global_ = ContextNetEncoder(alpha=1 / 32, dtype="float64")
    small = ContextNetEncoder(alpha=1 / 32, se_context_window=2, dtype="float64")
    large = ContextNetEncoder(alpha=1 / 32, se_context_window=256, dtype="float64")
    calibrate(global_, x, lengths)
    outputs = []
    for enc in (global_, small, large):
        enc((x, lengths))
        enc.set_weights(global_.get_weights())
        outputs.append(enc((x, lengths))[0].numpy())
    assert np.max(np.abs(outputs[0])) > 0.1
    # The window covers every sequence: the same function as the global mean.
    np.testing.assert_allclose(outputs[2], outputs[0], atol=1e-8)
    assert np.max(np.abs(outputs[1] - outputs[0])) > 0.1


def test_output_dim_and_config():
    encoder = ContextNetEncoder(alpha=0.5, kernel_size=3, downsample_blocks=(3,), se_context_window=256)
    assert encoder.output_dim == 320
    assert ContextNetEncoder.from_config(encoder.get_config()).get_config() == encoder.get_config()


def test_unknown_feature_dimension_is_a_clear_error():
    with pytest.raises(ValueError, match="feature dimension"):
        ContextNetEncoder(alpha=1 / 32).build(((None, None, None), (None,)))


def test_compute_output_shape():
    encoder = ContextNetEncoder(alpha=1 / 32)
    assert encoder.compute_output_shape(((2, 17, 12), (2,)))[0] == (2, 3, 20)


def test_block_indices_build_and_run_only_those_blocks_of_the_full_encoder():
    kept = (0, 2, 3, 7, 11, 12, 22)  # each kept block's input width is the one it has in the full encoder
    full = ContextNetEncoder(alpha=1 / 16, downsample_blocks=(3, 7))
    shallow = ContextNetEncoder(alpha=1 / 16, downsample_blocks=(3, 7), block_indices=kept)
    x = np.random.default_rng(42).standard_normal((2, 23, 8)).astype(np.float32)
    lengths = np.array([23, 15], np.int32)
    full((x, lengths))
    shallow((x, lengths))
    assert [block.name for block in shallow.blocks] == [f"c{i}" for i in kept]
    for block in shallow.blocks:
        block.set_weights(full.blocks[int(block.name[1:])].get_weights())
    expected, expected_lengths = x, lengths
    for i in kept:  # the full encoder's own blocks, chained by hand
        expected, expected_lengths = full.blocks[i]((expected, expected_lengths), training=False)
    got, got_lengths = shallow((x, lengths), training=False)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-6)
    np.testing.assert_array_equal(got_lengths.numpy(), [6, 4])
    assert ContextNetEncoder.from_config(shallow.get_config()).get_config() == shallow.get_config()
    assert shallow.get_config()["block_indices"] == kept
