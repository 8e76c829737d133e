"""TFRecord format: int16 conversion exact for PCM16 audio; encode → parse round trip."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.data.tfrecords import encode_example, float_to_int16, parse_example


def test_float_to_int16_inverts_pcm16_scaling():
    pcm = np.array([-32768, -1, 0, 1, 12345, 32767], np.int16)
    np.testing.assert_array_equal(float_to_int16(pcm.astype(np.float32) / 32768.0), pcm)
    np.testing.assert_array_equal(float_to_int16(np.array([1.5, -2.0, 0.49 / 32768])), [32767, -32768, 0])


def test_encode_parse_round_trip():
    pcm = np.random.default_rng(0).integers(-32768, 32767, size=1001).astype(np.int16)
    example = parse_example(tf.constant(encode_example("u-1", pcm, "héllo wörld", "spk")))
    np.testing.assert_array_equal(example["pcm"].numpy(), pcm)
    assert int(example["num_samples"]) == 1001 and int(example["sample_rate"]) == 16000
    assert example["transcript"].numpy().decode() == "héllo wörld"
    assert (example["id"].numpy(), example["speaker"].numpy()) == (b"u-1", b"spk")


def test_rejects_non_int16():
    with pytest.raises(ValueError, match="u-2: expected mono int16"):
        encode_example("u-2", np.zeros(4, np.float32), "x")
