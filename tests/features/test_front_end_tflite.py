"""The whole front end (run-time-rate resampling, log-mel, normalisation, SpecAugment at inference)
converts to TFLite with builtin ops only and matches TensorFlow on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from tf_contextnet.features import (GlobalFeatureNormalization, LogMelSpectrogram, PerUtteranceNormalization,
                                    SpecAugment, resample_dynamic)


@pytest.mark.data
def test_front_end_builtins_only_on_real_speech(fsdd_dir, ljspeech_dir):
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter",
                                             reason="ai-edge-litert (the 'export' extra) is not installed")
    rates = (8000, 16000, 22050)

    class FrontEnd(tf.Module):
        def __init__(self):
            super().__init__()
            self.log_mel = LogMelSpectrogram()
            self.per_utterance = PerUtteranceNormalization()
            self.global_norm = GlobalFeatureNormalization(mean=[-5.0] * 80, variance=[4.0] * 80)
            self.augment = SpecAugment(seed=0)

        @tf.function(input_signature=[tf.TensorSpec([1, None], tf.float32), tf.TensorSpec([], tf.int32)])
        def features(self, waveform, rate):
            audio = resample_dynamic(waveform, rate, 16000, rates)
            lengths = tf.shape(audio)[1:2]
            values, frames = self.log_mel((audio, lengths))
            values, frames = self.augment((values, frames), training=False)
            local = self.per_utterance((values, frames))[0]
            return {"per_utterance": local, "global": self.global_norm((values, frames))[0],
                    "frame_lengths": frames}

    module = FrontEnd()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.features.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = interpreter_module.Interpreter(model_content=converter.convert())
    ops = {detail["op_name"] for detail in interpreter._get_ops_details()}
    assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops
    runner = interpreter.get_signature_runner()
    for path in (sorted((fsdd_dir / "recordings").glob("*.wav"))[0], ljspeech_dir / "wavs" / "LJ001-0002.wav"):
        audio, rate = soundfile.read(path, dtype="float32")
        waveform, rate = audio[None], np.array(rate, np.int32)
        got = runner(waveform=waveform, rate=rate)
        expected = module.features(waveform, rate)
        np.testing.assert_array_equal(got["frame_lengths"], expected["frame_lengths"].numpy())
        for key in ("per_utterance", "global"):
            np.testing.assert_allclose(got[key], expected[key].numpy(), atol=2e-3)
