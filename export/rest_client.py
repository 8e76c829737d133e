"""Transcribe WAV files through TF Serving's REST API (standard library only).

    python export/rest_client.py --url http://localhost:8501 --model contextnet FILE.wav...

Sends ``POST {url}/v1/models/{model}:predict`` with ``{"signature_name": "serving_default",
"instances": [{"b64": <base64 WAV>}, ...]}`` (TF Serving's rule for binary strings) and prints
``FILE<TAB>transcript`` per file. One bad file fails the whole request (HTTP 400 with TF Serving's
``{"error": ...}``), so each file is sent on its own unless ``--batch`` is given.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request


def predict(url: str, model: str, wavs: list[bytes], timeout: float = 120.0) -> list[dict]:
    """One REST predict call; returns TF Serving's ``predictions`` (one dict per WAV)."""
    body = json.dumps({"signature_name": "serving_default",
                       "instances": [{"b64": base64.b64encode(w).decode("ascii")} for w in wavs]}).encode()
    request = urllib.request.Request(f"{url.rstrip('/')}/v1/models/{model}:predict", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["predictions"]
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"HTTP {error.code}: {json.loads(error.read()).get('error')}") from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://localhost:8501")
    parser.add_argument("--model", default="contextnet")
    parser.add_argument("--batch", action="store_true", help="send all files in one request")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    groups = [args.files] if args.batch else [[f] for f in args.files]
    status = 0
    for group in groups:
        try:
            predictions = predict(args.url, args.model, [open(f, "rb").read() for f in group])
        except (RuntimeError, OSError) as error:
            print(f"{', '.join(group)}: {error}", file=sys.stderr)
            status = 1
            continue
        for path, prediction in zip(group, predictions):
            print(f"{path}\t{prediction['transcript']}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
