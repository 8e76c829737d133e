"""TFLite fp16 and dynamic-range WER on the AN4 test set within 0.5 point of float (TensorFlowASR #272).

Needs a trained AN4 model directory: ``$TF_CONTEXTNET_AN4_MODEL`` or ``exp/an4/model`` (what
``python recipes/an4/train.py --out exp/an4`` writes); skips with the reason otherwise. Slow: it
converts three TFLite files and decodes the 117 scored test utterances with each.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _an4_model() -> Path:
    path = Path(os.environ.get("TF_CONTEXTNET_AN4_MODEL", ROOT / "exp" / "an4" / "model"))
    if not (path / "model.keras").is_file():
        pytest.skip(f"no trained AN4 model directory at {path} (train one with `python recipes/an4/train.py "
                    f"--out exp/an4` or set TF_CONTEXTNET_AN4_MODEL)")
    return path


def _an4_test_set(an4: Path) -> list[tuple[Path, str]]:
    """(SPHERE file, lower-cased raw transcript) of every scored AN4 test utterance."""
    scored = []
    for line in (an4 / "etc" / "an4_test.transcription").read_text().splitlines():
        match = re.fullmatch(r"\s*(.*?)\s*\((\S+)\)\s*", line)
        if match:
            words, uid = match.groups()
            speaker = uid.split("-")[1]
            scored.append((an4 / "wav" / "an4test_clstk" / speaker / f"{uid}.sph", words.lower()))
    return scored


@pytest.mark.slow
@pytest.mark.data
def test_quantised_tflite_wer_within_half_a_point_of_float(shared_data, tmp_path):
    import soundfile
    from ai_edge_litert.interpreter import Interpreter

    from tf_contextnet.inference import load_model_directory
    from tf_contextnet.metrics import word_error_rate
    from tf_contextnet.serving.tflite_export import export_tflite

    loaded = load_model_directory(_an4_model())
    test_set = _an4_test_set(shared_data / "an4")
    assert len(test_set) >= 100
    written = export_tflite(loaded, str(tmp_path / "{variant}.tflite"), ("float", "fp16", "dynamic"))
    references = [text for _, text in test_set]
    audio = [soundfile.read(path, dtype="float32")[0] for path, _ in test_set]
    rates = {}
    for variant, path in written.items():
        runner = Interpreter(model_path=path).get_signature_runner("transcribe")
        hypotheses = [loaded.tokenizer.decode_to_python(runner(waveform=a[None])["tokens"][None].astype(np.int32))[0]
                      for a in audio]
        rates[variant] = word_error_rate(references, hypotheses)
    print({k: round(100 * v, 2) for k, v in rates.items()})
    assert rates["fp16"] <= rates["float"] + 0.005
    assert rates["dynamic"] <= rates["float"] + 0.005
