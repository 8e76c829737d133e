#!/usr/bin/env bash
# Beam search and LSTM-LM shallow fusion on the digits recipe's held-out speakers (issue 12), with
# the package's commands, one step each:
#   1. lm-train     LSTM LM on EXP_DIR/corpus/train.tsv transcripts only (held-out: 5 % of them)
#   2. tune-fusion  LM weight λ and length bonus β on EXP_DIR/corpus/dev.tsv, beam 8 (never on test)
#   3. evaluate     test_isolated.tsv and test_connected.tsv: greedy, beam 4, beam 8, beam 8 + LM
#                   (the tuned λ, β) -> OUT_DIR/results.md
# Usage: bash recipes/digits/decode.sh EXP_DIR OUT_DIR   (e.g. exp/digits exp/digits_decode)
#   EXP_DIR is train.py's --out: its model/ and corpus/ are read, nothing in it is written.
# Resumable: a step whose output exists is skipped (delete it to redo). Every command runs under
# `nice -n 19` (NICE= to drop it); CONTEXTNET and PYTHON default to the project's .venv.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 EXP_DIR OUT_DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
abs() { python3 -c 'import os,sys; print(os.path.abspath(sys.argv[1]))' "$1"; }
EXP=$(abs "$1") OUT=$(abs "$2")
NICE=${NICE-nice -n 19}
PY=${PYTHON:-$ROOT/.venv/bin/python} CN=${CONTEXTNET:-$ROOT/.venv/bin/contextnet}
MODEL="$EXP/model" CORPUS="$EXP/corpus" LM="$OUT/lm" FUSION="$OUT/fusion-dev" BEAM=8
for need in "$MODEL/config.json" "$CORPUS/train.tsv" "$CORPUS/dev.tsv"; do
  [ -e "$need" ] || { echo "$need is missing: run recipes/digits/train.py --out $1 first" >&2; exit 2; }
done
mkdir -p "$OUT"
cd "$ROOT"

# shellcheck source=../lib/step.sh
source "$ROOT/recipes/lib/step.sh"  # step NAME OUTPUT CMD...: skipped when OUTPUT exists

# 1. LM: the sentences are digit strings, so a small LSTM is plenty.
step lm-train "$LM/lm.json" "$CN" lm-train --model "$MODEL" --text "$CORPUS/train.tsv" --out "$LM" \
  --units 128 --layers 1 --embedding-dim 64 --epochs 10 --batch-size 64 --quiet

# 2. λ, β on dev (held-out takes of the training speakers).
step tune-fusion "$FUSION/best.json" "$CN" tune-fusion --model "$MODEL" --lm "$LM" \
  --manifest "$CORPUS/dev.tsv" --beam $BEAM --lm-weights 0,0.1,0.2,0.3,0.5 --length-bonuses 0,0.5,1 \
  --out "$FUSION" --quiet
read -r WEIGHT BONUS < <("$PY" -c 'import json,sys; b=json.load(open(sys.argv[1])); print(b["lm_weight"], b["length_bonus"])' "$FUSION/best.json")
[ -n "${BONUS:-}" ] || { echo "no λ, β in $FUSION/best.json" >&2; exit 1; }
echo "tuned on dev: --lm-weight $WEIGHT --length-bonus $BONUS"

# 3. The held-out speakers' isolated digits and connected strings, four decoders each.
for split in test_isolated test_connected; do
  TEST="$CORPUS/$split.tsv"
  step "$split-greedy" "$OUT/eval/$split-greedy/summary.json" "$CN" evaluate --model "$MODEL" --manifest "$TEST" \
    --out "$OUT/eval/$split-greedy" --quiet
  for beam in 4 $BEAM; do
    step "$split-beam$beam" "$OUT/eval/$split-beam$beam/summary.json" "$CN" evaluate --model "$MODEL" \
      --manifest "$TEST" --beam $beam --out "$OUT/eval/$split-beam$beam" --quiet
  done
  step "$split-beam$BEAM-lm" "$OUT/eval/$split-beam$BEAM-lm/summary.json" "$CN" evaluate --model "$MODEL" \
    --manifest "$TEST" --beam $BEAM --lm "$LM" --lm-weight "$WEIGHT" --length-bonus "$BONUS" \
    --out "$OUT/eval/$split-beam$BEAM-lm" --quiet
done

$NICE "$PY" - "$OUT" "$EXP" "$LM" "$FUSION" "$ROOT/recipes/lib" <<'EOF' | tee "$OUT/results.md"
import json, sys
from pathlib import Path
out, exp, lm, fusion, lib = map(Path, sys.argv[1:])
sys.path.insert(0, str(lib))
from summary_table import HEADER, SEPARATOR, summary_cells
info, best = json.loads((lm / "lm.json").read_text()), json.loads((fusion / "best.json").read_text())
print(f"## Held-out speakers ({exp}/corpus), model {exp}/model\n")
print(f"| test set | {HEADER} |\n|---|{SEPARATOR}")
for split in ("test_isolated", "test_connected"):
    for name in ("greedy", "beam4", "beam8", "beam8-lm"):
        print(f"| {split} | {summary_cells(out / 'eval' / f'{split}-{name}' / 'summary.json')} |")
print(f"\nLM: {info['config']}, {info['epochs']} epochs on {info['sentences']} training sentences; held-out "
      f"perplexity {info['held_out_perplexity']:.3f} on {info['held_out_sentences']} held-out training sentences.\n")
print(f"λ = {best['lm_weight']:g}, β = {best['length_bonus']:g} tuned on dev (beam {best['beam']}): "
      f"{100 * best['wer']:.2f} % vs {100 * best['baseline_wer']:.2f} % without LM.\n")
print("### dev grid (`contextnet tune-fusion`)\n\n" + (fusion / "fusion.md").read_text())
EOF
echo "step seconds:"; cat "$OUT/timings.tsv"
