"""The one text normaliser applied to references and hypotheses before scoring.

Default rule, in order (each step configurable):

1. Unicode NFKC (full-width letters, ligatures and compatibility forms become plain ones);
   typographic apostrophes (’ ‘ ʼ ´ `) become ``'``;
2. lower-case (``str.casefold`` is not used: ``ß`` stays ``ß``);
3. every punctuation character (Unicode category ``P*``) except the apostrophe becomes a space,
   so ``"well-known"`` → ``"well known"`` and ``"end." `` → ``"end"``; symbols (``S*``: ``$``,
   ``+``) are punctuation too when ``remove_symbols``;
4. an apostrophe that does not sit between two letters/digits is dropped (quotes such as
   ``'hello'`` lose theirs; ``don't`` and ``o'clock`` keep theirs);
5. runs of whitespace collapse to one space, the ends are stripped.

Digits and the words of the text are otherwise left alone (no number spelling, no spelling
variants): the normaliser only removes what a speech recogniser cannot hear.
"""

from __future__ import annotations

import re
import unicodedata

APOSTROPHE = "'"
APOSTROPHE_VARIANTS = "\u2019\u2018\u02bc\u00b4`"
_STRAY_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")


class TextNormalizer:
    """``normalizer(text) -> str``: lower-case, punctuation but apostrophes removed (module docstring).

    Args:
        lowercase: lower-case the text.
        remove_punctuation: replace punctuation (Unicode ``P*``) by spaces.
        keep_apostrophes: keep word-internal apostrophes when removing punctuation.
        remove_symbols: also replace symbols (Unicode ``S*``: ``$ + = ~``) by spaces.
        unicode_form: Unicode normal form applied first (``None``: none).
    """

    def __init__(self, lowercase: bool = True, remove_punctuation: bool = True, keep_apostrophes: bool = True,
                 remove_symbols: bool = False, unicode_form: str | None = "NFKC"):
        if unicode_form not in (None, "NFC", "NFD", "NFKC", "NFKD"):
            raise ValueError(f"unicode_form must be None, NFC, NFD, NFKC or NFKD, got {unicode_form!r}")
        self.lowercase = lowercase
        self.remove_punctuation = remove_punctuation
        self.keep_apostrophes = keep_apostrophes
        self.remove_symbols = remove_symbols
        self.unicode_form = unicode_form

    def _removed(self, character: str) -> bool:
        category = unicodedata.category(character)
        if category.startswith("P"):
            return self.remove_punctuation and not (self.keep_apostrophes and character == APOSTROPHE)
        return self.remove_symbols and category.startswith("S")

    def __call__(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"TextNormalizer expects a str, got {type(text).__name__}: {text!r}")
        if self.unicode_form is not None:
            text = unicodedata.normalize(self.unicode_form, text)
        for variant in APOSTROPHE_VARIANTS:
            text = text.replace(variant, APOSTROPHE)
        if self.lowercase:
            text = text.lower()
        if self.remove_punctuation or self.remove_symbols:
            text = "".join(" " if self._removed(c) else c for c in text)
            if self.keep_apostrophes and self.remove_punctuation:
                text = _STRAY_APOSTROPHE.sub(" ", text)
        return " ".join(text.split())

    def get_config(self) -> dict:
        """The constructor arguments (written beside evaluation results)."""
        return {"lowercase": self.lowercase, "remove_punctuation": self.remove_punctuation,
                "keep_apostrophes": self.keep_apostrophes, "remove_symbols": self.remove_symbols,
                "unicode_form": self.unicode_form}

    def __repr__(self) -> str:
        return "TextNormalizer(" + ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()) + ")"
