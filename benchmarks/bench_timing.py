"""Wall-clock timing shared by the benchmark scripts (imported as ``bench_timing`` from a script run here)."""

from __future__ import annotations

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
