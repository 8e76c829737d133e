#!/usr/bin/env bash
# LibriSpeech → TFRecords + WordPiece 1k, for the ContextNet recipe (icefall-style stages).
#
# Usage:
#   recipes/librispeech/prepare.sh --librispeech /data/LibriSpeech --out data/librispeech \
#       [--stage 0] [--stop-stage 2] [--vocab-size 1000] [--workers 2] \
#       [--train-splits "train-clean-100 train-clean-360 train-other-500"] \
#       [--eval-splits "dev-clean dev-other test-clean test-other"]
#
# Nothing is downloaded: --librispeech must hold the splits as extracted from OpenSLR SLR12
# (https://www.openslr.org/12): <split>/<speaker>/<chapter>/*.flac + *.trans.txt. Stage 0 checks
# them and prints the download commands for any split that is missing.
#
# Stages (each resumable; re-running skips finished work):
#   0  check that every split is present under --librispeech
#   1  contextnet prepare: each split → <out>/tfrecords/<split>/ (16 kHz int16 PCM + transcripts)
#   2  contextnet tokenizer: WordPiece (--vocab-size, paper: 1k) on the training transcripts → <out>/tokenizer
set -euo pipefail

librispeech=""
out=""
stage=0
stop_stage=2
vocab_size=1000
workers=2
train_splits="train-clean-100 train-clean-360 train-other-500"
eval_splits="dev-clean dev-other test-clean test-other"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --librispeech) librispeech="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --stage) stage="$2"; shift 2 ;;
    --stop-stage) stop_stage="$2"; shift 2 ;;
    --vocab-size) vocab_size="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --train-splits) train_splits="$2"; shift 2 ;;
    --eval-splits) eval_splits="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$librispeech" || -z "$out" ]]; then
  echo "error: --librispeech DIR and --out DIR are required (see --help)" >&2
  exit 2
fi
contextnet="${CONTEXTNET:-contextnet}"
log() { echo "[prepare.sh stage $1] $2"; }

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  missing=()
  for split in $train_splits $eval_splits; do
    if ! compgen -G "$librispeech/$split/*/*/*.trans.txt" > /dev/null; then missing+=("$split"); fi
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "error: LibriSpeech split(s) missing under $librispeech: ${missing[*]}" >&2
    echo "Download and extract them (about 60 GB for all of 960 h), for example:" >&2
    for split in "${missing[@]}"; do
      echo "  wget https://www.openslr.org/resources/12/$split.tar.gz && tar -xzf $split.tar.gz  # → LibriSpeech/$split" >&2
    done
    exit 1
  fi
  log 0 "all splits present under $librispeech: $train_splits $eval_splits"
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  for split in $train_splits $eval_splits; do
    log 1 "TFRecords for $split"
    "$contextnet" prepare "$librispeech/$split" "$out/tfrecords/$split" --name "$split" --workers "$workers"
  done
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  sources=()
  for split in $train_splits; do sources+=("$librispeech/$split"); done
  log 2 "WordPiece tokenizer ($vocab_size ids) on ${train_splits}"
  "$contextnet" tokenizer "${sources[@]}" --kind wordpiece --vocabulary-size "$vocab_size" --output "$out/tokenizer"
fi
