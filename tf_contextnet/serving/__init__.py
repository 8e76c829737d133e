"""Deployment: SavedModel signatures for TF Serving (core TensorFlow ops only), builtins-only TFLite,
the ``contextnet export`` layout, and op checkers for both."""

from tf_contextnet.serving.export_model import export_model
from tf_contextnet.serving.op_checker import (UnsupportedOpsError, check_saved_model_ops, check_tflite_ops,
                                              saved_model_ops, tflite_ops)
from tf_contextnet.serving.saved_model_export import SIGNATURES, ServingFunctions, export_saved_model
from tf_contextnet.serving.wav_parser import decode_wav_batch, decode_wav_bytes

__all__ = ["SIGNATURES", "ServingFunctions", "UnsupportedOpsError", "check_saved_model_ops", "check_tflite_ops",
           "decode_wav_batch", "decode_wav_bytes", "export_model", "export_saved_model", "saved_model_ops", "tflite_ops"]
