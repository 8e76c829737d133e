"""SavedModel signatures for TF Serving, in core TensorFlow ops only.

Shapes: B batch, N samples, T' encoder frames, De/Dp encoder/prediction channels, L decoded
tokens, V vocabulary (blank 0 included); the prediction-network state of a ContextNetTransducer is
``[Ls, 2, B, H]`` (Ls LSTM layers; (h, c); batch; units).

Signatures (``saved_model_cli show --all`` lists them):

- ``serving_default``: ``audio`` tf.string ``[B]`` (WAV files, see
  :mod:`tf_contextnet.serving.wav_parser`) → ``transcript`` tf.string ``[B]``, ``tokens`` int32
  ``[B, L]`` (0-padded), ``token_lengths`` int32 ``[B]``;
- ``transcribe_waveform``: ``waveform`` float32 ``[B, N]`` at the model's rate, ``waveform_lengths``
  int32 ``[B]`` → the same outputs;
- ``encode``: ``waveform``, ``waveform_lengths`` → ``encoded`` float32 ``[B, T', De]``,
  ``encoded_lengths`` int32 ``[B]``;
- ``predict_step``: ``token`` int32 ``[B]`` (0 = blank = start symbol) and ``state`` float32
  (``[Ls, 2, B, H]``, zeros to start) → ``prediction`` float32 ``[B, Dp]``, ``state``;
- ``join``: ``encoded`` float32 ``[B, De]``, ``prediction`` float32 ``[B, Dp]`` → ``logits``
  float32 ``[B, V]``.

Built with ``keras.export.ExportArchive``, which tracks the Keras 3 variables so that they are
saved as initialised resources (a ``tf.Module`` + ``from_concrete_functions`` export left them as
uninitialised variables). Greedy decoding runs in the graph
(:func:`tf_contextnet.decoding.greedy_decode_encoded`), detokenisation through the tokenizer's
:class:`~tf_contextnet.text.core_detokenizer.CoreDetokenizer` (gather + string join).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.decoding.greedy import greedy_decode_encoded
from tf_contextnet.inference import ModelDirectory, waveform_features
from tf_contextnet.models import transducer_parts
from tf_contextnet.serving.wav_parser import decode_wav_batch

SIGNATURES = ("serving_default", "transcribe_waveform", "encode", "predict_step", "join")


def state_spec(model: keras.Model) -> tf.TensorSpec:
    """The ``predict_step`` state's spec with the batch axis left free (``[Ls, 2, None, H]``).

    The exported signature takes one state tensor; a model whose state is nested is refused.
    """
    one, two = model.initial_state(1), model.initial_state(2)
    if not isinstance(one, tf.Tensor):
        raise TypeError(f"export needs a prediction-network state that is one tensor, got {type(one).__name__}")
    shape = [None if a != b else a for a, b in zip(one.shape, two.shape)]
    return tf.TensorSpec(shape, one.dtype, name="state")


def _checked_waveform(waveform: tf.Tensor, lengths: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    lengths = tf.cast(lengths, tf.int32)
    checks = [
        tf.debugging.assert_equal(tf.shape(lengths)[0], tf.shape(waveform)[0],
                                  message="waveform_lengths must have one entry per waveform row"),
        tf.debugging.assert_positive(lengths, message="zero samples: every waveform_lengths entry must be >= 1"),
        tf.debugging.assert_less_equal(lengths, tf.shape(waveform)[1],
                                       message="waveform_lengths exceeds the waveform's padded length"),
        tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(waveform)), ["waveform has NaN/Inf samples"]),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(waveform), tf.identity(lengths)


class ServingFunctions:
    """The plain functions behind the signatures (also what the tests call eagerly)."""

    def __init__(self, loaded: ModelDirectory, max_symbols_per_frame: int | None = None):
        self.loaded = loaded
        self.model = loaded.model
        self.parts = transducer_parts(loaded.model)
        self.sample_rate = int(loaded.config["sample_rate"])
        self.max_symbols_per_frame = int(max_symbols_per_frame or
                                         loaded.config.get("decoding", {}).get("max_symbols_per_frame", 4))
        self.detokenizer = loaded.tokenizer.detokenizer
        self._functions = None

    def encode(self, waveform, waveform_lengths):
        waveform, waveform_lengths = _checked_waveform(waveform, waveform_lengths)
        features, frames = waveform_features(self.loaded, waveform, waveform_lengths)
        encoded, encoded_lengths = self.model.transcribe(features, frames, training=False)
        return {"encoded": tf.cast(encoded, tf.float32), "encoded_lengths": tf.cast(encoded_lengths, tf.int32)}

    def transcribe_waveform(self, waveform, waveform_lengths):
        encoded = self._call("encode", waveform, waveform_lengths)
        tokens, token_lengths = greedy_decode_encoded(
            encoded["encoded"], encoded["encoded_lengths"], self.parts.prediction_network,
            self.parts.joint_network, max_symbols_per_frame=self.max_symbols_per_frame)
        return {"transcript": self.detokenizer(tokens), "tokens": tf.cast(tokens, tf.int32),
                "token_lengths": tf.cast(token_lengths, tf.int32)}

    def serving_default(self, audio):
        waveform, lengths = decode_wav_batch(audio, self.sample_rate)
        return self._call("transcribe_waveform", waveform, lengths)

    def predict_step(self, token, state):
        prediction, new_state = self.model.predict_step(tf.cast(token, tf.int32), state)
        return {"prediction": tf.cast(prediction, tf.float32), "state": tf.cast(new_state, tf.float32)}

    def join(self, encoded, prediction):
        return {"logits": tf.cast(self.model.join(encoded, prediction), tf.float32)}

    def _call(self, name: str, *args):
        """Call signature ``name``'s ``tf.function`` once traced, so the encoder (the costly trace)
        is traced once and shared by ``encode``, ``transcribe_waveform`` and ``serving_default``."""
        return self.graph_functions()[name](*args)

    def graph_functions(self) -> dict:
        """Signature name → ``tf.function`` with its input signature (created once)."""
        if self._functions is None:
            specs = self.input_signatures()
            self._functions = {name: tf.function(getattr(self, name), input_signature=specs[name])
                               for name in SIGNATURES}
        return self._functions

    def input_signatures(self) -> dict[str, list[tf.TensorSpec]]:
        """Signature name → input specs."""
        encoder_dim = int(self.model.transcribe(tf.zeros([1, 64, self._feature_bins()]), tf.constant([64]))[0].shape[-1])
        prediction_dim = int(self.model.predict_step(tf.zeros([1], tf.int32), self.model.initial_state(1))[0].shape[-1])
        waveform = [tf.TensorSpec([None, None], tf.float32, name="waveform"),
                    tf.TensorSpec([None], tf.int32, name="waveform_lengths")]
        return {
            "serving_default": [tf.TensorSpec([None], tf.string, name="audio")],
            "transcribe_waveform": waveform,
            "encode": waveform,
            "predict_step": [tf.TensorSpec([None], tf.int32, name="token"), state_spec(self.model)],
            "join": [tf.TensorSpec([None, encoder_dim], tf.float32, name="encoded"),
                     tf.TensorSpec([None, prediction_dim], tf.float32, name="prediction")],
        }

    def _feature_bins(self) -> int:
        features, _ = waveform_features(self.loaded, tf.zeros([1, self.sample_rate // 10]),
                                        tf.constant([self.sample_rate // 10]))
        return int(features.shape[-1])


def build_export_archive(loaded: ModelDirectory, max_symbols_per_frame: int | None = None
                         ) -> keras.export.ExportArchive:
    """An ``ExportArchive`` with the five signatures of the module doc (not yet written)."""
    functions = ServingFunctions(loaded, max_symbols_per_frame).graph_functions()
    archive = keras.export.ExportArchive()
    archive.track(loaded.model)
    for layer in (loaded.feature_extractor, loaded.normalization):
        if layer is not None and layer.weights:
            archive.track(layer)
    for name in SIGNATURES:
        archive.add_endpoint(name, functions[name])
    return archive


def export_saved_model(loaded: ModelDirectory, path: str | os.PathLike,
                       max_symbols_per_frame: int | None = None) -> str:
    """Write the SavedModel of the module doc to ``path`` (a TF Serving version folder); returns it."""
    path = os.fspath(path)
    # Inference needs no gradients: saving the custom gradients (masked batch norm, LSTM) would
    # trace every one of them again and more than double the export time.
    options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
    build_export_archive(loaded, max_symbols_per_frame).write_out(path, verbose=False, options=options)
    return path


def synthetic_wav(sample_rate: int, seconds: float = 1.0, seed: int = 0) -> bytes:
    """A 16-bit mono WAV of low-level noise (warm-up requests, smoke tests)."""
    samples = (np.random.default_rng(seed).normal(size=int(sample_rate * seconds)) * 1000).astype("<i2")
    data = samples.tobytes()
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + sample_rate.to_bytes(4, "little") + \
        (2 * sample_rate).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(data).to_bytes(4, "little") + data
    return b"RIFF" + len(body).to_bytes(4, "little") + body
