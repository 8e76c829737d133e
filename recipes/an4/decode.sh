#!/usr/bin/env bash
# Issue 12's AN4 decoding measurements with the existing commands, one step each:
#   1. lm-train     LSTM LM on EXP_DIR/data/train.tsv transcripts only (held-out: 5 % of them)
#   2. tune-fusion  LM weight λ and length bonus β on EXP_DIR/data/dev.tsv, beam 8 (never on test)
#   3. evaluate     EXP_DIR/data/test.tsv: greedy, beam 4, beam 8, beam 8 + LM (tuned λ, β) -> OUT_DIR/results.md
#   4. benchmarks/decoding.py  RTF (10 s of LibriSpeech speech) and test WER -> OUT_DIR/decoding.md
# Usage: bash recipes/an4/decode.sh MODEL_DIR EXP_DIR OUT_DIR   (e.g. exp/an4/model exp/an4 exp/an4_decode)
# Resumable: a step whose output exists is skipped (delete it to redo). Every command runs under
# `nice -n 19` (NICE= to drop it, for timings on an idle machine); PYTHON/CONTEXTNET default to .venv.
# test_unscored.tsv (test audio without a transcript) is not scored, as in the recipe's evaluate stage:
# `contextnet evaluate` would count every word decoded there as an insertion against an empty reference.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 MODEL_DIR EXP_DIR OUT_DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
abs() { python3 -c 'import os,sys; print(os.path.abspath(sys.argv[1]))' "$1"; }
MODEL=$(abs "$1") EXP=$(abs "$2") OUT=$(abs "$3")
NICE=${NICE-nice -n 19}
PY=${PYTHON:-$ROOT/.venv/bin/python} CN=${CONTEXTNET:-$ROOT/.venv/bin/contextnet}
LM="$OUT/lm" FUSION="$OUT/fusion-dev" BEAM=8
mkdir -p "$OUT"
cd "$ROOT"

# shellcheck source=../lib/step.sh
source "$ROOT/recipes/lib/step.sh"  # step NAME OUTPUT CMD...: skipped when OUTPUT exists

# 1. LM: 2 x 256 LSTM (AN4's ~850 training sentences; the paper's 3 x 4096 would only memorise them).
step lm-train "$LM/lm.json" "$CN" lm-train --model "$MODEL" --text "$EXP/data/train.tsv" --out "$LM" \
  --units 256 --layers 2 --embedding-dim 128 --dropout 0.2 --epochs 30 --batch-size 32 --quiet

# 2. λ, β on dev.
step tune-fusion "$FUSION/best.json" "$CN" tune-fusion --model "$MODEL" --lm "$LM" \
  --manifest "$EXP/data/dev.tsv" --beam $BEAM --lm-weights 0,0.1,0.2,0.3,0.4,0.5,0.7 \
  --length-bonuses 0,0.5,1,1.5 --out "$FUSION" --quiet
read -r WEIGHT BONUS < <("$PY" -c 'import json,sys; b=json.load(open(sys.argv[1])); print(b["lm_weight"], b["length_bonus"])' "$FUSION/best.json")
[ -n "${BONUS:-}" ] || { echo "no λ, β in $FUSION/best.json" >&2; exit 1; }
echo "tuned on dev: --lm-weight $WEIGHT --length-bonus $BONUS"

# 3. Test set, four decoders.
TEST="$EXP/data/test.tsv"
step eval-greedy "$OUT/eval/test-greedy/summary.json" "$CN" evaluate --model "$MODEL" --manifest "$TEST" \
  --out "$OUT/eval/test-greedy" --quiet
for beam in 4 $BEAM; do
  step eval-beam$beam "$OUT/eval/test-beam$beam/summary.json" "$CN" evaluate --model "$MODEL" --manifest "$TEST" \
    --beam $beam --out "$OUT/eval/test-beam$beam" --quiet
done
step eval-beam$BEAM-lm "$OUT/eval/test-beam$BEAM-lm/summary.json" "$CN" evaluate --model "$MODEL" \
  --manifest "$TEST" --beam $BEAM --lm "$LM" --lm-weight "$WEIGHT" --length-bonus "$BONUS" \
  --out "$OUT/eval/test-beam$BEAM-lm" --quiet

$NICE "$PY" - "$OUT" "$EXP" "$LM" "$FUSION" "$MODEL" "$ROOT/recipes/lib" <<'EOF' | tee "$OUT/results.md"
import csv, json, sys
from pathlib import Path
from tf_contextnet.decoding.language_model_directory import load_language_model
from tf_contextnet.decoding.language_model_training import encode_sentences, perplexity, read_text_lines
from tf_contextnet.text import load_tokenizer
out, exp, lm, fusion, model, lib = map(Path, sys.argv[1:])
sys.path.insert(0, str(lib))
from summary_table import HEADER, SEPARATOR, summary_cells
tokenizer = load_tokenizer(str(model / "tokenizer"))
dev, left_out = encode_sentences(read_text_lines([exp / "data" / "dev.tsv"]), tokenizer)
dev_perplexity = perplexity(load_language_model(lm, tokenizer), dev)
info, best = json.loads((lm / "lm.json").read_text()), json.loads((fusion / "best.json").read_text())
print(f"## AN4 test ({exp}/data/test.tsv), model {model}\n")
print(f"| {HEADER} |\n|{SEPARATOR}")
for name in ("greedy", "beam4", "beam8", "beam8-lm"):
    print(f"| {summary_cells(out / 'eval' / f'test-{name}' / 'summary.json')} |")
unscored = [Path(r["path"]).stem for r in csv.DictReader(open(exp / "data" / "test_unscored.tsv"), delimiter="\t")]
print(f"\nNot scored (no transcript, as in the recipe): {len(unscored)}: {', '.join(unscored)}\n")
print(f"LM: {info['config']}, {info['epochs']} epochs on {info['sentences']} training sentences; held-out "
      f"perplexity {info['held_out_perplexity']:.3f} on {info['held_out_sentences']} held-out training sentences "
      f"(train {info['train_perplexity']:.3f}); {dev_perplexity:.3f} on the {len(dev)} dev transcripts "
      f"({left_out} left out).\n")
print(f"λ = {best['lm_weight']:g}, β = {best['length_bonus']:g} tuned on dev (beam {best['beam']}): "
      f"{100 * best['wer']:.2f} % vs {100 * best['baseline_wer']:.2f} % without LM.\n")
print("### dev grid (`contextnet tune-fusion`)\n\n" + (fusion / "fusion.md").read_text())
EOF

# 4. Speed and WER in one table.
step benchmark "$OUT/decoding.md" "$PY" benchmarks/decoding.py --model "$MODEL" --lm "$LM" --lm-weight "$WEIGHT" \
  --length-bonus "$BONUS" --manifest "$TEST" --out "$OUT/decoding.md"
echo "step seconds:"; cat "$OUT/timings.tsv"
