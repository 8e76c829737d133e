"""Moved to ``tf_contextnet.inference.model_directory``; this re-export keeps the old import path
working until the next release."""

from tf_contextnet.inference.model_directory import (CONFIG_FILE, FORMAT_VERSION, MODEL_FILE, TOKENIZER_DIR,
                                                     ModelDirectory, load_model_directory, save_model_directory)

__all__ = ["CONFIG_FILE", "FORMAT_VERSION", "MODEL_FILE", "TOKENIZER_DIR", "ModelDirectory", "load_model_directory",
           "save_model_directory"]
