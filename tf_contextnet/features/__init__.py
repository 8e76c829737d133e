"""Audio front end: audio IO, resampling, log-mel features, normalisation and SpecAugment."""

from tf_contextnet.features.audio_io import AudioError, decode_wav, load_audio
from tf_contextnet.features.log_mel_spectrogram import LogMelSpectrogram, frame_lengths
from tf_contextnet.features.resample import (COMMON_SAMPLE_RATES, rational_factors, resample_dynamic,
                                             resample_np, resample_tf, resampled_length)

__all__ = [
    "AudioError",
    "COMMON_SAMPLE_RATES",
    "decode_wav",
    "frame_lengths",
    "LogMelSpectrogram",
    "load_audio",
    "rational_factors",
    "resample_dynamic",
    "resample_np",
    "resample_tf",
    "resampled_length",
]
