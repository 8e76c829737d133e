#!/usr/bin/env bash
# AN4 sweep over width α × kernel size on 2 CPU cores, then seed noise for the best two.
#
#   bash recipes/sweeps/run.sh                 # the real run: ~65 min on 2 idle cores (README.md)
#   SMOKE=1 bash recipes/sweeps/run.sh         # minutes: tiny models, a few steps, 2 trials
#
# Stage 1 uses the AN4 recipe's data stages (recipes/an4/train.py --stop-after tfrecords): its
# TFRecords (train_sp, dev, test) and tokenizer under $AN4 are reused when they exist. By default
# $AN4 is the recipe's 60-minute run (exp/an4_60) when that folder holds them, else exp/an4.
# Every stage resumes when re-run with the same settings.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
prepared() { [[ -f "$1/tfrecords/dev/index.json" && -f "$1/tfrecords/train_sp/index.json" \
                && -f "$1/lang/tokenizer/tokenizer.json" ]]; }
if [[ -z "${AN4:-}" ]]; then
  if prepared exp/an4_60; then AN4=exp/an4_60; else AN4=exp/an4; fi   # the AN4 recipe's --out
fi
OUT=${OUT:-exp/sweeps/an4}
TUNER=${TUNER:-random}
if [[ "${SMOKE:-0}" == 1 ]]; then
  SPACE=${SPACE:-recipes/sweeps/space_smoke.yaml}
  OUT=${OUT_SMOKE:-exp/sweeps/an4-smoke}
  TRIALS=${TRIALS:-2}; STEPS=${STEPS:-4}; EPOCH_STEPS=${EPOCH_STEPS:-2}; MIN_STEPS=2; RESEED_BEST=1
else
  # 6 trials + 2 re-seeded = 8 trainings of STEPS steps each (README.md, "Cost on 2 cores").
  SPACE=${SPACE:-recipes/sweeps/space_an4.yaml}
  TRIALS=${TRIALS:-6}; STEPS=${STEPS:-750}; EPOCH_STEPS=${EPOCH_STEPS:-250}; MIN_STEPS=200; RESEED_BEST=2
fi

echo "== stage 1: AN4 data ($AN4)"
if ! prepared "$AN4"; then
  $PYTHON recipes/an4/train.py --out "$AN4" --stop-after tfrecords
fi

echo "== stage 2: sweep ($TUNER, $TRIALS trials of $STEPS steps) -> $OUT"
$PYTHON -m tf_contextnet.cli.main sweep --space "$SPACE" \
  --train "$AN4/tfrecords/train_sp" --valid "$AN4/tfrecords/dev" --tokenizer "$AN4/lang/tokenizer" \
  --out "$OUT" --tuner "$TUNER" --max-trials "$TRIALS" \
  --steps-per-trial "$STEPS" --steps-per-epoch "$EPOCH_STEPS" --min-trial-steps "$MIN_STEPS" --quiet

echo "== stage 3: seed noise (best $RESEED_BEST with seed 1)"
$PYTHON recipes/sweeps/reseed.py --sweep "$OUT" --space "$SPACE" \
  --train "$AN4/tfrecords/train_sp" --valid "$AN4/tfrecords/dev" --tokenizer "$AN4/lang/tokenizer" \
  --steps-per-trial "$STEPS" --steps-per-epoch "$EPOCH_STEPS" --min-trial-steps "$MIN_STEPS" \
  --seed 1 --best "$RESEED_BEST"

echo "== done: $OUT/results.md, $OUT/pareto.png, $OUT/reseed.md, $OUT/best_model"
cat "$OUT/results.md"
