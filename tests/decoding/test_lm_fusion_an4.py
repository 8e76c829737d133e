"""Acceptance (slow, real speech): shallow fusion with an LSTM LM lowers AN4 test WER.

An under-trained AN4 model is trained inside the test (the AN4 recipe, ``--minutes`` from
``TF_CONTEXTNET_AN4_FUSION_MINUTES``, default 30); an LSTM LM is trained on the AN4 training
transcripts; λ > 0 and β are chosen on the dev set (never on test); then beam search with the LM
must give a strictly lower test WER than the same beam without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_lm_fusion_lowers_an4_test_wer(shared_data, tmp_path):
    an4 = shared_data / "an4"
    if not (an4 / "etc").is_dir():
        pytest.skip(f"AN4 is absent from {shared_data}")
    from tf_contextnet.cli.tune_fusion import tune_fusion
    from tf_contextnet.decoding.language_model_directory import load_language_model
    from tf_contextnet.decoding.language_model_training import read_text_lines, train_language_model
    from tf_contextnet.inference import load_model_directory
    from tf_contextnet.inference.evaluate import evaluate, make_decoder, utterances_from_manifest

    out = tmp_path / "an4"
    minutes = os.environ.get("TF_CONTEXTNET_AN4_FUSION_MINUTES", "30")
    run = subprocess.run([sys.executable, str(ROOT / "recipes" / "an4" / "train.py"), "--data", str(an4), "--out",
                          str(out), "--minutes", minutes, "--speed-factors", "", "--stop-after", "average", "--quiet"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    loaded = load_model_directory(out / "model")
    data = out / "data"
    train_language_model(read_text_lines([data / "train.tsv"]), loaded.tokenizer, tmp_path / "lm", epochs=30,
                         batch_size=32, embedding_dim=128, units=256, num_layers=2, dropout=0.2,
                         held_out_lines=read_text_lines([data / "dev.tsv"]), verbose=0)
    lm = load_language_model(tmp_path / "lm", loaded.tokenizer)
    beam = 4
    rows = tune_fusion(loaded, utterances_from_manifest(data / "dev.tsv"), lm, beam, [0.1, 0.2, 0.3, 0.5, 0.7],
                       [0.0, 0.5, 1.0], progress=False)
    best = min((r for r in rows if r["lm_weight"] > 0), key=lambda r: (r["wer"], r["cer"], r["lm_weight"]))
    test = utterances_from_manifest(data / "test.tsv")
    plain = evaluate(loaded, test, make_decoder(loaded.model, beam)[0], progress=False)
    fused = evaluate(loaded, test, make_decoder(loaded.model, beam, 4, lm, best["lm_weight"], best["length_bonus"])[0],
                     progress=False)
    print(f"AN4 test WER, beam {beam}: {100 * plain.words.rate:.2f}% without LM, {100 * fused.words.rate:.2f}% with "
          f"LM (lambda {best['lm_weight']}, beta {best['length_bonus']}, chosen on dev)")
    assert 0 < plain.words.rate < 1.5, "degenerate model: nothing to improve or nothing recognised"
    assert fused.words.rate < plain.words.rate
