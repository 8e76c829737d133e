"""tf_contextnet: ContextNet (Han et al., 2020, arXiv 2005.03191) in TensorFlow 2 / Keras 3.

Public API only. The names below are re-exported lazily (PEP 562) so that ``import
tf_contextnet`` (e.g. for ``contextnet --help``) does not import TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "ContextBlock": "tf_contextnet.layers",
    "MaskedBatchNormalization": "tf_contextnet.layers",
    "SqueezeExcite1D": "tf_contextnet.layers",
    "ContextNetEncoder": "tf_contextnet.models",
    "ContextNetTransducer": "tf_contextnet.models",
    "JointNetwork": "tf_contextnet.models",
    "PredictionNetwork": "tf_contextnet.models",
    "encoder_output_lengths": "tf_contextnet.models",
    "LogMelSpectrogram": "tf_contextnet.features",
    "SpecAugment": "tf_contextnet.features",
    "load_audio": "tf_contextnet.features",
    "RnntLoss": "tf_contextnet.losses",
    "rnnt_loss": "tf_contextnet.losses",
    "load_tokenizer": "tf_contextnet.text",
    "train_tokenizer": "tf_contextnet.text",
    "make_dataset": "tf_contextnet.data",
    "prepare": "tf_contextnet.data",
    "WarmupSchedule": "tf_contextnet.training",
    "run_training": "tf_contextnet.training",
    "ContextNetHyperModel": "tf_contextnet.tuning",
    "run_sweep": "tf_contextnet.tuning",
    "load_model_directory": "tf_contextnet.inference",
    "save_model_directory": "tf_contextnet.inference",
    "transducer_parts": "tf_contextnet.models",
    "Transducer": "tf_contextnet.models",
    "TransducerParts": "tf_contextnet.models",
    "greedy_decode": "tf_contextnet.decoding",
    "export_model": "tf_contextnet.serving",
    "modified_beam_search": "tf_contextnet.decoding",
    "LstmLanguageModel": "tf_contextnet.models",
    "TextNormalizer": "tf_contextnet.text",
    "evaluate_manifest": "tf_contextnet.inference",
    "word_error_rate": "tf_contextnet.metrics",
    "character_error_rate": "tf_contextnet.metrics",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tf_contextnet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
