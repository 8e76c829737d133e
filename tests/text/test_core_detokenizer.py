"""CoreDetokenizer: surfaces joined in core TF; a SavedModel that decodes loads without tensorflow-text."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.text import CoreDetokenizer, SentencePieceTokenizer, WordPieceTokenizer

from .conftest import SMALL_CORPUS


def test_joins_surfaces_drops_blank_and_out_of_range():
    detok = CoreDetokenizer(["", " he", "llo", " world"], strip=True)
    ids = tf.constant([[1, 2, 3, 0, 0], [3, 0, 7, -1, 0]])
    assert detok(ids).numpy().tolist() == [b"hello world", b"world"]
    ragged = tf.ragged.constant([[1, 2], [3]])
    assert detok(ragged).numpy().tolist() == [b"hello", b"world"]
    assert detok(tf.constant([1, 2])).numpy() == b"hello"


def test_rejects_a_blank_with_a_surface():
    with pytest.raises(ValueError, match="blank"):
        CoreDetokenizer(["<blank>", "a"], strip=False)


def decoding_module(detokenizer: CoreDetokenizer) -> tf.Module:
    module = tf.Module()
    module.detokenizer = detokenizer
    module.decode = tf.function(lambda ids: detokenizer(ids), input_signature=[tf.TensorSpec([None, None], tf.int32)])
    return module


def test_saved_models_decode_without_tensorflow_text(tmp_path):
    tokenizers = {"wordpiece": WordPieceTokenizer.train(SMALL_CORPUS, vocabulary_size=60),
                  "sentencepiece": SentencePieceTokenizer.train(SMALL_CORPUS * 5, vocabulary_size=30)}
    for kind, tokenizer in tokenizers.items():
        tf.saved_model.save(decoding_module(tokenizer.detokenizer), str(tmp_path / kind))
        np.save(tmp_path / f"{kind}.npy", tokenizer.encode(SMALL_CORPUS).to_tensor(0).numpy())
    script = textwrap.dedent(f"""
        import sys
        sys.modules["tensorflow_text"] = None  # any import of tensorflow_text now fails
        import numpy as np
        import tensorflow as tf
        for kind in {sorted(tokenizers)!r}:
            loaded = tf.saved_model.load(f"{tmp_path}/{{kind}}")
            out = loaded.decode(tf.constant(np.load(f"{tmp_path}/{{kind}}.npy")))
            print("|".join(t.decode() for t in out.numpy()))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().split("\n") == ["|".join(SMALL_CORPUS)] * 2
