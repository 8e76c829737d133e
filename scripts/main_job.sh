#!/usr/bin/env bash
# The main job, on a fresh machine with no downloads: install the project into .venv, train a small
# ContextNet on spoken digits (FSDD from ../shared/data when present, otherwise digits synthesised
# with espeak-ng), report the held-out-speaker WER, then transcribe a held-out recording.
# Re-running resumes. Environment: MINUTES (training budget, default 30), OUT (default exp/digits).
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${MINUTES:-30}"
OUT="${OUT:-exp/digits}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
if [ ! -d "${TF_CONTEXTNET_SHARED_DATA:-../shared/data}/fsdd/recordings" ] && ! command -v espeak-ng >/dev/null; then
  echo "No ../shared/data/fsdd: the default corpus is synthesised with espeak-ng, which is missing." >&2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -q && apt-get install -y -q espeak-ng
  else
    echo "Install it (Debian/Ubuntu: sudo apt-get install -y espeak-ng) and run this again." >&2
    exit 2
  fi
fi
.venv/bin/python recipes/digits/train.py --out "$OUT" --minutes "$MINUTES"
# A glob, not `find | sort | head`: under pipefail, head closing the pipe early kills sort (SIGPIPE, exit 141).
held_out=("$OUT"/corpus/wav/test_connected/*.wav)
sample="${held_out[0]}"
echo "== contextnet transcribe $sample"
.venv/bin/contextnet transcribe --model "$OUT/model" "$sample"
awk -F'\t' -v p="wav/test_connected/$(basename "$sample")" '$1 == p {print "reference:\t" $3}' \
  "$OUT/corpus/test_connected.tsv"
