"""SqueezeExcite1D: harness, float64 references (global and windowed), padding invariance."""

from __future__ import annotations

import numpy as np
import pytest

from tests.layers import reference
from tests.testing import lengths_mask_fn, run_layer_checks
from tf_contextnet.layers import SqueezeExcite1D


def _inputs(batch=3, frames=11, channels=16, lengths=(11, 7, 1), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, frames, channels)).astype(np.float32)
    lengths = np.array(lengths, np.int32)
    return x * reference.valid_mask(lengths, frames).astype(np.float32), lengths


def _weights(layer):
    return [np.asarray(w, np.float64) for w in (layer.squeeze.kernel, layer.squeeze.bias,
                                                  layer.excite.kernel, layer.excite.bias)]


@pytest.mark.parametrize("context_window", [None, 4])
def test_harness(context_window, tmp_path):
    run_layer_checks(SqueezeExcite1D, {"reduction": 4, "context_window": context_window, "activation": "swish"},
                     _inputs(), tmp_path, valid_mask_fn=lengths_mask_fn())


@pytest.mark.parametrize("context_window", [None, 1, 2, 3, 4, 7, 256])
def test_matches_float64_reference(context_window):
    x, lengths = _inputs(seed=1)
    layer = SqueezeExcite1D(reduction=4, context_window=context_window)
    layer((x, lengths))
    for w in (layer.squeeze.bias, layer.excite.bias):  # non-zero biases so they are exercised
        w.assign(np.linspace(-0.5, 0.5, w.shape[0]))
    got, got_lengths = layer((x, lengths))
    expected = reference.squeeze_excite(x, lengths, *_weights(layer), context_window=context_window)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(got_lengths.numpy(), lengths)


@pytest.mark.parametrize("context_window", [None, 3])
def test_padding_does_not_change_valid_frames(context_window):
    x, lengths = _inputs(seed=2)
    layer = SqueezeExcite1D(reduction=4, context_window=context_window)
    short = layer((x[1:2, :7], lengths[1:2]))[0].numpy()
    garbage = np.array(x[1:2]); garbage[:, 7:] = 100.0  # padding content must not matter
    padded = layer((garbage, lengths[1:2]))[0].numpy()
    np.testing.assert_allclose(padded[:, :7], short, atol=1e-6)
    assert np.all(padded[:, 7:] == 0.0)


def test_window_covering_sequence_equals_global_context():
    x, lengths = _inputs(seed=3)
    windowed = SqueezeExcite1D(reduction=4, context_window=64)
    global_ = SqueezeExcite1D(reduction=4)
    windowed((x, lengths)); global_((x, lengths))
    global_.set_weights(windowed.get_weights())
    np.testing.assert_allclose(windowed((x, lengths))[0].numpy(), global_((x, lengths))[0].numpy(), atol=1e-6)


@pytest.mark.parametrize("kwargs", [{"reduction": 0}, {"context_window": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="SqueezeExcite1D"):
        SqueezeExcite1D(**kwargs)


def test_unknown_channels_is_a_clear_error():
    with pytest.raises(ValueError, match="channel"):
        SqueezeExcite1D().build(((None, None, None), (None,)))
