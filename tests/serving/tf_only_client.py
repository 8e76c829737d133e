"""Run ``serving_default`` of a SavedModel in a process where only TensorFlow is importable.

``python tf_only_client.py SAVED_MODEL FILE...``: importing tf_contextnet, keras or
tensorflow_text raises; prints one JSON object ``{"transcripts": [...], "tokens": [[...]]}``.
"""

from __future__ import annotations

import importlib.abc
import json
import os
import sys

BLOCKED = ("tf_contextnet", "keras", "tensorflow_text", "tf_keras")


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the serving side has TensorFlow only")
        return None


def main(argv: list[str]) -> int:
    sys.meta_path.insert(0, _Blocker())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    loaded = tf.saved_model.load(argv[0])
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    contents = [open(path, "rb").read() for path in argv[1:]]
    outputs = [loaded.signatures["serving_default"](audio=tf.constant([c])) for c in contents]
    print(json.dumps({"transcripts": [o["transcript"].numpy()[0].decode("utf-8") for o in outputs],
                      "tokens": [o["tokens"].numpy()[0, :int(o["token_lengths"][0])].tolist() for o in outputs],
                      "leaked_modules": leaked}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
