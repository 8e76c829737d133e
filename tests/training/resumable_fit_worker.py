"""Subprocess entry for the resume test: a slow fit with checkpoint_callbacks, killable at any time.

Usage: python resumable_fit_worker.py OUT_DIR
Appends one JSON line per fit start to OUT_DIR/starts.jsonl with the optimizer state right after
BackupAndRestore restored it (step counter, Adam first moment of the first kernel).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import keras  # noqa: E402

from tiny_models import TinyRegressor, regression_dataset  # noqa: E402

from tf_contextnet.training import checkpoint_callbacks  # noqa: E402

EPOCHS, STEPS_PER_EPOCH = 3, 40


class RecordStart(keras.callbacks.Callback):
    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        momentum = self.model.optimizer.variables[2].numpy()
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": int(self.model.optimizer.iterations.numpy()),
                                "momentum": momentum.tolist()}) + "\n")

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)  # slow enough for the parent to kill mid-epoch


def main(out: Path) -> None:
    keras.utils.set_random_seed(0)
    dataset = regression_dataset(batch_size=8, n=64, repeat=5)  # 40 batches per epoch
    model = TinyRegressor(units=6)
    model(next(iter(dataset)))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.optimizer.build(model.trainable_variables)
    callbacks = checkpoint_callbacks(str(out), backup_every_steps=5) + [RecordStart(out / "starts.jsonl")]
    model.fit(dataset, epochs=EPOCHS, verbose=0, callbacks=callbacks)
    (out / "final_step.txt").write_text(str(int(model.optimizer.iterations.numpy())))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
