"""Builtins-only TFLite: the op checker, and (slow) the three variants against Keras on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from serving_fixtures import an4_test_files

from tf_contextnet.serving import UnsupportedOpsError, check_tflite_ops, tflite_ops

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (the 'export' extra) is not installed")


def _convert(function, module=None, select_tf_ops=False, resource_variables=False) -> bytes:
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS] + (
        [tf.lite.OpsSet.SELECT_TF_OPS] if select_tf_ops else [])
    converter.experimental_enable_resource_variables = resource_variables
    return converter.convert()


def test_checker_accepts_builtins_and_refuses_flex_and_resource_variables():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def builtin(x):
        return tf.nn.relu(x) * 2.0

    assert {"RELU", "MUL"} <= check_tflite_ops(_convert(builtin))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def flex(x):
        return tf.raw_ops.Bincount(arr=tf.cast(x, tf.int32), size=4, weights=tf.zeros([0]))

    flatbuffer = _convert(flex, select_tf_ops=True)
    assert any(op.startswith("CUSTOM:Flex") for op in set().union(*tflite_ops(flatbuffer)))
    with pytest.raises(UnsupportedOpsError, match="CUSTOM:Flex"):
        check_tflite_ops(flatbuffer)

    class Counter(tf.Module):
        def __init__(self):
            super().__init__()
            self.count = tf.Variable(0.0)

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def add(self, x):
            self.count.assign_add(x)
            return self.count.read_value()

    counter = Counter()
    with pytest.raises(UnsupportedOpsError, match="VAR_HANDLE|READ_VARIABLE|ASSIGN_VARIABLE"):
        check_tflite_ops(_convert(counter.add, counter, resource_variables=True))


def _an4_16k(shared_data, count):
    import soundfile

    return [soundfile.read(p, dtype="float32")[0] for p in an4_test_files(shared_data / "an4", count)]


@pytest.mark.slow
@pytest.mark.data
def test_every_variant_is_builtins_only_with_float_features_and_float_transcribes_like_keras(
        tiny_model_dir, fsdd_dir, shared_data, tmp_path):
    from tf_contextnet.decoding import greedy_decode
    from tf_contextnet.features import load_audio
    from tf_contextnet.inference import load_model_directory, waveform_features
    from tf_contextnet.serving.tflite_export import export_tflite

    loaded = load_model_directory(tiny_model_dir)
    written = export_tflite(loaded, str(tmp_path / "{variant}.tflite"), ("float", "fp16", "dynamic"))
    audio = [load_audio(p, 16000) for p in sorted((fsdd_dir / "recordings").glob("*.wav"))[::100][:20]]
    audio += _an4_16k(shared_data, 20)
    assert len(audio) == 40
    runners = {v: litert.Interpreter(model_path=p) for v, p in written.items()}
    for variant, interpreter in runners.items():
        check_tflite_ops(written[variant])
        assert "WHILE" in set().union(*tflite_ops(written[variant]))
    spoken = 0
    for a in audio:
        features, lengths = waveform_features(loaded, tf.constant(a[None]), tf.constant([a.size]))
        tokens, token_lengths = greedy_decode(loaded.model, features, lengths, 2)
        keras_tokens = tokens[0, :int(token_lengths[0])].numpy().tolist()
        spoken += bool(keras_tokens)
        for variant, interpreter in runners.items():
            got = interpreter.get_signature_runner("features")(waveform=a[None])
            np.testing.assert_array_equal(got["feature_lengths"], lengths.numpy())
            scale = np.abs(features.numpy()).max()
            np.testing.assert_allclose(got["features"], features.numpy(), rtol=0, atol=1e-3 * scale,
                                       err_msg=f"{variant} front end is not float")
        float_tokens = runners["float"].get_signature_runner("transcribe")(waveform=a[None])["tokens"]
        assert float_tokens.tolist() == keras_tokens
    assert spoken >= 30, "the test model must emit tokens on real speech"
