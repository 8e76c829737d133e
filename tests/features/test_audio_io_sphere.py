"""NIST SPHERE in load_audio: real AN4 files, and clear errors for compressed, mu-law and truncated copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from tf_contextnet.features import AudioError, load_audio
from tf_contextnet.features.audio_io import sphere_header


def _with_header_field(source: bytes, old: bytes, new: bytes) -> bytes:
    """``source`` with one header line replaced, the 1024-byte header kept at its size."""
    header, data = source[:1024], source[1024:]
    assert old in header
    changed = header.replace(old, new)
    changed = changed[:1024] if len(changed) >= 1024 else changed + b" " * (1024 - len(changed))
    return changed + data


def _pcm_sphere(tmp_path: Path) -> tuple[Path, np.ndarray]:
    samples = (0.4 * np.sin(2 * np.pi * 300 * np.arange(8000) / 16000)).astype(np.float64)
    path = tmp_path / "tone.sph"
    soundfile.write(str(path), samples, 16000, format="NIST", subtype="PCM_16")
    return path, samples


def test_header_fields(tmp_path: Path):
    path, _ = _pcm_sphere(tmp_path)
    header = sphere_header(str(path))
    assert header["header_bytes"] == 1024 and header["sample_count"] == 8000
    assert header["sample_rate"] == 16000 and header["sample_coding"] == "pcm"
    assert sphere_header(str(Path(__file__))) is None


def test_truncated_sphere_names_file_and_missing_bytes(tmp_path: Path):
    path, samples = _pcm_sphere(tmp_path)
    np.testing.assert_allclose(load_audio(path), samples, atol=1 / 32768)
    cut = tmp_path / "cut.sph"
    cut.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(AudioError, match=r"cut\.sph: truncated SPHERE file \(its header declares 8000 samples; "
                                         r"1000 byte\(s\) of data are missing\)"):
        load_audio(cut)


@pytest.mark.parametrize("coding, message", [
    (b"sample_coding -s26 pcm,embedded-shorten-v2.00", "compressed with 'pcm,embedded-shorten-v2.00'"),
    (b"sample_coding -s26 ulaw,embedded-shorten-v2.00", "compressed with 'ulaw,embedded-shorten-v2.00'"),
    (b"sample_coding -s6 mu-law", "in mu-law \\('mu-law'\\)"),
])
def test_compressed_and_mu_law_say_how_to_convert(tmp_path: Path, coding: bytes, message: str):
    path, _ = _pcm_sphere(tmp_path)
    bad = tmp_path / "bad.sph"
    bad.write_bytes(_with_header_field(path.read_bytes(), b"sample_coding -s3 pcm", coding))
    with pytest.raises(AudioError, match=message) as info:
        load_audio(bad)
    assert "bad.sph" in str(info.value) and "sph2pipe -f wav" in str(info.value)


def test_ulaw_sphere_that_libsndfile_decodes_is_read(tmp_path: Path):
    samples = 0.5 * np.sin(np.arange(16000) / 10)
    path = tmp_path / "ulaw.sph"
    soundfile.write(str(path), samples, 16000, format="NIST", subtype="ULAW")
    assert sphere_header(str(path))["sample_coding"] == "ulaw"
    np.testing.assert_allclose(load_audio(path), samples, atol=0.02)  # mu-law quantisation steps


@pytest.mark.data
def test_real_an4_sphere_and_corrupted_copies(shared_data: Path, tmp_path: Path):
    files = sorted((shared_data / "an4" / "wav" / "an4_clstk").glob("*/*.sph"))
    if not files:
        pytest.skip(f"{shared_data / 'an4'} is absent")
    raw = files[0].read_bytes()
    reference = np.frombuffer(raw[1024:], dtype="<i2").astype(np.float32) / 32768.0
    np.testing.assert_allclose(load_audio(files[0]), reference, atol=1e-6)
    cut = tmp_path / files[0].name
    cut.write_bytes(raw[:1024 + 2 * (len(reference) // 2)])
    with pytest.raises(AudioError, match=f"{cut.name}: truncated SPHERE file"):
        load_audio(cut)
    shortened = tmp_path / "shortened.sph"
    shortened.write_bytes(_with_header_field(raw, b"sample_coding -s3 pcm",
                                             b"sample_coding -s26 pcm,embedded-shorten-v2.00"))
    with pytest.raises(AudioError, match="shorten.*sph2pipe -f wav"):
        load_audio(shortened)
