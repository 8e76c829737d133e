"""Builtins-only TFLite: 16 kHz waveform in, greedy token ids out (batch 1), in three variants.

Shapes: N samples, T feature frames, F mel bins, K FFT bins, T' encoder frames, J joint width,
L emitted tokens.

Signatures of every ``.tflite`` file (LiteRT ``get_signature_runner(name)``):

- ``transcribe``: ``waveform`` float32 ``[1, N]`` (mono, the model's rate; resampling is the
  host's job) → ``tokens`` int32 ``[L]`` (no padding, blank never emitted), ``num_tokens`` int32 ``[]``;
- ``features``: ``waveform`` → ``features`` float32 ``[1, T, F]`` (the normalised log-mel the
  encoder sees), ``feature_lengths`` int32 ``[1]``: how tests (and users) check the front end.

Greedy decoding is one ``tf.while_loop`` (TFLite ``WHILE``) over (frame, symbol) steps with the
same rule as :func:`tf_contextnet.decoding.greedy_decode_encoded`: at frame t take ``k = argmax
join(f_t, g)``; a non-blank k is appended to ``tokens`` (a tensor grown by ``CONCATENATION``, no
``TensorList``) and advances the prediction network; the loop moves to the next frame on blank or
after ``max_symbols_per_frame`` symbols. The prediction network steps inside a ``tf.cond`` (TFLite
``IF``) on the emitting steps only.

Variants: ``float``; ``fp16`` (weights stored as float16); ``dynamic`` (dynamic-range int8
weights). The log-mel front end stays float32 in ``float`` and ``dynamic``: its mel matrix (``K ×
F`` ≈ 20k values, which the quantiser would otherwise convert; dynamic-range int8 moves log-mel
by up to 9.4) is built at run time (:func:`run_time_mel_matrix`), so it is no constant weight of
a quantisable op and no signature stores a dense copy. ``fp16`` is not shielded: that conversion
stores every float constant as float16, the front end's included (mel values, Hann window, log
floor, normalisation epsilon). The ``features`` signature of each file is tested against the
Keras front end.
"""

from __future__ import annotations

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.features import LogMelSpectrogram
from tf_contextnet.inference import ModelDirectory
from tf_contextnet.models import transducer_parts
from tf_contextnet.serving.op_checker import check_tflite_ops

BLANK = 0
VARIANTS = ("float", "fp16", "dynamic")


def run_time_mel_matrix(extractor: LogMelSpectrogram, one: tf.Tensor) -> tf.Tensor:
    """``extractor.mel_matrix()`` ``[K, F]`` (the same values) built when the graph runs: its non-zero
    entries (about two per FFT bin) times ``one``, a run-time 1.0, scattered into zeros. No quantiser
    sees a constant weight, and a file stores ~0.5k values instead of ``K × F``."""
    with tf.init_scope():  # the matrix's values now, outside the traced function
        mel = extractor.mel_matrix().numpy()
    nonzero = np.argwhere(mel != 0.0).astype(np.int32)  # [nnz, 2], row-major like the boolean index below
    return tf.scatter_nd(nonzero, tf.constant(mel[mel != 0.0]) * one, mel.shape)


def _float_log_mel(extractor: LogMelSpectrogram, waveform: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """``extractor``'s log-mel of ``waveform [1, N]`` with the mel matrix of :func:`run_time_mel_matrix`
    (float in the ``float`` and ``dynamic`` variants; see the module docstring for ``fp16``)."""
    num_samples = tf.shape(waveform)[1]
    one = tf.cast(tf.minimum(num_samples, 1), tf.float32)  # 1.0 for any input the encoder can take
    return extractor.log_mel(waveform, tf.reshape(num_samples, [1]), run_time_mel_matrix(extractor, one))


class TfliteFunctions:
    """The functions behind the TFLite signatures (module doc)."""

    def __init__(self, loaded: ModelDirectory, max_symbols_per_frame: int | None = None):
        if not isinstance(loaded.feature_extractor, LogMelSpectrogram):
            raise TypeError(f"TFLite export supports a LogMelSpectrogram front end, got "
                            f"{type(loaded.feature_extractor).__name__}")
        self.loaded = loaded
        self.model = loaded.model
        self.parts = transducer_parts(loaded.model)
        self.max_symbols_per_frame = int(max_symbols_per_frame or
                                         loaded.config.get("decoding", {}).get("max_symbols_per_frame", 4))

    def features(self, waveform):
        features, lengths = _float_log_mel(self.loaded.feature_extractor, waveform)
        if self.loaded.normalization is not None:
            features, lengths = self.loaded.normalization((features, lengths))
        return {"features": tf.cast(features, tf.float32), "feature_lengths": tf.cast(lengths, tf.int32)}

    def transcribe(self, waveform):
        front = self.features(waveform)
        encoded, encoded_lengths = self.model.transcribe(front["features"], front["feature_lengths"], training=False)
        joint, prediction = self.parts.joint_network, self.parts.prediction_network
        enc_proj = joint.project_encoder(encoded)[0]  # [T', J]
        num_frames = tf.reshape(encoded_lengths, [])
        state = prediction.get_initial_state(1)
        out, state = prediction.predict_step(tf.zeros([1], tf.int32), state)
        pred_proj = joint.project_prediction(out)  # [1, J]
        cap = self.max_symbols_per_frame

        def body(t, n, tokens, pred_proj, state):
            logits = joint.join(tf.gather(enc_proj, tf.reshape(t, [1])), pred_proj)  # [1, V]
            k = tf.argmax(logits, axis=-1, output_type=tf.int32)  # [1]
            emit = tf.not_equal(k[0], BLANK)
            tokens = tf.concat([tokens, k[:tf.cast(emit, tf.int32)]], 0)

            def advance():
                out, new_state = prediction.predict_step(k, state)
                return joint.project_prediction(out), new_state

            # At batch 1 the prediction step is a mat-vec over all LSTM weights: run it (TFLite IF)
            # only when a symbol is emitted, not on the blank steps (most steps of a trained model).
            pred_proj, state = tf.cond(emit, advance, lambda: (pred_proj, state))
            n = tf.where(emit, n + 1, 0)
            next_frame = tf.logical_or(tf.logical_not(emit), n >= cap)
            return (tf.where(next_frame, t + 1, t), tf.where(next_frame, 0, n), tokens, pred_proj, state)

        _, _, tokens, _, _ = tf.while_loop(
            lambda t, *_: t < num_frames, body,
            (tf.constant(0), tf.constant(0), tf.zeros([0], tf.int32), pred_proj, state),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([]), tf.TensorShape([None]), pred_proj.shape,
                              state.shape))
        # A copy of the loop's output: LiteRT's Python API cannot read an empty WHILE output ("Invalid
        # tensor size" when nothing is emitted, e.g. on silence); an empty GATHER result it reads.
        tokens = tf.gather(tokens, tf.range(tf.size(tokens)))
        return {"tokens": tokens, "num_tokens": tf.size(tokens)}

    def write_saved_model(self, path: str) -> str:
        """The two signatures as a SavedModel (``ExportArchive``, the converter's input)."""
        spec = [tf.TensorSpec([1, None], tf.float32, name="waveform")]
        archive = keras.export.ExportArchive()
        archive.track(self.model)
        for layer in (self.loaded.feature_extractor, self.loaded.normalization):
            if layer is not None and layer.weights:
                archive.track(layer)
        archive.add_endpoint("transcribe", self.transcribe, input_signature=spec)
        archive.add_endpoint("features", self.features, input_signature=spec)
        archive.write_out(path, verbose=False, options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
        return path


def convert(saved_model: str, variant: str) -> bytes:
    """Convert the SavedModel of :meth:`TfliteFunctions.write_saved_model` to ``variant``'s flatbuffer."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown TFLite variant {variant!r}; expected one of {VARIANTS}")
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=["transcribe", "features"])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant in ("fp16", "dynamic"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def export_tflite(loaded: ModelDirectory, path: str | os.PathLike, variants: str | tuple[str, ...] = "float",
                  max_symbols_per_frame: int | None = None, saved_model: str | None = None) -> dict[str, str]:
    """Write one ``.tflite`` per variant. ``path`` is the file for a single variant, or a
    ``{variant}``-templated path for several. Each file is checked builtins-only
    (:func:`check_tflite_ops`). Returns variant → file.
    """
    variants = (variants,) if isinstance(variants, str) else tuple(variants)
    path = os.fspath(path)
    if len(variants) > 1 and "{variant}" not in path:
        raise ValueError("several variants need a path containing '{variant}'")
    written = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = saved_model or TfliteFunctions(loaded, max_symbols_per_frame).write_saved_model(
            os.path.join(tmp, "tflite_source"))
        for variant in variants:
            flatbuffer = convert(source, variant)
            check_tflite_ops(flatbuffer)
            target = path.format(variant=variant)
            with open(target, "wb") as f:
                f.write(flatbuffer)
            written[variant] = target
    return written
