"""Log-mel filterbank features (ContextNet, Han et al. 2020, §3: 80-dim, 25 ms window, 10 ms hop).

Shapes: B batch, N samples, T frames, F mel bins (``num_mel_bins``), K = ``fft_length // 2 + 1``.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tf_contextnet.features.sample_rate import SAMPLE_RATE
from tf_contextnet.utils.masking import mask_sequence

FLOOR_MODES = ("clamp", "add")


def frame_lengths(sample_lengths, frame_length: int = 400, frame_step: int = 160):
    """Number of complete frames in ``sample_lengths`` samples: ``max(0, 1 + (N - frame_length) // frame_step)``.

    The one definition of feature lengths (works on ints, numpy arrays and int tensors). A frame is
    valid only if it lies wholly inside the valid samples, so no valid frame sees padding.
    """
    if isinstance(sample_lengths, tf.Tensor):
        return tf.maximum(0, 1 + (sample_lengths - frame_length) // frame_step)
    return np.maximum(0, 1 + (np.asarray(sample_lengths) - frame_length) // frame_step)


@keras.saving.register_keras_serializable(package="tf_contextnet")
class LogMelSpectrogram(keras.layers.Layer):
    """``(waveform [B, N] float, sample_lengths [B] int) -> (features [B, T, F], frame_lengths [B] int32)``.

    For frame ``t`` of ``x`` (samples ``t·frame_step ... t·frame_step + frame_length - 1``):

        P[t, k] = |RFFT_fft_length(w · x_t)[k]|²,   w the periodic Hann window of ``frame_length``
        M[t, f] = sum_k P[t, k] · A[k, f]
        features[t, f] = log(max(M, log_floor))     (``floor_mode="clamp"``)
                         log(M + log_floor)         (``floor_mode="add"``)

    ``A [K, F]`` is ``tf.signal.linear_to_mel_weight_matrix``: triangles of peak 1, linear on the HTK
    mel scale ``1127 ln(1 + f / 700)``, with ``F + 2`` equally spaced mel edges from
    ``lower_edge_hertz`` to ``upper_edge_hertz`` (default ``sample_rate / 2``), DC bin excluded.
    No centring or padding: ``T = frame_lengths(N)`` (see :func:`frame_lengths`); frames at or past
    ``frame_lengths`` are zero. Computed in float32 whatever the policy (the waveform is not
    autocast), returned in the compute dtype. Only TFLite builtin ops (RFFT2D, COMPLEX_ABS, ...).
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE, num_mel_bins: int = 80, frame_length: int = 400,
                 frame_step: int = 160, fft_length: int = 512, lower_edge_hertz: float = 20.0,
                 upper_edge_hertz: float | None = None, log_floor: float = 1e-6, floor_mode: str = "clamp",
                 **kwargs):
        super().__init__(autocast=False, **kwargs)
        upper = sample_rate / 2 if upper_edge_hertz is None else upper_edge_hertz
        if fft_length < frame_length:
            raise ValueError(f"fft_length ({fft_length}) must be >= frame_length ({frame_length})")
        if not 0.0 <= lower_edge_hertz < upper <= sample_rate / 2:
            raise ValueError(f"need 0 <= lower_edge_hertz ({lower_edge_hertz}) < upper_edge_hertz ({upper}) "
                             f"<= sample_rate / 2 ({sample_rate / 2})")
        if floor_mode not in FLOOR_MODES:
            raise ValueError(f"floor_mode must be one of {FLOOR_MODES}, got {floor_mode!r}")
        if log_floor <= 0.0:
            raise ValueError(f"log_floor must be > 0, got {log_floor}")
        self.sample_rate = sample_rate
        self.num_mel_bins = num_mel_bins
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.lower_edge_hertz = lower_edge_hertz
        self.upper_edge_hertz = upper_edge_hertz
        self.log_floor = log_floor
        self.floor_mode = floor_mode

    def mel_matrix(self) -> tf.Tensor:
        """The ``[fft_length // 2 + 1, num_mel_bins]`` mel filter bank (``tf.signal.linear_to_mel_weight_matrix``)."""
        upper = self.sample_rate / 2 if self.upper_edge_hertz is None else self.upper_edge_hertz
        return tf.signal.linear_to_mel_weight_matrix(
            num_mel_bins=self.num_mel_bins, num_spectrogram_bins=self.fft_length // 2 + 1,
            sample_rate=self.sample_rate, lower_edge_hertz=self.lower_edge_hertz, upper_edge_hertz=upper)

    def compute_frame_lengths(self, sample_lengths):
        """Valid frames for ``sample_lengths`` samples (delegates to :func:`frame_lengths`)."""
        return frame_lengths(sample_lengths, self.frame_length, self.frame_step)

    def call(self, inputs, training=None):
        waveform, sample_lengths = inputs
        features, lengths = self.log_mel(tf.cast(waveform, tf.float32), tf.cast(sample_lengths, tf.int32))
        return tf.cast(features, self.compute_dtype), lengths

    def log_mel(self, waveform: tf.Tensor, sample_lengths: tf.Tensor,
                constant: Callable[[np.ndarray], tf.Tensor] | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        """The layer's computation in float32: ``(waveform [B, N], sample_lengths [B])`` → ``(features
        [B, T, F], frame_lengths [B])``.

        ``constant`` (float32 array → tensor of the same values) builds the three float constants,
        the Hann window ``[frame_length]``, the mel matrix ``[K, F]`` and the log floor ``[]``;
        ``None`` lets TensorFlow build them. The TFLite export passes one that builds them when the
        graph runs, so that no quantiser (fp16, dynamic range) converts them.
        """
        if constant is None:
            window_fn, matrix, floor = tf.signal.hann_window, self.mel_matrix(), self.log_floor
        else:
            with tf.init_scope():  # the values now, outside any function being traced
                window_values = tf.signal.hann_window(self.frame_length).numpy()
                matrix_values = self.mel_matrix().numpy()
            window = constant(window_values)
            matrix, floor = constant(matrix_values), constant(np.array(self.log_floor, np.float32))

            def window_fn(length: int, dtype: tf.DType) -> tf.Tensor:  # stft's contract; the length is ours
                return window
        num_samples = tf.shape(waveform)[1]
        # RFFT fails on zero frames, so a batch shorter than one frame is padded and its frame cut off.
        short = tf.maximum(0, self.frame_length - num_samples)
        waveform = tf.pad(waveform, [[0, 0], [0, short]])
        spectrum = tf.signal.stft(waveform, self.frame_length, self.frame_step, self.fft_length,
                                  window_fn=window_fn, pad_end=False)
        power = tf.square(tf.abs(spectrum))
        power = power[:, :frame_lengths(num_samples, self.frame_length, self.frame_step)]
        # A rank-2 MatMul: it converts to a TFLite builtin and runs faster on CPU than a batched einsum.
        mel = tf.reshape(tf.matmul(tf.reshape(power, [-1, tf.shape(power)[-1]]), matrix),
                         tf.concat([tf.shape(power)[:2], [self.num_mel_bins]], 0))
        if self.floor_mode == "clamp":
            features = tf.math.log(tf.maximum(mel, floor))
        else:
            features = tf.math.log(mel + floor)
        lengths = tf.minimum(self.compute_frame_lengths(sample_lengths), tf.shape(features)[1])
        return mask_sequence(features, lengths), lengths

    def compute_output_shape(self, input_shape):
        waveform_shape, lengths_shape = input_shape
        num = waveform_shape[1]
        frames = None if num is None else max(0, 1 + (num - self.frame_length) // self.frame_step)
        return (waveform_shape[0], frames, self.num_mel_bins), tuple(lengths_shape)

    def get_config(self):
        return {**super().get_config(), "sample_rate": self.sample_rate, "num_mel_bins": self.num_mel_bins,
                "frame_length": self.frame_length, "frame_step": self.frame_step, "fft_length": self.fft_length,
                "lower_edge_hertz": self.lower_edge_hertz, "upper_edge_hertz": self.upper_edge_hertz,
                "log_floor": self.log_floor, "floor_mode": self.floor_mode}
