#!/usr/bin/env bash
# The main job, on a fresh machine with no downloads: install the project into .venv, then
#  - with CMU's AN4 in ../shared/data/an4 (or $TF_CONTEXTNET_SHARED_DATA/an4): train a small
#    ContextNet on AN4 (recipes/an4), report dev/test WER, transcribe a test recording;
#  - without it: say how to get AN4, and train on spoken digits instead (recipes/digits).
# Re-running resumes. Environment: MINUTES (training budget, default 30), OUT (default exp/an4 or
# exp/digits). TensorFlow's C++ start-up lines are kept off the terminal; TF_CONTEXTNET_TF_LOGS=1 shows them.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${MINUTES:-30}"
SHARED="${TF_CONTEXTNET_SHARED_DATA:-../shared/data}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .

# `contextnet` with TensorFlow's start-up lines silenced (see tf_contextnet/cli/quiet_start.py).
contextnet() {
  .venv/bin/python -c 'import sys
from tf_contextnet.cli.quiet_start import import_tensorflow_quietly
import_tensorflow_quietly()
from tf_contextnet.cli.main import main
sys.exit(main(sys.argv[1:]))' "$@"
}

if [ -f "$SHARED/an4/etc/an4_train.transcription" ]; then
  OUT="${OUT:-exp/an4}"
  .venv/bin/python recipes/an4/train.py --data "$SHARED/an4" --out "$OUT" --minutes "$MINUTES" --quiet
  relative="$(awk -F'\t' 'NR == 2 {print $1}' "$OUT/data/test.tsv")"  # relative to the manifest
  sample="$(cd "$OUT/data" && realpath "$relative")"
  echo "== contextnet transcribe $(basename "$sample")"
  contextnet transcribe --model "$OUT/model" "$sample"
  awk -F'\t' 'NR == 2 {print "reference:\t" $3}' "$OUT/data/test.tsv"
  exit 0
fi

echo "AN4 is not at $SHARED/an4: training on spoken digits instead. To train on AN4 (CMU's census" >&2
echo "database, 64 MB): curl -LO http://www.speech.cs.cmu.edu/databases/an4/an4_sphere.tar.gz &&" >&2
echo "mkdir -p ../shared/data && tar -xzf an4_sphere.tar.gz -C ../shared/data, then run this again" >&2
echo "(or set TF_CONTEXTNET_SHARED_DATA to the folder holding an4/)." >&2
OUT="${OUT:-exp/digits}"
if [ ! -d "$SHARED/fsdd/recordings" ] && ! command -v espeak-ng >/dev/null; then
  echo "No $SHARED/fsdd: the digits corpus is synthesised with espeak-ng, which is missing." >&2
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
contextnet transcribe --model "$OUT/model" "$sample"
awk -F'\t' -v p="wav/test_connected/$(basename "$sample")" '$1 == p {print "reference:\t" $3}' \
  "$OUT/corpus/test_connected.tsv"
