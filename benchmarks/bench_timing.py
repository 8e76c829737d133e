"""Wall-clock timing and result files shared by the benchmark scripts (imported as ``bench_timing`` from a
script run here)."""

from __future__ import annotations

import os
import time
from typing import Callable


def call_times(fn: Callable[[], object], warmup: int, repeats: int) -> list[float]:
    """Seconds taken by each of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls.

    ``fn`` must block until its work is done (e.g. end with ``.numpy()`` on a TF result).
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def publish(text: str, path: str) -> None:
    """Print a benchmark's markdown ``text`` and write it to ``path`` (folders created)."""
    print(text, flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
