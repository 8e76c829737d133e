"""TF Serving's path without its binary: session loader, real PredictRequests, and the export/
client examples over real sockets (see tf_serving_stand_in)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pytest
import tensorflow as tf
from serving_fixtures import wav_bytes
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
from tf_serving_stand_in import StandInServer

EXAMPLES = Path(__file__).resolve().parents[2] / "export"


@pytest.fixture(scope="module")
def server(exported):
    with StandInServer(str(exported / "saved_model" / "3")) as running:
        yield running


@pytest.fixture(scope="module")
def wavs():
    rng = np.random.default_rng(5)
    t = np.arange(12000) / 16000
    return [wav_bytes((np.sin(2 * np.pi * f * t * (1 + t)) * 0.3 + rng.normal(size=t.size) * 0.02)
                      .astype(np.float32), 16000) for f in (300, 900, 2000)]


@pytest.fixture(scope="module")
def expected(loaded_saved_model, wavs):
    signature = loaded_saved_model.signatures["serving_default"]
    return [signature(audio=tf.constant([w]))["transcript"][0].numpy().decode() for w in wavs]


def test_session_loader_fed_from_a_predict_request(server, wavs, expected):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "contextnet"
    request.inputs["audio"].CopyFrom(tf.make_tensor_proto(np.array(wavs, dtype=object)))
    parsed = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    outputs = server.model.run("serving_default", {k: tf.make_ndarray(v) for k, v in parsed.inputs.items()})
    assert [t.decode() for t in outputs["transcript"]] == expected
    assert any(expected), "the test model must emit tokens"


def test_grpc_predict_and_invalid_argument(server, wavs, expected):
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "contextnet"
        request.model_spec.signature_name = "serving_default"
        request.inputs["audio"].CopyFrom(tf.make_tensor_proto(np.array(wavs + [b"junk"], dtype=object)))
        with pytest.raises(grpc.RpcError) as raised:
            stub.Predict(request, timeout=300)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not a WAV file" in raised.value.details() and "[3]" in raised.value.details()


def test_rest_b64_rows_columns_and_error(server, wavs, expected):
    url = f"http://127.0.0.1:{server.rest_port}/v1/models/contextnet:predict"

    def post(body):
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    b64 = [{"b64": base64.b64encode(w).decode()} for w in wavs]
    rows = post({"instances": b64})["predictions"]
    assert [r["transcript"] for r in rows] == expected
    assert [r["token_lengths"] for r in rows] == [len(r["tokens"][:r["token_lengths"]]) for r in rows]
    named_rows = post({"signature_name": "serving_default", "instances": [{"audio": b} for b in b64]})["predictions"]
    assert [r["transcript"] for r in named_rows] == expected
    columns = post({"inputs": {"audio": b64}})["outputs"]
    assert columns["transcript"] == expected
    with pytest.raises(urllib.error.HTTPError) as raised:
        post({"instances": [{"b64": base64.b64encode(b"RIFF....WAVE").decode()}]})
    assert raised.value.code == 400 and "no fmt chunk" in json.loads(raised.value.read())["error"]


def _run_example(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                          env=env, timeout=600, check=False)


def test_client_examples_against_the_stand_in(server, wavs, expected, tmp_path):
    files = []
    for i, w in enumerate(wavs):
        files.append(tmp_path / f"clip{i}.wav")
        files[-1].write_bytes(w)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    rest = _run_example("rest_client.py", "--url", f"http://127.0.0.1:{server.rest_port}", *map(str, files), str(bad))
    assert rest.returncode == 1 and "not a WAV file" in rest.stderr
    assert rest.stdout.splitlines() == [f"{f}\t{e}" for f, e in zip(files, expected)]
    grpc_run = _run_example("grpc_client.py", "--target", f"127.0.0.1:{server.grpc_port}", *map(str, files))
    assert grpc_run.returncode == 0, grpc_run.stderr[-2000:]
    assert grpc_run.stdout.splitlines() == [f"{f}\t{e}" for f, e in zip(files, expected)]


def test_serve_script_names_the_export_layout():
    script = (EXAMPLES / "serve.sh").read_text()
    assert subprocess.run(["bash", "-n", str(EXAMPLES / "serve.sh")], check=False).returncode == 0
    assert "tensorflow_model_server" in script and "--model_config_file=\"$OUT/models.config\"" in script
    assert "--enable_model_warmup=true" in script
