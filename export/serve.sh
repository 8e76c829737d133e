#!/usr/bin/env bash
# Serve an export directory (contextnet export --out OUT) with TF Serving >= 2.21.
#   bash export/serve.sh OUT            # the binary, if installed
#   DOCKER=1 bash export/serve.sh OUT   # the tensorflow/serving image
# gRPC on 8500, REST on 8501; the warm-up request in saved_model/<N>/assets.extra is replayed first.
set -euo pipefail
OUT=$(cd "${1:?usage: serve.sh EXPORT_DIR}" && pwd)
if [[ "${DOCKER:-0}" == 1 ]]; then
  exec docker run --rm -p 8500:8500 -p 8501:8501 -v "$OUT/saved_model:/models/contextnet" \
    -e MODEL_NAME=contextnet tensorflow/serving:2.21.0 --enable_model_warmup=true
fi
exec tensorflow_model_server --port=8500 --rest_api_port=8501 \
  --model_config_file="$OUT/models.config" --enable_model_warmup=true
