"""Transcribe WAV files through TF Serving's gRPC ``PredictionService`` (tensorflow-serving-api).

    pip install tensorflow-serving-api==2.21.*     # brings grpcio; needs tensorflow for make_tensor_proto
    python export/grpc_client.py --target localhost:8500 --model contextnet FILE.wav...

Builds a ``PredictRequest`` (``model_spec.name``, ``signature_name="serving_default"``, input
``audio``: a tf.string tensor of WAV bytes ``[B]``), calls ``Predict`` and prints
``FILE<TAB>transcript``. A bad file comes back as ``INVALID_ARGUMENT`` naming the problem.
"""

from __future__ import annotations

import argparse
import sys

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


def predict(stub, model: str, wavs: list[bytes], timeout: float = 120.0) -> dict[str, np.ndarray]:
    """One gRPC Predict call; returns the output tensors as numpy arrays."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "serving_default"
    request.inputs["audio"].CopyFrom(tf.make_tensor_proto(np.array(wavs, dtype=object)))
    response = stub.Predict(request, timeout=timeout)
    return {name: tf.make_ndarray(tensor) for name, tensor in response.outputs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="localhost:8500")
    parser.add_argument("--model", default="contextnet")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    status = 0
    with grpc.insecure_channel(args.target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        for path in args.files:
            try:
                outputs = predict(stub, args.model, [open(path, "rb").read()])
            except grpc.RpcError as error:
                print(f"{path}: {error.code().name}: {error.details()}", file=sys.stderr)
                status = 1
                continue
            print(f"{path}\t{outputs['transcript'][0].decode('utf-8')}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
