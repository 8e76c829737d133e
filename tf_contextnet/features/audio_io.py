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
from tf_contextnet.features.sample_rate import SAMPLE_RATE


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


SPHERE_MAGIC = b"NIST_1A\n"
# sample_coding values libsndfile decodes correctly; anything else (shorten/wavpack compression,
# "mu-law" spelled otherwise, ...) it refuses or, worse, reads as the wrong samples.
SPHERE_READABLE_CODINGS = ("pcm", "ulaw", "alaw")
SPHERE_CONVERT_HINT = ("convert it to PCM WAV first, e.g. `sph2pipe -f wav IN.sph OUT.wav` (sph2pipe decodes "
                       "shorten and mu-law) or `sox IN.sph -e signed-integer -b 16 OUT.wav`")


def sphere_header(path: str) -> dict | None:
    """The fields of a NIST SPHERE header (``{name: int | float | str}``), or ``None`` if not SPHERE.

    Layout: ``NIST_1A\\n``, the header size in bytes on the second line, then ``name -type value``
    lines (``-i`` integer, ``-r`` real, ``-sN`` string) up to ``end_head``. The header size is
    returned as ``header_bytes``.
    """
    with open(path, "rb") as f:
        if f.read(len(SPHERE_MAGIC)) != SPHERE_MAGIC:
            return None
        size_line = f.readline().strip()
        try:
            header_bytes = int(size_line)
        except ValueError:
            raise AudioError(f"{path}: NIST SPHERE header size {size_line!r} is not a number") from None
        text = f.read(max(0, header_bytes - f.tell())).decode("latin-1")
    fields: dict = {"header_bytes": header_bytes}
    for line in text.split("\n"):
        parts = line.strip().split(None, 2)
        if parts and parts[0] == "end_head":
            break
        if len(parts) != 3:
            continue
        name, kind, value = parts
        try:
            fields[name] = int(value) if kind == "-i" else float(value) if kind == "-r" else value
        except ValueError:
            raise AudioError(f"{path}: NIST SPHERE header field {name} {kind} {value!r} is malformed") from None
    return fields


def _check_sphere(path: str) -> None:
    """Clear errors for SPHERE files libsndfile cannot read right: compressed, odd codings, truncated."""
    header = sphere_header(path)
    if header is None:
        return
    coding = str(header.get("sample_coding", "pcm")).lower()
    if "shorten" in coding or "wavpack" in coding:
        raise AudioError(f"{path}: NIST SPHERE audio compressed with {coding!r} (sample_coding), which this "
                         f"reader (libsndfile) cannot decode; {SPHERE_CONVERT_HINT}")
    if coding not in SPHERE_READABLE_CODINGS:
        kind = "mu-law" if "mu" in coding or "law" in coding else "an unsupported sample coding"
        raise AudioError(f"{path}: NIST SPHERE audio in {kind} ({coding!r}); libsndfile reads only "
                         f"{', '.join(SPHERE_READABLE_CODINGS)} SPHERE; {SPHERE_CONVERT_HINT}")
    count = header.get("sample_count")
    if isinstance(count, int) and count > 0:
        width = int(header.get("sample_n_bytes", 2)) * int(header.get("channel_count", 1))
        missing = header["header_bytes"] + count * width - os.path.getsize(path)
        if missing > 0:
            raise AudioError(f"{path}: truncated SPHERE file (its header declares {count} samples; "
                             f"{missing} byte(s) of data are missing)")


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read ``path`` (WAV, FLAC, OGG, ... anything libsndfile reads) as mono float32 ``[N]``.

    Multi-channel audio is averaged to mono; a file rate other than ``sample_rate`` is resampled.
    Raises :class:`AudioError` naming the file for a missing file, a non-audio or truncated file
    (WAV's data chunk and SPHERE's ``sample_count`` are checked against the file size), SPHERE
    compressed with shorten or in a coding libsndfile misreads (the message says how to convert),
    zero-length audio and NaN/Inf samples.

    Resampling multiplies small matrices with numpy: in parallel worker processes, start them with
    ``OPENBLAS_NUM_THREADS=1`` (set in the parent's environment before the pool starts), or BLAS
    threads fighting over the cores can make it ~20× slower on a loaded 2-core machine (measured).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioError(f"{path}: audio file does not exist")
    _check_sphere(path)
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


def decode_wav(wav_bytes: tf.Tensor, sample_rate: int = SAMPLE_RATE,
               supported_rates: Sequence[int] = COMMON_SAMPLE_RATES) -> tf.Tensor:
    """Decode one WAV file's bytes (scalar ``tf.string``) to mono float32 ``[N]`` at ``sample_rate``.

    In-graph (``tf.audio.decode_wav`` + :func:`resample_dynamic`): the file's own rate is a run-time
    tensor, and any rate in ``supported_rates`` is converted; another rate fails with
    ``InvalidArgumentError`` naming it. ``tf.audio.decode_wav`` reads 16-bit PCM WAV only; channels are averaged.
    """
    audio, file_rate = tf.audio.decode_wav(wav_bytes)
    mono = tf.reduce_mean(audio, axis=1)
    return resample_dynamic(mono[None, :], file_rate, sample_rate, supported_rates)[0]
