"""Write a JSON file so that a reader (or a kill mid-write) never sees half of it."""

from __future__ import annotations

import json
import os
from typing import Any, Callable


def write_json_atomically(path: str | os.PathLike, value: Any, *, indent: int | None = 1,
                          ensure_ascii: bool = True, default: Callable[[Any], Any] | None = None) -> None:
    """``json.dump(value)`` into a temporary file beside ``path`` (named after this process, so that
    concurrent writers do not share it), then ``os.replace`` it onto ``path``."""
    path = os.fspath(path)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=indent, ensure_ascii=ensure_ascii, default=default)
    os.replace(temporary, path)
