"""Validation WER/CER from greedy decoding, every N epochs, into ``fit``'s logs.

The rates land in the epoch logs as ``val_wer`` and ``val_cer`` (fractions, not percent), so
``History`` records them and a ``keras.callbacks.TensorBoard`` placed *after* this callback in the
callback list writes them (as ``epoch_wer``/``epoch_cer`` of the validation run).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.decoding import make_greedy_decoder
from tf_contextnet.inference.transcription import transcribe_dataset  # noqa: F401  (old import path)
from tf_contextnet.metrics import character_errors, word_errors


class ValidationErrorRates(keras.callbacks.Callback):
    """Greedy-decodes ``dataset`` every ``every_n_epochs`` epochs and logs ``{prefix}wer``/``{prefix}cer``.

    Args:
        dataset: batches as yielded by ``tf_contextnet.data.make_dataset`` (dicts with features,
            feature_lengths, labels, label_lengths).
        tokenizer: the tokenizer whose ``decode`` turns ids into text.
        every_n_epochs: evaluate after epochs N, 2N, ... (and always after the last one when
            ``fit`` is given ``epochs``).
        max_symbols_per_frame: the greedy decoder's per-frame symbol cap.
        prefix: prefix of the log keys.
        stop_at_wer: stop training once the WER is at or below this value (``None``: never).
    """

    def __init__(self, dataset: tf.data.Dataset, tokenizer, every_n_epochs: int = 1,
                 max_symbols_per_frame: int = 4, prefix: str = "val_", stop_at_wer: float | None = None):
        super().__init__()
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.every_n_epochs = every_n_epochs
        self.max_symbols_per_frame = max_symbols_per_frame
        self.prefix = prefix
        self.stop_at_wer = stop_at_wer
        self.last_results: dict[str, float] = {}
        self._decode = None

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") if self.params else None
        if (epoch + 1) % self.every_n_epochs != 0 and (last is None or epoch + 1 != last):
            return
        if self._decode is None:
            self._decode = make_greedy_decoder(self.model, self.max_symbols_per_frame)
        references, hypotheses = transcribe_dataset(self._decode, self.dataset, self.tokenizer)
        self.last_results = {f"{self.prefix}wer": word_errors(references, hypotheses).rate,
                             f"{self.prefix}cer": character_errors(references, hypotheses).rate}
        if logs is not None:
            logs.update(self.last_results)
        if self.stop_at_wer is not None and self.last_results[f"{self.prefix}wer"] <= self.stop_at_wer:
            self.model.stop_training = True
