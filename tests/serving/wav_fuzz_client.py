"""Fuzz ``serving_default`` with random and mutated WAV bytes (hypothesis), TensorFlow only.

``python wav_fuzz_client.py SAVED_MODEL CASES``: prints one JSON object ``{"cases", "ok",
"invalid_argument", "other": [...]}``; ``other`` lists any failure that is not an
``InvalidArgumentError`` (the parent test requires it empty, the process to exit 0 in time).
"""

from __future__ import annotations

import json
import os
import struct
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Header fields a mutation may overwrite: (offset, struct format) of the canonical 44-byte header.
FIELDS = [(4, "<I"), (16, "<I"), (20, "<H"), (22, "<H"), (24, "<I"), (28, "<I"), (32, "<H"), (34, "<H"), (40, "<I")]


def base_wav(rate: int = 16000, samples: int = 2400) -> bytes:
    data = (np.sin(np.arange(samples) * 0.05) * 8000).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, 2 * rate, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mutated(draw_data) -> bytes:
    kind = draw_data.draw(st.sampled_from(["random", "riff_random", "fields", "bytes", "truncate"]))
    if kind == "random":
        return draw_data.draw(st.binary(max_size=600))
    if kind == "riff_random":
        return b"RIFF" + draw_data.draw(st.binary(min_size=4, max_size=4)) + b"WAVE" + draw_data.draw(
            st.binary(max_size=600))
    wav = bytearray(base_wav(draw_data.draw(st.sampled_from([8000, 16000, 44100])),
                             draw_data.draw(st.integers(0, 3000))))
    if kind == "fields":
        for offset, fmt in draw_data.draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)):
            limit = 2 ** (8 * struct.calcsize(fmt)) - 1
            value = draw_data.draw(st.one_of(st.integers(0, 64), st.integers(0, limit), st.sampled_from([0, limit])))
            if offset + struct.calcsize(fmt) <= len(wav):
                struct.pack_into(fmt, wav, offset, value)
    elif kind == "bytes":
        for position, value in draw_data.draw(st.lists(st.tuples(st.integers(0, max(len(wav) - 1, 0)),
                                                                 st.integers(0, 255)), min_size=1, max_size=8)):
            wav[position] = value
    else:
        wav = wav[:draw_data.draw(st.integers(0, len(wav)))]
    return bytes(wav)


def main(argv: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    serve = tf.saved_model.load(argv[0]).signatures["serving_default"]
    counts = {"cases": 0, "ok": 0, "invalid_argument": 0, "other": []}

    @settings(max_examples=int(argv[1]), deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def case(data):
        contents = mutated(data)
        counts["cases"] += 1
        try:
            out = serve(audio=tf.constant([contents]))
            assert out["tokens"].shape[0] == 1
            counts["ok"] += 1
        except tf.errors.InvalidArgumentError:
            counts["invalid_argument"] += 1
        except Exception as error:  # noqa: BLE001 (reported to the parent)
            counts["other"].append(f"{type(error).__name__}: {str(error)[:300]} for {contents[:64]!r}")

    case()
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
