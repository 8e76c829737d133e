"""Audio front end: audio IO, resampling, log-mel features, normalisation and SpecAugment."""

from tf_contextnet.features.audio_io import AudioError, decode_wav, load_audio
from tf_contextnet.features.frequency_warp import FrequencyWarp, vtlp_source_hertz
from tf_contextnet.features.global_feature_normalization import (GlobalFeatureNormalization,
                                                                 compute_feature_statistics)
from tf_contextnet.features.log_mel_spectrogram import LogMelSpectrogram, frame_lengths
from tf_contextnet.features.per_utterance_normalization import PerUtteranceNormalization
from tf_contextnet.features.resample import (COMMON_SAMPLE_RATES, rational_factors, resample_dynamic,
                                             resample_np, resample_tf, resampled_length)
from tf_contextnet.features.sample_rate import SAMPLE_RATE
from tf_contextnet.features.spec_augment import SpecAugment

__all__ = [
    "AudioError",
    "COMMON_SAMPLE_RATES",
    "compute_feature_statistics",
    "decode_wav",
    "frame_lengths",
    "FrequencyWarp",
    "GlobalFeatureNormalization",
    "LogMelSpectrogram",
    "load_audio",
    "PerUtteranceNormalization",
    "rational_factors",
    "resample_dynamic",
    "resample_np",
    "resample_tf",
    "resampled_length",
    "SAMPLE_RATE",
    "SpecAugment",
    "vtlp_source_hertz",
]
