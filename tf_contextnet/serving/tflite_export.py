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
weights). The front end (log-mel and normalisation) is float32 in every variant. The fp16
conversion stores every float constant as float16: the Hann window's rounding (~5e-4 relative)
raises its spectral leakage, which moves log-mel by up to 7.8 in bands with almost no energy (above
4 kHz in an 8 kHz recording resampled to 16 kHz), and the log floor 1e-6 becomes a float16
subnormal. Dynamic-range int8 would quantise the mel matrix (``K × F`` ≈ 20k values; it moves
log-mel by up to 9.4). So the front end's float constants (Hann window, mel matrix, log floor,
normalisation epsilon or statistics) are built when the graph runs
(:func:`run_time_constant`): stored as the int32 bits of their float32 values, which no float pass
converts, and bitcast back (the mel matrix from its ~0.5k non-zero entries, so no signature stores
a dense copy). The network's weights are quantised as the variant says, with one exception in
``dynamic``. The ``features`` signature of each file is tested against the Keras front end.

In ``dynamic`` the joint network's encoder projection (:func:`dynamic_float16_layers`) keeps float16
weights, built at run time the same way (two float16 values per int32, ``BITCAST`` + ``CAST``) and
multiplied in float32; every other weight of 1024 or more values is int8 with one scale per output
channel. On the AN4 model of the recipe (``exp/an4_60/model``, 117 scored test utterances) all-int8
gave 8.30 % test WER against 7.73 % float (the bound is float + 0.5). Rounding the weights to the
int8 grid alone (float arithmetic) moved the joint distribution of the lattice as much as the
converter did, and the joint's three projections carried about 60 % of that shift (KL per lattice
node, one part rounded at a time), the encoder projection the most; keeping it float16 gave 8.01 %.
Keeping the whole joint float gave 8.01 % as well, for 3 bytes per weight (float32) or 1 (float16)
more in the file: ContextNet-S with V = 1024 has 0.2M weights in the encoder projection and 1.3M
in the joint. Dense per-tensor scales (a converter flag) would save ~0.5 MB of per-channel
scale/zero-point metadata but gave 8.44 % with this choice.
"""

from __future__ import annotations

import functools
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


def run_time_constant(values: np.ndarray, zero: tf.Tensor, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """``values`` as a float32 tensor built when the graph runs: the int32 bits of the values plus
    ``zero`` (an int32 0 that the graph computes from its input), bitcast back. The converter cannot
    fold it into a float constant, so no quantiser (fp16, dynamic range) sees one.

    ``dtype=tf.float32`` (default): bit for bit; an array that is mostly zeros (the mel matrix)
    stores only its non-zero entries, scattered into zeros. ``dtype=tf.float16``: the values rounded
    to float16, two per int32 (half the bytes), bitcast to float16 and cast to float32 (``BITCAST``,
    ``CAST``): the weights the dynamic variant keeps out of int8 (module doc)."""
    values = np.asarray(values, np.float32)
    if dtype == tf.float16:
        return _run_time_halves(values, zero)
    if dtype != tf.float32:
        raise ValueError(f"run_time_constant: dtype must be float32 or float16, got {dtype}")
    nonzero = values != 0.0
    if (values.ndim + 1) * np.count_nonzero(nonzero) >= values.size:  # sparse: an index row + a value per entry
        return _run_time_bits(values, zero)
    indices = np.argwhere(nonzero).astype(np.int32)  # [nnz, rank], row-major like the boolean index below
    return tf.scatter_nd(indices, _run_time_bits(values[nonzero], zero), values.shape)


def _run_time_bits(values: np.ndarray, zero: tf.Tensor) -> tf.Tensor:
    # `+ zero`: a BITCAST of a constant is folded into a float constant, which fp16 would convert.
    return tf.bitcast(tf.constant(values.view(np.int32)) + zero, tf.float32)


def _run_time_halves(values: np.ndarray, zero: tf.Tensor) -> tf.Tensor:
    halves = values.astype(np.float16).ravel()
    padded = np.concatenate([halves, np.zeros(halves.size % 2, np.float16)])  # an even count packs into int32
    unpacked = tf.cast(tf.reshape(tf.bitcast(tf.constant(padded.view(np.int32)) + zero, tf.float16), [-1]), tf.float32)
    if padded.size > halves.size:  # TFLite has no float16 STRIDED_SLICE: drop the padding after the CAST
        unpacked = unpacked[:halves.size]
    return tf.reshape(unpacked, values.shape)


def dynamic_float16_layers(loaded: ModelDirectory) -> tuple[keras.layers.Layer, ...]:
    """The layers whose weights the ``dynamic`` variant keeps in float16 instead of int8 (module doc):
    the joint network's encoder projection."""
    return (transducer_parts(loaded.model).joint_network.encoder_projection,)


class TfliteFunctions:
    """The functions behind the TFLite signatures (module doc). ``transcribe`` reads the weights of
    ``float16_layers`` as float16 run-time constants (:func:`run_time_constant`), out of any quantiser's
    reach; the other weights are frozen as the converter's constants."""

    def __init__(self, loaded: ModelDirectory, max_symbols_per_frame: int | None = None,
                 float16_layers: tuple[keras.layers.Layer, ...] = ()):
        if not isinstance(loaded.feature_extractor, LogMelSpectrogram):
            raise TypeError(f"TFLite export supports a LogMelSpectrogram front end, got "
                            f"{type(loaded.feature_extractor).__name__}")
        if loaded.normalization is not None and not hasattr(loaded.normalization, "normalize"):
            raise TypeError(f"TFLite export supports a normalisation layer with normalize(x, lengths, constant) "
                            f"(PerUtteranceNormalization, GlobalFeatureNormalization), got "
                            f"{type(loaded.normalization).__name__}")
        self.loaded = loaded
        self.model = loaded.model
        self.parts = transducer_parts(loaded.model)
        self.max_symbols_per_frame = int(max_symbols_per_frame or
                                         loaded.config.get("decoding", {}).get("max_symbols_per_frame", 4))
        # numpy copies now: a variable's value cannot be read as numpy inside the traced signature
        self.float16_weights = [(v, v.numpy()) for layer in float16_layers for v in layer.weights]

    def features(self, waveform):
        num_samples = tf.shape(waveform)[1]
        zero = tf.minimum(num_samples, 0)  # 0 for every input, unknown to the converter
        constant = functools.partial(run_time_constant, zero=zero)
        features, lengths = self.loaded.feature_extractor.log_mel(waveform, tf.reshape(num_samples, [1]), constant)
        if self.loaded.normalization is not None:
            features, lengths = self.loaded.normalization.normalize(features, lengths, constant)
        return {"features": tf.cast(features, tf.float32), "feature_lengths": tf.cast(lengths, tf.int32)}

    def transcribe(self, waveform):
        zero = tf.minimum(tf.shape(waveform)[1], 0)
        # Inside a StatelessScope every read of a mapped Keras variable returns the mapped tensor.
        mapping = [(v, run_time_constant(value, zero, tf.float16)) for v, value in self.float16_weights]
        with keras.StatelessScope(state_mapping=mapping):
            return self._transcribe(waveform)

    def _transcribe(self, waveform):
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
        sources = {}
        for variant in variants:
            kept = dynamic_float16_layers(loaded) if variant == "dynamic" else ()
            if kept not in sources:
                sources[kept] = (saved_model if saved_model and not kept else TfliteFunctions(
                    loaded, max_symbols_per_frame, kept).write_saved_model(os.path.join(tmp, f"source_{len(sources)}")))
            flatbuffer = convert(sources[kept], variant)
            check_tflite_ops(flatbuffer)
            target = path.format(variant=variant)
            with open(target, "wb") as f:
                f.write(flatbuffer)
            written[variant] = target
    return written
