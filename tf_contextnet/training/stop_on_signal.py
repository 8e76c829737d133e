"""A ``fit`` callback that turns SIGINT/SIGTERM into a clean end of training."""

from __future__ import annotations

import signal
import sys
import threading

import keras


class StopOnSignal(keras.callbacks.Callback):
    """On SIGINT (Ctrl-C) or SIGTERM: finish the current step, end ``fit`` normally, keep everything.

    The caller then writes its outputs (the model directory) as after a finished run; callbacks'
    ``on_train_end`` run, so backups and the time spent are saved. A second SIGINT while stopping
    restores Python's handler and raises ``KeyboardInterrupt`` (to abort at once). Handlers are
    installed only in the main thread (elsewhere Python does not allow it) and restored at the end.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, message_stream=None):
        super().__init__()
        self.received: int | None = None
        self.message_stream = message_stream
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.received is not None and signum == signal.SIGINT:
            self._restore()
            raise KeyboardInterrupt
        self.received = signum
        if self.model is not None:
            self.model.stop_training = True
        stream = self.message_stream or sys.stderr
        print(f"\n[train] {signal.Signals(signum).name} received: stopping after this step and saving "
              "(Ctrl-C again aborts)", file=stream, flush=True)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def on_train_begin(self, logs=None):
        self.received = None
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)

    def on_train_batch_end(self, batch, logs=None):
        if self.received is not None:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._restore()
