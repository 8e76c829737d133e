"""The exported SavedModel serves like ``contextnet transcribe``, with TensorFlow alone, and fails cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from serving_fixtures import an4_test_files, sph_as_wav, wav_bytes

CLIENT = Path(__file__).with_name("tf_only_client.py")


@pytest.fixture(scope="module")
def signatures(loaded_saved_model):
    return loaded_saved_model.signatures


@pytest.fixture(scope="module")
def speech_files(fsdd_dir, shared_data, tmp_path_factory) -> list[Path]:
    """Four FSDD recordings (8 kHz WAV) and four AN4 test utterances (SPHERE → 16 kHz WAV)."""
    folder = tmp_path_factory.mktemp("an4_wav")
    files = sorted((fsdd_dir / "recordings").glob("*.wav"))[::500][:4]
    for sph in an4_test_files(shared_data / "an4", 4):
        target = folder / f"{sph.stem}.wav"
        target.write_bytes(sph_as_wav(sph))
        files.append(target)
    return files


def _contextnet_transcribe(model_dir, files, capsys) -> list[str]:
    from tf_contextnet.cli.main import main

    capsys.readouterr()
    assert main(["transcribe", "--model", str(model_dir), *map(str, files)]) == 0
    lines = capsys.readouterr().out.rstrip("\n").split("\n")
    return [line.split("\t", 1)[1] for line in lines]


@pytest.mark.data
def test_tensorflow_only_process_transcribes_like_contextnet_transcribe(exported, tiny_model_dir, speech_files,
                                                                        capsys):
    expected = _contextnet_transcribe(tiny_model_dir, speech_files, capsys)
    assert len({t for t in expected if t}) >= 3, f"the test model must give varied, non-empty text: {expected}"
    env = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, str(CLIENT), str(exported / "saved_model" / "3"), *map(str, speech_files)],
                            capture_output=True, text=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["leaked_modules"] == []
    assert served["transcripts"] == expected


@pytest.mark.data
def test_batched_request_equals_single_requests(signatures, speech_files):
    contents = [f.read_bytes() for f in speech_files]
    batch = signatures["serving_default"](audio=tf.constant(contents))
    for i, c in enumerate(contents):
        one = signatures["serving_default"](audio=tf.constant([c]))
        assert batch["transcript"][i].numpy() == one["transcript"][0].numpy()
        n = int(one["token_lengths"][0])
        assert int(batch["token_lengths"][i]) == n
        np.testing.assert_array_equal(batch["tokens"][i, :n], one["tokens"][0, :n])


@pytest.mark.data
def test_eight_threads_on_one_signature_give_the_serial_results(signatures, speech_files):
    serve = signatures["serving_default"]
    contents = [f.read_bytes() for f in speech_files]
    serial = [serve(audio=tf.constant([c]))["transcript"][0].numpy() for c in contents]
    results: dict[tuple[int, int], bytes] = {}
    errors = []

    def worker(w):
        try:
            for i in range(len(contents)):
                j = (i + w) % len(contents)
                results[(w, j)] = serve(audio=tf.constant([contents[j]]))["transcript"][0].numpy()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors and len(results) == 8 * len(contents)
    for (w, j), text in results.items():
        assert text == serial[j], (w, j)


@pytest.mark.parametrize("contents, message", [
    (b"", "not a WAV file"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "no fmt chunk|no data chunk|fmt chunk shorter"),
    (None, "zero samples"),
    ("nan", "NaN/Inf samples"),
    ("truncated", "truncated WAV file"),
    ("rate", "unsupported sample rate"),
])
def test_bad_audio_is_an_invalid_argument_naming_the_problem(signatures, contents, message):
    noise = np.random.default_rng(1).normal(size=4000).astype(np.float32) * 0.1
    if contents is None:
        contents = wav_bytes(np.zeros(0, np.float32), 16000)
    elif contents == "nan":
        noise[10] = np.inf
        contents = wav_bytes(noise, 16000, "FLOAT")
    elif contents == "truncated":
        contents = wav_bytes(noise, 16000)[:-100]
    elif contents == "rate":
        contents = wav_bytes(noise, 12000)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signatures["serving_default"](audio=tf.constant([wav_bytes(noise, 16000), contents]))


def test_other_encodings_and_silence_are_served(signatures):
    noise = np.random.default_rng(2).normal(size=(8000, 2)).astype(np.float32) * 0.1
    served = [signatures["serving_default"](audio=tf.constant([wav_bytes(noise, 22050, subtype)]))
              for subtype in ("FLOAT", "PCM_24", "ULAW")]
    assert all(s["tokens"].shape[0] == 1 for s in served)
    silence = signatures["serving_default"](audio=tf.constant([wav_bytes(np.zeros(16000, np.float32), 16000)]))
    assert silence["transcript"].shape == (1,)


def test_waveform_signature_errors(signatures):
    transcribe = signatures["transcribe_waveform"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="zero samples"):
        transcribe(waveform=tf.zeros([1, 100]), waveform_lengths=tf.constant([0]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN/Inf"):
        transcribe(waveform=tf.fill([1, 4000], np.nan), waveform_lengths=tf.constant([4000]))


def test_search_signatures_reproduce_the_greedy_transcript(signatures, exported):
    """A client-side greedy search over encode / predict_step / join (as a beam-search client would
    run them) gives serving_default's tokens: the step signatures are the model's."""
    from serving_fixtures import TINY_MAX_SYMBOLS

    rng = np.random.default_rng(3)
    t = np.arange(24000) / 16000
    audio = (np.sin(2 * np.pi * 600 * t * (1 + t)) * 0.3 + rng.normal(size=t.size) * 0.02).astype(np.float32)
    expected = signatures["transcribe_waveform"](waveform=tf.constant(audio[None]),
                                                 waveform_lengths=tf.constant([audio.size]))
    encoded = signatures["encode"](waveform=tf.constant(audio[None]), waveform_lengths=tf.constant([audio.size]))
    manifest = json.loads((exported / "manifest.json").read_text())
    layers, units = manifest["predict_step_state"]["layers"], manifest["predict_step_state"]["units"]
    step = signatures["predict_step"](token=tf.constant([0]), state=tf.zeros([layers, 2, 1, units]))
    tokens = []
    for f in range(int(encoded["encoded_lengths"][0])):
        for _ in range(TINY_MAX_SYMBOLS):
            logits = signatures["join"](encoded=encoded["encoded"][:, f], prediction=step["prediction"])["logits"]
            k = int(np.argmax(logits[0]))
            if k == 0:
                break
            tokens.append(k)
            step = signatures["predict_step"](token=tf.constant([k]), state=step["state"])
    n = int(expected["token_lengths"][0])
    assert n > 0
    assert tokens == expected["tokens"][0, :n].numpy().tolist()


@pytest.mark.slow
@pytest.mark.data
def test_keras_and_saved_model_agree_on_20_an4_and_20_fsdd_files(signatures, tiny_model_dir, fsdd_dir, shared_data,
                                                                  tmp_path):
    """Identical transcripts, and first-step logits over every frame within 1e-3 of their largest magnitude."""
    from tf_contextnet.decoding import greedy_decode
    from tf_contextnet.features import load_audio
    from tf_contextnet.inference import load_model_directory, waveform_features

    loaded = load_model_directory(tiny_model_dir)
    files = sorted((fsdd_dir / "recordings").glob("*.wav"))[::100][:20]
    for sph in an4_test_files(shared_data / "an4", 20):
        files.append(tmp_path / f"{sph.stem}.wav")
        files[-1].write_bytes(sph_as_wav(sph))
    assert len(files) == 40
    start = signatures["predict_step"](token=tf.constant([0]), state=loaded.model.initial_state(1))["prediction"]
    spoken = 0
    for path in files:
        audio = load_audio(path, 16000)
        features, lengths = waveform_features(loaded, tf.constant(audio[None]), tf.constant([audio.size]))
        tokens, token_lengths = greedy_decode(loaded.model, features, lengths, 2)
        expected = loaded.tokenizer.decode_to_python(tokens)[0]
        spoken += bool(expected)
        served = signatures["serving_default"](audio=tf.constant([path.read_bytes()]))
        assert served["transcript"][0].numpy().decode() == expected, path
        encoded, _ = loaded.model.transcribe(features, lengths)
        keras_logits = loaded.model.join(encoded[0], loaded.model.predict_step(tf.zeros([1], tf.int32),
                                                                               loaded.model.initial_state(1))[0])
        wave = signatures["encode"](waveform=tf.constant(audio[None]), waveform_lengths=tf.constant([audio.size]))
        served_logits = signatures["join"](encoded=wave["encoded"][0],
                                           prediction=tf.repeat(start, tf.shape(wave["encoded"])[1], axis=0))["logits"]
        scale = float(np.abs(keras_logits).max())
        np.testing.assert_allclose(served_logits.numpy(), keras_logits.numpy(), rtol=0, atol=1e-3 * scale)
    assert spoken >= 30


@pytest.mark.slow
@pytest.mark.data
def test_sixty_seconds_of_speech_is_transcribed(signatures, librispeech_audio_dir):
    import soundfile

    parts, total = [], 0
    for path in sorted(librispeech_audio_dir.rglob("*.flac")):
        audio = soundfile.read(path, dtype="float32")[0]
        parts.append(audio)
        total += audio.size
        if total >= 60 * 16000:
            break
    audio = np.concatenate(parts)[:60 * 16000]
    served = signatures["serving_default"](audio=tf.constant([wav_bytes(audio, 16000)]))
    assert int(served["token_lengths"][0]) > 0 and served["transcript"][0].numpy()
