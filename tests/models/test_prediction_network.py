"""PredictionNetwork: harness, blank start symbol, step API equal to the full pass, causality."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.testing import run_layer_checks
from tf_contextnet.models import PredictionNetwork

KWARGS = {"vocabulary_size": 11, "embedding_dim": 6, "units": 7, "num_layers": 2}


def _inputs():
    return np.array([[3, 1, 4, 1], [5, 9, 0, 0]], np.int32), np.array([4, 2], np.int32)


def test_harness(tmp_path):
    run_layer_checks(PredictionNetwork, KWARGS, _inputs(), tmp_path, atol=1e-6)


def test_shapes_and_lengths():
    net = PredictionNetwork(**KWARGS)
    y, lengths = net(_inputs())
    assert y.shape == (2, 5, 7)
    np.testing.assert_array_equal(lengths.numpy(), [5, 3])


def test_step_api_matches_full_pass_from_blank_start():
    labels, lengths = _inputs()
    net = PredictionNetwork(**KWARGS)
    full = net((labels, lengths))[0].numpy()
    state = net.get_initial_state(2)
    assert state.shape == (2, 2, 2, 7)
    tokens = np.zeros(2, np.int32)  # blank = start symbol
    for u in range(labels.shape[1] + 1):
        out, state = net.predict_step(tokens, state)
        np.testing.assert_allclose(out.numpy(), full[:, u], atol=1e-5)
        if u < labels.shape[1]:
            tokens = labels[:, u]


def test_padding_labels_do_not_change_valid_positions():
    labels, lengths = _inputs()
    net = PredictionNetwork(**KWARGS)
    a = net((labels, lengths))[0].numpy()
    other = labels.copy(); other[1, 2:] = [7, 8]
    b = net((other, lengths))[0].numpy()
    np.testing.assert_allclose(a[1, :3], b[1, :3], atol=1e-6)


def test_matches_numpy_lstm_one_layer():
    labels, lengths = _inputs()
    net = PredictionNetwork(vocabulary_size=11, embedding_dim=6, units=4, num_layers=1)
    got = net((labels, lengths))[0].numpy().astype(np.float64)
    emb = np.asarray(net.embedding.embeddings, np.float64)
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in net.lstms[0].weights)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    tokens = np.pad(labels, [(0, 0), (1, 0)])
    h, c = np.zeros((2, 4)), np.zeros((2, 4))
    for u in range(tokens.shape[1]):
        z = emb[tokens[:, u]] @ kernel + h @ recurrent + bias  # gates i, f, c, o (Keras order)
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        np.testing.assert_allclose(got[:, u], h, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{"vocabulary_size": 1}, {"vocabulary_size": 5, "units": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="PredictionNetwork"):
        PredictionNetwork(**kwargs)


def test_rank_error():
    with pytest.raises(ValueError, match="labels"):
        PredictionNetwork(**KWARGS)((tf.constant([1, 2]), tf.constant([2])))


@pytest.mark.parametrize("num_layers", [1, 2])
def test_fused_and_keras_lstm_give_the_same_outputs_and_gradients(num_layers):
    """The choice "auto" makes from the visible devices, forced both ways on CPU."""
    layers = {impl: PredictionNetwork(7, embedding_dim=5, units=6, num_layers=num_layers, lstm_implementation=impl)
              for impl in ("fused", "keras")}
    for layer in layers.values():
        layer.build()
    layers["keras"].set_weights(layers["fused"].get_weights())
    assert layers["fused"].uses_keras_lstm() is False and layers["keras"].uses_keras_lstm() is True
    labels = tf.constant([[3, 1, 6, 2], [5, 4, 0, 0]])
    lengths = tf.constant([4, 2])
    upstream = tf.random.stateless_normal([2, 5, 6], seed=[1, 2])
    results = {}
    for impl, layer in layers.items():
        with tf.GradientTape() as tape:
            out, out_lengths = layer((labels, lengths), training=True)
            total = tf.reduce_sum(out * upstream)
        results[impl] = (out.numpy(), [tf.convert_to_tensor(g).numpy()  # embedding: IndexedSlices
                                       for g in tape.gradient(total, layer.trainable_variables)])
        np.testing.assert_array_equal(out_lengths.numpy(), [5, 3])
    np.testing.assert_allclose(results["fused"][0], results["keras"][0], rtol=1e-5, atol=1e-6)
    assert len(results["fused"][1]) == 1 + 3 * num_layers
    for fused, keras_grad in zip(results["fused"][1], results["keras"][1]):
        np.testing.assert_allclose(fused, keras_grad, rtol=1e-4, atol=1e-6)


def test_lstm_implementation_is_saved_and_checked():
    layer = PredictionNetwork(7, embedding_dim=5, units=6, lstm_implementation="keras")
    assert PredictionNetwork.from_config(layer.get_config()).lstm_implementation == "keras"
    assert PredictionNetwork(7).lstm_implementation == "auto"
    with pytest.raises(ValueError, match="lstm_implementation must be one of .*'cudnn'"):
        PredictionNetwork(7, lstm_implementation="cudnn")
