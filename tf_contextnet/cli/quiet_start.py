"""Keep TensorFlow's C++ start-up lines off the terminal, so that a run reads like a report.

``import tensorflow`` and its first operation write lines such as ``WARNING: All log messages
before absl::InitializeLog() is called are written to STDERR``, ``cudart_stub.cc ... Could not find
cuda drivers``, ``failed call to cuInit`` and ``cpu_feature_guard.cc ... This TensorFlow binary is
optimized ...`` straight to file descriptor 2 from C++, before and regardless of
``TF_CPP_MIN_LOG_LEVEL`` (absl's early log lines ignore it). Redirecting ``sys.stderr`` does not
catch them; pointing descriptor 2 itself at ``/dev/null`` for the import and the first operation
does. Python-level errors raised in that window are not lost: the exception propagates after
descriptor 2 is restored.

Set ``TF_CONTEXTNET_TF_LOGS=1`` (or pass ``show=True``) to see the lines.
"""

from __future__ import annotations

import os
import sys

SHOW_ENV = "TF_CONTEXTNET_TF_LOGS"


def tensorflow_logs_requested() -> bool:
    """Whether the user asked for TensorFlow's start-up lines (``TF_CONTEXTNET_TF_LOGS`` set, not 0)."""
    return os.environ.get(SHOW_ENV, "").strip().lower() not in ("", "0", "false", "no")


def import_tensorflow_quietly(show: bool | None = None):
    """Import TensorFlow and run one operation with descriptor 2 silenced; returns the module.

    Does nothing special when TensorFlow is already imported or the user asked for the lines.
    Also sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless set) so that later C++ INFO/WARNING/ERROR lines
    stay off: on CPUs without AVX-512 the first traced training step logs oneDNN's fallback notice
    ``E0000 ... util.cc] oneDNN supports DT_BOOL only on platforms with AVX-512`` at ERROR level,
    though nothing failed. Real failures still reach the user as Python exceptions, which carry
    TensorFlow's message.
    """
    show = tensorflow_logs_requested() if show is None else show
    if "tensorflow" in sys.modules or show:
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow

        tensorflow.constant(1.0) + 1.0  # the first op initialises the devices (cuInit, CPU guard)
        import keras  # noqa: F401  (its import can log through absl too)
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow
