"""Run ``serving_default`` of a SavedModel in a process where only TensorFlow is importable.

``python tf_only_client.py SAVED_MODEL FILE...``: importing tf_contextnet, keras or
tensorflow_text raises; prints one JSON object ``{"transcripts": [...], "tokens": [[...]]}``.
"""

from __future__ import annotations

import json
import os
import sys

BLOCKED = ("tf_contextnet", "keras", "tensorflow_text", "tf_keras")


def main(argv: list[str]) -> int:
    for name in BLOCKED:  # a None entry makes `import name` raise ImportError (and find_spec say "absent")
        sys.modules[name] = None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    for name in BLOCKED:
        try:
            __import__(name)
            raise SystemExit(f"{name} imported although blocked")
        except ImportError:
            pass
    loaded = tf.saved_model.load(argv[0])
    leaked = sorted(m for m, module in sys.modules.items() if m.split(".")[0] in BLOCKED and module is not None)
    contents = [open(path, "rb").read() for path in argv[1:]]
    outputs = [loaded.signatures["serving_default"](audio=tf.constant([c])) for c in contents]
    print(json.dumps({"transcripts": [o["transcript"].numpy()[0].decode("utf-8") for o in outputs],
                      "tokens": [o["tokens"].numpy()[0, :int(o["token_lengths"][0])].tolist() for o in outputs],
                      "leaked_modules": leaked}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
