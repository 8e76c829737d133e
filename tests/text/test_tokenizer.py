"""The shared Tokenizer interface: train_tokenizer / load_tokenizer dispatch and their errors."""

from __future__ import annotations

import json

import pytest

from tf_contextnet.text import TOKENIZER_KINDS, Tokenizer, load_tokenizer, train_tokenizer

from .conftest import SMALL_CORPUS


@pytest.mark.parametrize("kind", sorted(TOKENIZER_KINDS))
def test_every_kind_saves_loads_and_decodes_padded_ids(kind, tmp_path):
    tokenizer = train_tokenizer(kind, SMALL_CORPUS * 5, vocabulary_size=40)
    tokenizer.save(tmp_path)
    reloaded = Tokenizer.load(tmp_path)
    assert type(reloaded) is type(tokenizer)
    assert reloaded.vocabulary == tokenizer.vocabulary
    padded = tokenizer.encode(SMALL_CORPUS).to_tensor(0)
    assert reloaded.decode_to_python(padded) == SMALL_CORPUS


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text(json.dumps({"kind": "morse", "vocabulary": ["<blank>"]}))
    with pytest.raises(ValueError, match="morse"):
        load_tokenizer(tmp_path)
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        train_tokenizer("morse", SMALL_CORPUS)
