"""Tests for SpecAugment: masks only in training, within the valid part, of the configured sizes and counts."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.features import SpecAugment


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True as (start, length)."""
    runs, start = [], None
    for i, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def _inputs(lengths=(200, 137, 61, 0), depth=80, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array(lengths, np.int32)
    x = rng.normal(size=(len(lengths), max(lengths.max(), 1), depth)).astype(np.float32) + 10.0
    x[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = 0.0
    return x, lengths


def test_identity_unless_training():
    x, lengths = _inputs()
    layer = SpecAugment(seed=1)
    for training in (False, None):
        y, out_lengths = layer((x, lengths), training=training)
        np.testing.assert_array_equal(y.numpy(), x)
        np.testing.assert_array_equal(out_lengths.numpy(), lengths)
    y, _ = layer((x, lengths), training=True)
    assert np.any(y.numpy() != x)


def test_paper_defaults_masks_within_bounds():
    """Each masked position lies in the valid part; masks are whole rows/columns of the valid part,
    in at most 2 frequency runs of total width <= 2·27 and at most 10 time runs of total <= 10·floor(0.05 L)."""
    x, lengths = _inputs(lengths=(200, 137, 61, 0, 19, 20) * 20)
    layer = SpecAugment(seed=3)
    assert (layer.freq_mask_param, layer.num_freq_masks, layer.num_time_masks, layer.time_mask_ratio) == (
        27, 2, 10, 0.05)
    y = layer((x, lengths), training=True)[0].numpy()
    masked = (y == 0.0) & (x != 0.0)
    time_masked_frames = 0
    for b, length in enumerate(lengths):
        assert not np.any(y[b, length:]), "padding changed"
        m = masked[b, :length]
        if length == 0:
            continue
        freq = m.all(axis=0)
        time = m.all(axis=1)
        np.testing.assert_array_equal(m, freq[None, :] | time[:, None])
        freq_runs, time_runs = _runs(freq), _runs(time)
        assert len(freq_runs) <= 2 and freq.sum() <= 2 * 27
        span = int(np.floor(0.05 * length))
        assert len(time_runs) <= 10 and time.sum() <= 10 * span
        time_masked_frames += time.sum()
    assert time_masked_frames > 0


def test_single_masks_sizes_and_coverage():
    """One mask of each kind: widths uniform on 0..max (mean max/2), positions cover the whole valid part."""
    x, lengths = _inputs(lengths=(200,) * 400, depth=40)
    time_layer = SpecAugment(num_freq_masks=0, num_time_masks=1, time_mask_ratio=0.1, seed=5)
    freq_layer = SpecAugment(freq_mask_param=8, num_freq_masks=1, num_time_masks=0, seed=6)
    time = (time_layer((x, lengths), training=True)[0].numpy() == 0.0).all(axis=2)
    freq = (freq_layer((x, lengths), training=True)[0].numpy() == 0.0).all(axis=1)
    widths, f_widths = [], []
    for row in range(400):
        runs, f_runs = _runs(time[row]), _runs(freq[row])
        assert len(runs) <= 1 and len(f_runs) <= 1
        widths.append(runs[0][1] if runs else 0)
        f_widths.append(f_runs[0][1] if f_runs else 0)
    assert max(widths) == 20 and min(widths) == 0 and abs(np.mean(widths) - 10.0) < 1.5
    assert time.any(axis=0).all()
    assert max(f_widths) == 8 and min(f_widths) == 0 and abs(np.mean(f_widths) - 4.0) < 0.6
    assert freq.any(axis=0).all()


def test_freq_mask_param_larger_than_depth_and_mask_value():
    layer = SpecAugment(freq_mask_param=27, num_time_masks=0, mask_value=-3.0, seed=2)
    x, lengths = _inputs(lengths=(30, 20) * 20, depth=5)
    y = layer((x, lengths), training=True)[0].numpy()
    assert np.all((y == x) | (y == -3.0)) and np.any(y == -3.0)
    np.testing.assert_array_equal(y[1::2, 20:], 0.0)


def test_deterministic_given_seed():
    x, lengths = _inputs()
    first, second, other = SpecAugment(seed=11), SpecAugment(seed=11), SpecAugment(seed=12)
    for _ in range(3):
        a = first((x, lengths), training=True)[0].numpy()
        np.testing.assert_array_equal(a, second((x, lengths), training=True)[0].numpy())
        assert np.any(a != other((x, lengths), training=True)[0].numpy())


def test_in_tf_function_and_tf_data():
    x, lengths = _inputs()
    layer = SpecAugment(seed=4)
    fn = tf.function(lambda a, n: layer((a, n), training=True)[0])
    draws = [fn(x, lengths).numpy() for _ in range(2)]
    assert np.any(draws[0] != draws[1]), "masks should change between calls"
    dataset = tf.data.Dataset.from_tensors((x, lengths)).repeat(2).map(lambda a, n: layer((a, n), training=True))
    for y, n in dataset:
        np.testing.assert_array_equal(n.numpy(), lengths)
        assert np.any(y.numpy() != x)


def test_bad_configuration():
    with pytest.raises(ValueError, match="time_mask_ratio"):
        SpecAugment(time_mask_ratio=1.5)
    with pytest.raises(ValueError, match="num_time_masks"):
        SpecAugment(num_time_masks=-1)


def test_layer_harness(tmp_path):
    """No trainable weights, so fit=False; inference (what the harness compares) is the identity."""
    x, lengths = _inputs(lengths=(12, 7), depth=16)
    run_layer_checks(SpecAugment, {"freq_mask_param": 5, "num_freq_masks": 1, "num_time_masks": 3,
                                   "time_mask_ratio": 0.2, "mask_value": 0.0, "seed": 9},
                     (x, lengths), tmp_path, fit=False, valid_mask_fn=lengths_mask_fn())


def test_mixed_precision_training_masks_match_float32():
    x, lengths = _inputs(lengths=(40, 25), depth=16)
    reference = SpecAugment(seed=21)((x, lengths), training=True)[0].numpy()
    half = SpecAugment(seed=21, dtype="mixed_float16")((x, lengths), training=True)[0]
    assert half.dtype == tf.float16
    np.testing.assert_array_equal(half.numpy() == 0.0, reference == 0.0)
