"""Audio input: files of any libsndfile format (data preparation) and WAV bytes in-graph.

Shapes: N samples, C channels.

Both paths return mono float32 in ``[-1, 1]`` at the requested rate: channels are averaged, and a
different file rate is converted with the anti-aliased polyphase resampler of
:mod:`tf_contextnet.features.resample`.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import soundfile
import tensorflow as tf

from tf_contextnet.features.resample import COMMON_SAMPLE_RATES, resample_dynamic, resample_np


class AudioError(ValueError):
    """An audio file that cannot be used: missing, unreadable, empty or with non-finite samples."""


def _wav_data_shortfall(path: str) -> int:
    """Bytes missing from a RIFF/WAVE file's ``data`` chunk (0 if complete or not a plain WAV).

    libsndfile silently reads a truncated WAV up to its end, so the declared size is checked here.
    Sizes 0 and 0xFFFFFFFF mean "unknown" (streamed WAV) and are accepted.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header = f.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return 0
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk = f.read(8)
            chunk_size = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                if chunk_size in (0, 0xFFFFFFFF):
                    return 0
                return max(0, offset + 8 + chunk_size - size)
            offset += 8 + chunk_size + (chunk_size & 1)
    return 0


def _check_wav_complete(path: str) -> None:
    missing = _wav_data_shortfall(path)
    if missing:
        raise AudioError(f"{path}: truncated WAV file ({missing} byte(s) of its data chunk are missing)")


def load_audio(path: str | os.PathLike, sample_rate: int = 16000) -> np.ndarray:
    """Read ``path`` (WAV, FLAC, OGG, ... anything libsndfile reads) as mono float32 ``[N]``.

    Multi-channel audio is averaged to mono; a file rate other than ``sample_rate`` is resampled.
    Raises :class:`AudioError` naming the file for a missing file, a non-audio or truncated file,
    zero-length audio and NaN/Inf samples.

    Resampling multiplies small matrices with numpy: in parallel worker processes, start them with
    ``OPENBLAS_NUM_THREADS=1`` (set in the parent's environment before the pool starts), or BLAS
    threads fighting over the cores can make it ~20× slower on a loaded 2-core machine (measured).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioError(f"{path}: audio file does not exist")
    try:
        audio, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, EOFError, ValueError) as error:
        raise AudioError(f"{path}: not a readable audio file or truncated ({error})") from error
    _check_wav_complete(path)
    if audio.shape[0] == 0:
        raise AudioError(f"{path}: zero-length audio (no samples)")
    if not np.all(np.isfinite(audio)):
        bad = int(np.sum(~np.isfinite(audio)))
        raise AudioError(f"{path}: {bad} NaN/Inf sample(s) out of {audio.size}")
    mono = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    if file_rate != sample_rate:
        mono = resample_np(mono, int(file_rate), int(sample_rate))
    return np.ascontiguousarray(mono, dtype=np.float32)


def decode_wav(wav_bytes: tf.Tensor, sample_rate: int = 16000,
               supported_rates: Sequence[int] = COMMON_SAMPLE_RATES) -> tf.Tensor:
    """Decode one WAV file's bytes (scalar ``tf.string``) to mono float32 ``[N]`` at ``sample_rate``.

    In-graph (``tf.audio.decode_wav`` + :func:`resample_dynamic`): the file's own rate is a run-time
    tensor, and any rate in ``supported_rates`` is converted; another rate fails with
    ``InvalidArgumentError`` naming it. ``tf.audio.decode_wav`` reads 16-bit PCM WAV only; channels are averaged.
    """
    audio, file_rate = tf.audio.decode_wav(wav_bytes)
    mono = tf.reduce_mean(audio, axis=1)
    return resample_dynamic(mono[None, :], file_rate, sample_rate, supported_rates)[0]
