"""Stop training as soon as the loss stops being finite, saying where and what to try."""

from __future__ import annotations

import logging
import math

import keras

logger = logging.getLogger(__name__)


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops ``fit`` at the first batch whose reported loss is NaN or ±Inf.

    After the stop, ``message`` holds an explanation (epoch, batch, optimizer step, value) and
    ``stopped`` is True; the message is also logged at ERROR level. With ``raise_error=True`` a
    ``FloatingPointError`` carrying the message is raised at the end of training instead.
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error
        self.stopped = False
        self.message = ""
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        step = int(self.model.optimizer.iterations.numpy())
        self.message = (f"training stopped: the loss became {float(loss)} at epoch {self._epoch + 1}, "
                        f"batch {batch + 1} (optimizer step {step}). Try a lower peak learning rate, a "
                        f"smaller gradient clip norm, float32 instead of float16, or check the data for "
                        f"empty/too-long utterances (labels longer than the encoder frames).")
        self.stopped = True
        self.model.stop_training = True
        logger.error(self.message)

    def on_train_end(self, logs=None):
        if self.stopped and self.raise_error:
            raise FloatingPointError(self.message)
