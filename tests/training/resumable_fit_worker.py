"""Subprocess entry for the resume test: a fit with checkpoint_callbacks that waits to be killed.

Usage: python resumable_fit_worker.py OUT_DIR [KILL_AT_STEP]
Appends one JSON line per fit start to OUT_DIR/starts.jsonl with the optimizer state right after
BackupAndRestore restored it (step counter, Adam first moment of the first kernel). With
KILL_AT_STEP, once that optimizer step's callbacks (the backup's included) have run, it prints
``READY <step>`` and sleeps until killed: the parent kills it at a known point, after every file
write has finished, instead of polling the clock and the backup files.
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



class WaitToBeKilled(keras.callbacks.Callback):
    """Last in the list: at ``step`` every other callback has finished its batch end."""

    def __init__(self, step: int):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step == self.step:
            print(f"READY {step}", flush=True)
            time.sleep(600)
            sys.exit("not killed within 600 s")


def main(out: Path, kill_at_step: int | None = None) -> None:
    keras.utils.set_random_seed(0)
    dataset = regression_dataset(batch_size=8, n=64, repeat=5)  # 40 batches per epoch
    model = TinyRegressor(units=6)
    model(next(iter(dataset)))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.optimizer.build(model.trainable_variables)
    callbacks = checkpoint_callbacks(str(out), backup_every_steps=5) + [RecordStart(out / "starts.jsonl")]
    if kill_at_step is not None:
        callbacks.append(WaitToBeKilled(kill_at_step))
    model.fit(dataset, epochs=EPOCHS, verbose=0, callbacks=callbacks)
    (out / "final_step.txt").write_text(str(int(model.optimizer.iterations.numpy())))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
