"""``contextnet export``'s layout, manifest, warm-up request and op checks."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tf_contextnet.serving import SIGNATURES, UnsupportedOpsError, check_saved_model_ops, saved_model_ops


def test_layout_manifest_and_checksums(exported, tiny_model_dir):
    version = exported / "saved_model" / "3"
    assert (version / "saved_model.pb").is_file() and (version / "variables").is_dir()
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["saved_model"]["version"] == 3
    assert set(manifest["saved_model"]["signatures"]) == set(SIGNATURES)
    assert manifest["sample_rate"] == 16000 and manifest["vocabulary_size"] == 17
    assert manifest["versions"]["tensorflow"] == tf.__version__
    assert manifest["model_config"]["alpha"] == 0.125
    assert manifest["predict_step_state"]["layers"] == 1 and manifest["predict_step_state"]["units"] == 16
    files = {os.path.relpath(os.path.join(root, name), exported)
             for root, _, names in os.walk(exported) for name in names} - {"manifest.json"}
    assert set(manifest["files"]) == files
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((exported / name).read_bytes()).hexdigest() == digest, name
    vocabulary = (exported / "vocabulary.txt").read_text().splitlines()
    assert len(vocabulary) == 17 and vocabulary[0] == "<blank>"
    assert (exported / "tokenizer" / "tokenizer.json").is_file()


def test_models_config_is_tf_serving_text_proto_with_absolute_base_path(exported):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = text_format.Parse((exported / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    (model,) = config.model_config_list.config
    assert model.name == "contextnet" and model.model_platform == "tensorflow"
    assert os.path.isabs(model.base_path) and model.base_path == str(exported / "saved_model")


def test_warmup_request_parses_as_prediction_log_and_runs(exported, loaded_saved_model):
    from tensorflow_serving.apis import prediction_log_pb2

    path = exported / "saved_model" / "3" / "assets.extra" / "tf_serving_warmup_requests"
    records = list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator())
    assert len(records) == 1
    log = prediction_log_pb2.PredictionLog.FromString(records[0])
    request = log.predict_log.request
    assert request.model_spec.name == "contextnet" and request.model_spec.signature_name == "serving_default"
    audio = tf.make_ndarray(request.inputs["audio"])
    assert audio.shape == (1,) and audio[0][:4] == b"RIFF"
    result = loaded_saved_model.signatures["serving_default"](audio=tf.constant(audio))
    assert result["tokens"].shape[0] == 1


def test_saved_model_cli_lists_the_signatures(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--all", "--dir", str(exported / "saved_model" / "3")],
                           capture_output=True, text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    for name in SIGNATURES:
        assert f"signature_def['{name}']" in shown.stdout
    for tensor in ("audio", "transcript", "tokens", "token_lengths", "waveform_lengths", "encoded", "logits"):
        assert f"['{tensor}']" in shown.stdout


def test_op_checker_passes_the_export_and_walks_the_function_library(exported):
    ops = check_saved_model_ops(exported / "saved_model" / "3")
    # Ops that only exist inside library functions (the greedy loop, the WAV parser) are seen.
    assert {"While", "DecodeRaw", "ReduceJoin", "ArgMax"} <= ops
    assert not {"PyFunc", "EagerPyFunc"} & ops


def _save(module: tf.Module, path) -> str:
    tf.saved_model.save(module, str(path))
    return str(path)


def test_op_checker_fails_on_py_func_and_non_core_ops(tmp_path):
    class Tainted(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, x):
            return tf.py_function(lambda v: v * 2, [x], tf.float32)

    path = _save(Tainted(), tmp_path / "py_func")
    assert "EagerPyFunc" in saved_model_ops(path)
    with pytest.raises(UnsupportedOpsError, match="EagerPyFunc"):
        check_saved_model_ops(path)

    text = pytest.importorskip("tensorflow_text")

    class TextOps(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, s):
            return text.WhitespaceTokenizer().tokenize(s).flat_values

    path = _save(TextOps(), tmp_path / "tf_text")
    with pytest.raises(UnsupportedOpsError, match="outside TensorFlow's core registry.*Whitespace"):
        check_saved_model_ops(path)
