"""A stand-in for ``tensorflow_model_server`` (which cannot be installed here), for the tests.

It follows TF Serving's own path, not the TF2 Python API: the SavedModel is loaded into a
``tf.compat.v1.Session`` with ``tf.compat.v1.saved_model.load(session, ["serve"], dir)`` (as
TF Serving's SavedModelBundle does), inputs/outputs are resolved through the ``signature_def``'s
tensor names, requests are real ``PredictRequest`` protos turned into arrays with
``tf.make_ndarray``, and errors come back as TF Serving returns them (gRPC status with the
message; REST HTTP 400 ``{"error": message}``). Served over real sockets on 127.0.0.1:

- gRPC: tensorflow-serving-api's ``PredictionService`` (``Predict``);
- REST: ``POST /v1/models/<name>[/versions/<n>]:predict`` with TF Serving's JSON rules: row
  (``instances``) or columnar (``inputs``) format, ``{"b64": ...}`` for binary strings; the
  response is ``{"predictions": [...]}`` (rows; a dict per row when there are several outputs) or
  ``{"outputs": ...}``; string outputs are UTF-8 text, or ``{"b64": ...}`` when the output name
  ends in ``_bytes``.
"""

from __future__ import annotations

import base64
import json
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


class SessionModel:
    """A SavedModel loaded the TF1/TF Serving way; ``run(signature, {input: array})``."""

    def __init__(self, export_dir: str, name: str = "contextnet"):
        self.name = name
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.load(self.session, ["serve"], export_dir)
        self.signatures = meta_graph.signature_def

    def run(self, signature_name: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if signature_name not in self.signatures:
            raise KeyError(f"Serving signature name: \"{signature_name}\" not found in signature def")
        signature = self.signatures[signature_name]
        unknown = set(inputs) - set(signature.inputs)
        if unknown:
            raise KeyError(f"input(s) {sorted(unknown)} not in signature {signature_name}")
        feed = {signature.inputs[k].name: v for k, v in inputs.items()}
        names = sorted(signature.outputs)
        values = self.session.run([signature.outputs[k].name for k in names], feed_dict=feed)
        return dict(zip(names, values))


class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, model: SessionModel):
        self.model = model

    def Predict(self, request, context):  # noqa: N802 (the gRPC method name)
        if request.model_spec.name != self.model.name:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {request.model_spec.name}")
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        try:
            outputs = self.model.run(request.model_spec.signature_name or "serving_default", inputs)
        except tf.errors.InvalidArgumentError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, error.message)
        except KeyError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for k, v in outputs.items():
            response.outputs[k].CopyFrom(tf.make_tensor_proto(v))
        return response


def _decode_json_value(value):
    """TF Serving's REST input rule: ``{"b64": s}`` is binary; lists nest."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, dict):
        return {k: _decode_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_json_value(v) for v in value]
    return value


def _encode_json_value(name: str, value):
    if isinstance(value, np.ndarray):
        return [_encode_json_value(name, v) for v in value]
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()} if name.endswith("_bytes") else value.decode("utf-8")
    return value.item() if isinstance(value, np.generic) else value


def _as_array(values):
    if values and isinstance(np.asarray(values, dtype=object).flat[0], bytes):
        return np.array(values, dtype=object)
    return np.array(values)


def rest_predict(model: SessionModel, body: dict) -> dict:
    """TF Serving's ``:predict`` JSON handling (row and columnar formats)."""
    signature = body.get("signature_name", "serving_default")
    if "instances" in body:
        rows = [_decode_json_value(r) for r in body["instances"]]
        if rows and isinstance(rows[0], dict):
            inputs = {k: _as_array([r[k] for r in rows]) for k in rows[0]}
        else:
            (name,) = model.signatures[signature].inputs
            inputs = {name: _as_array(rows)}
        outputs = model.run(signature, inputs)
        if len(outputs) == 1:
            ((name, value),) = outputs.items()
            return {"predictions": _encode_json_value(name, value)}
        count = len(next(iter(outputs.values())))
        return {"predictions": [{k: _encode_json_value(k, v[i]) for k, v in outputs.items()} for i in range(count)]}
    if "inputs" in body:
        given = _decode_json_value(body["inputs"])
        if not isinstance(given, dict):
            (name,) = model.signatures[signature].inputs
            given = {name: given}
        outputs = model.run(signature, {k: _as_array(v) for k, v in given.items()})
        return {"outputs": {k: _encode_json_value(k, v) for k, v in outputs.items()}}
    raise ValueError("JSON body must have 'instances' or 'inputs'")


def _rest_handler(model: SessionModel):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _reply(self, code: int, payload: dict):
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            path = self.path.split(":")
            if len(path) != 2 or path[1] != "predict" or not path[0].startswith(f"/v1/models/{model.name}"):
                self._reply(404, {"error": f"Malformed request: POST {self.path}"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self._reply(200, rest_predict(model, body))
            except tf.errors.InvalidArgumentError as error:
                self._reply(400, {"error": error.message})
            except tf.errors.OpError as error:  # TF Serving answers other statuses with 500 and the message
                self._reply(500, {"error": error.message})
            except (KeyError, ValueError, TypeError) as error:
                self._reply(400, {"error": str(error)})

    return Handler


class StandInServer:
    """gRPC and REST on 127.0.0.1 (ephemeral ports) over one :class:`SessionModel`."""

    def __init__(self, export_dir: str, name: str = "contextnet"):
        self.model = SessionModel(export_dir, name)
        self.grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_PredictionService(self.model),
                                                                           self.grpc_server)
        self.grpc_port = self.grpc_server.add_insecure_port("127.0.0.1:0")
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _rest_handler(self.model))
        self.rest_port = self.http.server_address[1]

    def __enter__(self):
        self.grpc_server.start()
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()
        self.grpc_server.stop(grace=None)
        self.model.session.close()
