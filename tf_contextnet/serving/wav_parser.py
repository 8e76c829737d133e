"""WAV (RIFF/WAVE) bytes → mono float32 audio at a model's rate, in core TensorFlow ops only.

Shapes: B batch, N samples, C channels.

TF Serving runs graphs without Python, tensorflow-text or tf_contextnet, and ``tf.audio.decode_wav``
reads 16-bit PCM only, so an exported ``serving_default`` parses the RIFF container itself:

- chunks are walked from byte 12 (``fmt `` and ``data`` found in any order; others skipped, with
  RIFF's pad byte after odd-sized chunks); a ``data`` size of 0 or 0xFFFFFFFF (streamed WAV)
  means "to the end of the file";
- encodings: PCM 8 (unsigned), 16, 24 and 32 bit, IEEE float 32 and 64 bit, G.711 A-law and
  μ-law, and ``WAVE_FORMAT_EXTENSIBLE`` wrapping any of these (its sub-format GUID is read);
  values are scaled as libsndfile (``soundfile.read(dtype="float32")``) scales them: integer PCM
  by ``2^-(bits-1)``, 8-bit by ``(x - 128) / 128``, G.711 through the standard tables / 32768;
- 1-8 channels, averaged to mono; any rate in :data:`COMMON_SAMPLE_RATES`, resampled in the graph
  with :func:`tf_contextnet.features.resample.resample_dynamic` (the resampler of ``load_audio``).

Every problem fails the whole run with ``InvalidArgumentError`` whose message names the item
(``audio[i]``) and the problem: not RIFF/WAVE (RIFX/RF64 named as such), a missing ``fmt `` or
``data`` chunk, an unsupported encoding (format tag and bits named), a channel count or block
alignment out of range, a truncated ``data`` chunk, zero samples, NaN/Inf samples, an unsupported
sample rate. The asserts are control dependencies of the decoding, so no op downstream of a
failed check runs (no crash deep in TF).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf

from tf_contextnet.features.resample import COMMON_SAMPLE_RATES, resample_dynamic

MAX_CHANNELS = 8
FORMAT_PCM = 1
FORMAT_FLOAT = 3
FORMAT_ALAW = 6
FORMAT_MULAW = 7
FORMAT_EXTENSIBLE = 0xFFFE

#: (format tag, bits per sample) of each decodable encoding, in ``tf.switch_case`` branch order.
ENCODINGS: tuple[tuple[int, int], ...] = ((FORMAT_PCM, 16), (FORMAT_PCM, 8), (FORMAT_PCM, 24), (FORMAT_PCM, 32),
                                          (FORMAT_FLOAT, 32), (FORMAT_FLOAT, 64), (FORMAT_ALAW, 8),
                                          (FORMAT_MULAW, 8))
SUPPORTED_ENCODINGS = ("PCM 8/16/24/32-bit, IEEE float 32/64-bit, A-law, mu-law (plain or WAVE_FORMAT_EXTENSIBLE)")


def mulaw_table() -> np.ndarray:
    """G.711 μ-law code → linear 16-bit value (ITU-T G.711; the table libsndfile uses), int16 ``[256]``."""
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def alaw_table() -> np.ndarray:
    """G.711 A-law code → linear 16-bit value (ITU-T G.711), int16 ``[256]``."""
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 0x07, codes & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


def _bytes_at(data: tf.Tensor, position: tf.Tensor, count: int) -> tf.Tensor:
    """``count`` bytes (int64) from ``position`` of ``data`` (the file's bytes plus one trailing 0);
    indices outside the file read that 0, so no op can fail on a short or odd file."""
    size = tf.size(data, out_type=tf.int64) - 1
    index = position + tf.range(count, dtype=tf.int64)
    inside = tf.logical_and(index >= 0, index < size)
    return tf.cast(tf.gather(data, tf.where(inside, index, size)), tf.int64)


def _uint(data: tf.Tensor, position: tf.Tensor, count: int) -> tf.Tensor:
    """Little-endian unsigned integer of ``count`` bytes at ``position`` (int64 scalar)."""
    weights = tf.constant([256 ** i for i in range(count)], tf.int64)
    return tf.reduce_sum(_bytes_at(data, position, count) * weights)


def _tag(data: tf.Tensor, position: tf.Tensor, text: str) -> tf.Tensor:
    """Whether the four bytes at ``position`` spell ``text``."""
    return tf.reduce_all(tf.equal(_bytes_at(data, position, 4), tf.constant(list(text.encode()), tf.int64)))


def _check(condition: tf.Tensor, index: tf.Tensor, message: str, *values: tf.Tensor) -> tf.Operation:
    return tf.debugging.Assert(condition, ["audio item", index, message, *values], summarize=8)


def _chunks(data: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """``(fmt_position, fmt_size, data_position, data_size)`` of the first ``fmt `` / ``data``
    chunks (positions of their payloads; -1 when absent)."""
    size = tf.size(data, out_type=tf.int64) - 1
    missing = tf.constant(-1, tf.int64)

    def cond(offset, fmt_pos, fmt_size, data_pos, data_size):
        return tf.logical_and(offset + 8 <= size, tf.logical_or(fmt_pos < 0, data_pos < 0))

    def body(offset, fmt_pos, fmt_size, data_pos, data_size):
        chunk_size = _uint(data, offset + 4, 4)
        new_fmt = tf.logical_and(_tag(data, offset, "fmt "), fmt_pos < 0)
        new_data = tf.logical_and(_tag(data, offset, "data"), data_pos < 0)
        return (offset + 8 + chunk_size + chunk_size % 2,
                tf.where(new_fmt, offset + 8, fmt_pos), tf.where(new_fmt, chunk_size, fmt_size),
                tf.where(new_data, offset + 8, data_pos), tf.where(new_data, chunk_size, data_size))

    _, fmt_pos, fmt_size, data_pos, data_size = tf.while_loop(
        cond, body, (tf.constant(12, tf.int64), missing, missing, missing, missing))
    return fmt_pos, fmt_size, data_pos, data_size


def _decode_samples(contents: tf.Tensor, data: tf.Tensor, start: tf.Tensor, count: tf.Tensor,
                    branch: tf.Tensor) -> tf.Tensor:
    """``count`` interleaved samples from byte ``start``, float32, for encoding ``ENCODINGS[branch]``."""
    def raw(dtype, width):
        payload = tf.strings.substr(contents, start, count * width)
        return tf.io.decode_raw(payload, dtype, little_endian=True)

    def bytes_(width):
        return tf.reshape(tf.cast(tf.slice(data, [start], [count * width]), tf.int32), [-1, width])

    def pcm24():
        b = bytes_(3)
        value = b[:, 0] + b[:, 1] * 256 + b[:, 2] * 65536
        return tf.cast(tf.where(value >= 2 ** 23, value - 2 ** 24, value), tf.float32) / 2.0 ** 23

    def table(values):
        return lambda: tf.gather(tf.constant(values.astype(np.float32) / 32768.0), bytes_(1)[:, 0])

    branches = [
        lambda: tf.cast(raw(tf.int16, 2), tf.float32) / 32768.0,
        lambda: (tf.cast(bytes_(1)[:, 0], tf.float32) - 128.0) / 128.0,
        pcm24,
        lambda: tf.cast(tf.cast(raw(tf.int32, 4), tf.float64) / 2.0 ** 31, tf.float32),
        lambda: raw(tf.float32, 4),
        lambda: tf.cast(raw(tf.float64, 8), tf.float32),
        table(alaw_table()),
        table(mulaw_table()),
    ]
    return tf.switch_case(branch, branches)


def decode_wav_bytes(contents: tf.Tensor, index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Parse one WAV file (scalar ``tf.string``) → ``(mono float32 [N], sample_rate int32 scalar)``.

    ``index`` (int32 scalar) is the item's position in the request, quoted in error messages.
    """
    data = tf.concat([tf.io.decode_raw(contents, tf.uint8), tf.zeros([1], tf.uint8)], 0)
    size = tf.size(data, out_type=tf.int64) - 1
    riff = tf.logical_and(_tag(data, tf.constant(0, tf.int64), "RIFF"), _tag(data, tf.constant(8, tf.int64), "WAVE"))
    checks = [
        _check(tf.logical_not(_tag(data, tf.constant(0, tf.int64), "RIFX")), index,
               "big-endian RIFX WAV is not supported (little-endian RIFF only)"),
        _check(tf.logical_not(_tag(data, tf.constant(0, tf.int64), "RF64")), index,
               "RF64 (64-bit WAV) is not supported"),
        _check(tf.logical_and(size >= 12, riff), index, "not a WAV file: no RIFF/WAVE header; size in bytes", size),
    ]
    with tf.control_dependencies(checks):
        fmt_pos, fmt_size, data_pos, data_size = _chunks(data)
    checks = [
        _check(fmt_pos >= 0, index, "no fmt chunk (truncated or not a WAV file)"),
        _check(data_pos >= 0, index, "no data chunk (truncated or not a WAV file)"),
    ]
    with tf.control_dependencies(checks):
        checks = [_check(tf.logical_and(fmt_size >= 16, fmt_pos + 16 <= size), index,
                         "fmt chunk shorter than 16 bytes or truncated; its size", fmt_size)]
    with tf.control_dependencies(checks):
        tag = _uint(data, fmt_pos, 2)
        extensible = tf.logical_and(tf.equal(tag, FORMAT_EXTENSIBLE), fmt_size >= 26)
        tag = tf.where(extensible, _uint(data, fmt_pos + 24, 2), tag)
        channels = _uint(data, fmt_pos + 2, 2)
        rate = _uint(data, fmt_pos + 4, 4)
        block_align = _uint(data, fmt_pos + 12, 2)
        bits = _uint(data, fmt_pos + 14, 2)
        known = tf.constant([t * 1000 + b for t, b in ENCODINGS], tf.int64)
        matches = tf.equal(known, tag * 1000 + bits)
        branch = tf.cast(tf.argmax(tf.cast(matches, tf.int32)), tf.int32)
        width = bits // 8
        unknown_size = tf.logical_or(tf.equal(data_size, 0), tf.equal(data_size, 0xFFFFFFFF))
        data_end = tf.where(unknown_size, size, data_pos + data_size)
        checks = [
            _check(tf.reduce_any(matches), index,
                   f"unsupported WAV encoding (supported: {SUPPORTED_ENCODINGS}); format tag, bits per sample:",
                   tag, bits),
            _check(tf.logical_and(channels >= 1, channels <= MAX_CHANNELS), index,
                   f"channel count out of range (1..{MAX_CHANNELS}):", channels),
            _check(tf.equal(block_align, channels * width), index,
                   "block align differs from channels x bytes per sample:", block_align),
            _check(data_end <= size, index, "truncated WAV file: bytes missing from the data chunk:", data_end - size),
            _check(tf.reduce_any(tf.equal(tf.constant(list(COMMON_SAMPLE_RATES), tf.int64), rate)), index,
                   f"unsupported sample rate (Hz; supported: {list(COMMON_SAMPLE_RATES)}):", rate),
        ]
    with tf.control_dependencies(checks):
        frames = (data_end - data_pos) // tf.maximum(block_align, 1)
        checks = [_check(frames > 0, index, "zero samples (empty data chunk)")]
    with tf.control_dependencies(checks):
        samples = _decode_samples(contents, data, data_pos, frames * channels, branch)
        finite = tf.reduce_all(tf.math.is_finite(samples))
        checks = [_check(finite, index, "NaN/Inf samples; count:",
                         tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(samples)), tf.int32)))]
    with tf.control_dependencies(checks):
        mono = tf.reduce_mean(tf.reshape(samples, tf.stack([frames, channels])), axis=1)
    return mono, tf.cast(rate, tf.int32)


def decode_wav_batch(audio: tf.Tensor, sample_rate: int,
                     supported_rates: Sequence[int] = COMMON_SAMPLE_RATES) -> tuple[tf.Tensor, tf.Tensor]:
    """WAV bytes ``[B]`` → ``(waveform [B, N] float32 at sample_rate, zero-padded, lengths [B] int32)``.

    One bad item fails the whole call (``InvalidArgumentError`` naming ``audio[i]``).
    """
    audio = tf.reshape(audio, [-1])
    batch = tf.shape(audio)[0]
    tf.debugging.assert_positive(batch, message="empty request: audio has zero items")

    def decode(i, waves, lengths):
        mono, rate = decode_wav_bytes(audio[i], i)
        wave = resample_dynamic(mono[None], rate, sample_rate, supported_rates)[0]
        return i + 1, waves.write(i, wave), lengths.write(i, tf.shape(wave)[0])

    _, waves, lengths = tf.while_loop(
        lambda i, *_: i < batch, decode,
        (tf.constant(0), tf.TensorArray(tf.float32, size=batch, element_shape=[None], infer_shape=False),
         tf.TensorArray(tf.int32, size=batch)))
    lengths = lengths.stack()
    longest = tf.reduce_max(lengths)

    def pad(i, padded):
        wave = waves.read(i)
        return i + 1, padded.write(i, tf.pad(wave, [[0, longest - tf.shape(wave)[0]]]))

    _, padded = tf.while_loop(lambda i, *_: i < batch, pad,
                              (tf.constant(0), tf.TensorArray(tf.float32, size=batch, element_shape=[None])))
    return tf.reshape(padded.stack(), tf.stack([batch, longest])), lengths
