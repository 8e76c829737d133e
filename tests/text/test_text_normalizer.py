"""The scoring normaliser on hand-written cases (lower-case, punctuation but apostrophes removed)."""

from __future__ import annotations

import pytest

from tf_contextnet.text import TextNormalizer


@pytest.mark.parametrize("text,expected", [
    ("Hello, World!", "hello world"),
    ("DON'T stop", "don't stop"),
    ("It\u2019s o\u2019clock", "it's o'clock"),
    ("'quoted' words", "quoted words"),
    ("well-known  end.", "well known end"),
    ("  spaces\tand\nnewlines ", "spaces and newlines"),
    ("\uff21\uff22", "ab"),  # full-width letters (NFKC)
    ("", ""),
    ("?!...", ""),
    ("5 + 3 = $8", "5 + 3 = $8"),
])
def test_default_rule(text, expected):
    assert TextNormalizer()(text) == expected


def test_options():
    assert TextNormalizer(lowercase=False)("Hi, There") == "Hi There"
    assert TextNormalizer(keep_apostrophes=False)("don't") == "don t"
    assert TextNormalizer(remove_punctuation=False)("A, b.") == "a, b."
    assert TextNormalizer(remove_symbols=True)("5 + $8") == "5 8"
    config = TextNormalizer(remove_symbols=True).get_config()
    assert TextNormalizer(**config).get_config() == config


def test_bad_input():
    with pytest.raises(TypeError, match="expects a str"):
        TextNormalizer()(b"bytes")
    with pytest.raises(ValueError, match="unicode_form"):
        TextNormalizer(unicode_form="XYZ")
