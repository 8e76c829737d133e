"""Stop training as soon as the loss stops being finite, saying where and what to try."""

from __future__ import annotations

import logging
import math

import keras

logger = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """Raised by ``NonFiniteLossGuard`` when the training loss becomes NaN or ±Inf."""


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops ``fit`` at the first batch whose reported loss is NaN or ±Inf.

    ``message`` then explains where (epoch, batch, optimizer step) and what to try; ``stopped`` is
    True. With ``raise_error=True`` (default) a ``NonFiniteLossError`` carrying the message is
    raised from ``on_train_batch_end`` at once, so the callbacks after this one in the list (e.g.
    ``BackupAndRestore``) never save the non-finite weights: put the guard first. With
    ``raise_error=False`` it sets ``model.stop_training`` and logs the message at ERROR level.
    """

    def __init__(self, raise_error: bool = True):
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
                        f"empty/too-long utterances (labels longer than the encoder frames) and for label "
                        f"ids that are blank (0) or >= the vocabulary size (under jit_compile, where the "
                        f"loss's checks are dropped, such a label makes the loss NaN).")
        self.stopped = True
        self.model.stop_training = True
        if self.raise_error:
            raise NonFiniteLossError(self.message)
        logger.error(self.message)
