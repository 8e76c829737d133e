"""``export_model(DIR, OUT)``: a trained-model directory → everything needed to serve it.

Layout of ``OUT``:
    saved_model/<N>/             TF Serving's version folder (signatures: ``saved_model_export``),
      assets.extra/tf_serving_warmup_requests   one ``serving_default`` request (TFRecord of
                                 ``PredictionLog``), replayed by TF Serving before it serves
    models.config                TF Serving ``--model_config_file`` (absolute ``base_path``)
    model.tflite, model_fp16.tflite, model_dynamic.tflite   when asked (``tflite_export``)
    tokenizer/                   the model directory's tokenizer (``load_tokenizer``)
    vocabulary.txt               one token per line, line i = id i (line 0: the blank)
    manifest.json                preset/config, parameters, sample rate, vocabulary size, versions,
                                 signatures, the ``predict_step`` state layout, SHA-256 of every file
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from typing import Sequence

MODEL_NAME = "contextnet"
MIN_TF_SERVING_VERSION = "2.21.0"
TFLITE_VARIANTS = ("float", "fp16", "dynamic")
TFLITE_FILES = {"float": "model.tflite", "fp16": "model_fp16.tflite", "dynamic": "model_dynamic.tflite"}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def warmup_record(signature_name: str, inputs: dict, model_name: str = MODEL_NAME) -> bytes:
    """A serialised ``tensorflow.serving.PredictionLog`` holding one ``PredictRequest``.

    Encoded by hand (field numbers of tensorflow_serving/apis/{prediction_log,predict,model}.proto:
    PredictionLog.predict_log = 6, PredictLog.request = 1, PredictRequest.model_spec = 1 /
    inputs = 2 (map entries: key 1, value 2), ModelSpec.name = 1 / signature_name = 3), so the
    exporter does not need tensorflow-serving-api; the tests parse it with that package's classes.
    ``inputs`` maps input names to ``TensorProto``s (``tf.make_tensor_proto``).
    """
    spec = _field(1, model_name.encode()) + _field(3, signature_name.encode())
    entries = b"".join(_field(2, _field(1, key.encode()) + _field(2, value.SerializeToString()))
                       for key, value in inputs.items())
    return _field(6, _field(1, _field(1, spec) + entries))


def models_config(base_path: str, model_name: str = MODEL_NAME) -> str:
    """TF Serving's ``--model_config_file`` text (``ModelServerConfig``) for one model."""
    return ("model_config_list {\n  config {\n"
            f"    name: \"{model_name}\"\n    base_path: \"{os.path.abspath(base_path)}\"\n"
            "    model_platform: \"tensorflow\"\n  }\n}\n")


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksums(out: str) -> dict[str, str]:
    sums = {}
    for root, _, files in os.walk(out):
        for name in sorted(files):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, out)
            if relative != "manifest.json":
                sums[relative] = _sha256(path)
    return dict(sorted(sums.items()))


def parse_tflite_variants(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"float,fp16"`` → ``("float", "fp16")``; unknown names raise ``ValueError`` naming them."""
    if not text:
        return ()
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    unknown = [n for n in names if n not in TFLITE_VARIANTS]
    if unknown:
        raise ValueError(f"unknown TFLite variant(s) {unknown}; expected a comma-separated subset of "
                         f"{','.join(TFLITE_VARIANTS)}")
    return tuple(dict.fromkeys(names))


def export_model(model_dir: str | os.PathLike, out: str | os.PathLike, version: int = 1,
                 tflite: str | Sequence[str] | None = None, max_symbols_per_frame: int | None = None) -> dict:
    """Export the trained-model directory ``model_dir`` into ``out`` (layout in the module doc).

    Returns the manifest (also written to ``out/manifest.json``). ``version`` is TF Serving's
    version folder (>= 1); an existing ``saved_model/<version>`` is replaced.
    """
    import numpy as np
    import tensorflow as tf

    import tf_contextnet
    from tf_contextnet.inference import load_model_directory
    from tf_contextnet.serving.saved_model_export import export_saved_model, synthetic_wav

    if int(version) < 1:
        raise ValueError(f"version must be >= 1 (TF Serving's version folder), got {version}")
    variants = parse_tflite_variants(tflite)
    loaded = load_model_directory(model_dir)
    out = os.path.abspath(os.fspath(out))
    saved_model = os.path.join(out, "saved_model", str(int(version)))
    if os.path.exists(saved_model):
        shutil.rmtree(saved_model)
    os.makedirs(out, exist_ok=True)
    export_saved_model(loaded, saved_model, max_symbols_per_frame)

    rate = int(loaded.config["sample_rate"])
    extra = os.path.join(saved_model, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(extra, "tf_serving_warmup_requests")) as writer:
        writer.write(warmup_record("serving_default",
                                   {"audio": tf.make_tensor_proto(np.array([synthetic_wav(rate)], dtype=object))}))
    with open(os.path.join(out, "models.config"), "w", encoding="utf-8") as f:
        f.write(models_config(os.path.join(out, "saved_model")))

    tokenizer_dir = os.path.join(out, "tokenizer")
    if os.path.exists(tokenizer_dir):
        shutil.rmtree(tokenizer_dir)
    loaded.tokenizer.save(tokenizer_dir)
    with open(os.path.join(out, "vocabulary.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{token}\n" for token in loaded.tokenizer.vocabulary)

    tflite_files = {}
    if variants:
        from tf_contextnet.serving.tflite_export import export_tflite

        written = export_tflite(loaded, os.path.join(out, "{variant}.tflite"), variants, max_symbols_per_frame)
        for variant, path in written.items():
            os.replace(path, os.path.join(out, TFLITE_FILES[variant]))
            tflite_files[variant] = TFLITE_FILES[variant]

    model = loaded.model
    state = model.initial_state(1)
    config = model.get_config()
    manifest = {
        "format": 1,
        "model_name": MODEL_NAME,
        "source_model_directory": os.path.abspath(os.fspath(model_dir)),
        "model_class": type(model).__name__,
        "preset": loaded.config.get("training", {}).get("preset"),
        "model_config": {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")},
        "parameters": int(model.count_params()),
        "sample_rate": rate,
        "vocabulary_size": int(model.vocabulary_size),
        "max_symbols_per_frame": int(max_symbols_per_frame or
                                     loaded.config.get("decoding", {}).get("max_symbols_per_frame", 4)),
        "versions": {"tf_contextnet": tf_contextnet.__version__, "tensorflow": tf.__version__,
                     "keras": __import__("keras").__version__,
                     "minimum_tf_serving": MIN_TF_SERVING_VERSION},
        "saved_model": {"path": os.path.relpath(saved_model, out), "version": int(version),
                        "signatures": _signature_summary(saved_model)},
        "predict_step_state": {"shape": ["layers", 2, "batch", "units"], "dtype": "float32",
                               "layers": int(state.shape[0]), "units": int(state.shape[-1]),
                               "meaning": "per LSTM layer (h, c); zeros to start; feed token 0 (blank) first"},
        "tflite": tflite_files,
        "files": _checksums(out),
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, default=str)
    return manifest


def _signature_summary(saved_model: str) -> dict:
    """Signature name → ``{"inputs": {name: [dtype, shape]}, "outputs": ...}`` from saved_model.pb."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import dtypes

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())

    def describe(tensors):
        return {name: [dtypes.as_dtype(info.dtype).name,
                       [None if d.size < 0 else d.size for d in info.tensor_shape.dim]]
                for name, info in sorted(tensors.items())}

    signatures = proto.meta_graphs[0].signature_def
    return {name: {"inputs": describe(sig.inputs), "outputs": describe(sig.outputs)}
            for name, sig in sorted(signatures.items()) if not name.startswith("__")}
