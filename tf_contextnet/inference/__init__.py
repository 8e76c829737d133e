"""Inference: the trained-model directory (save/load) and transcription with it, shared by the CLI,
recipes, evaluation and export."""

from tf_contextnet.inference.model_directory import ModelDirectory, load_model_directory, save_model_directory
from tf_contextnet.inference.transcription import transcribe_dataset, transcribe_file, waveform_features
from tf_contextnet.inference.evaluate import EvaluationReport, evaluate, evaluate_manifest

__all__ = ["EvaluationReport", "ModelDirectory", "evaluate", "evaluate_manifest", "load_model_directory",
           "save_model_directory", "transcribe_dataset", "transcribe_file", "waveform_features"]
