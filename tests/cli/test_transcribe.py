"""``contextnet transcribe`` and the model directory: files at any rate/format, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from tf_contextnet.cli.main import main
from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization, load_audio
from tf_contextnet.models import ContextNetTransducer, encoder_output_lengths, transducer_parts
from tf_contextnet.text import CharacterTokenizer
from tf_contextnet.training.model_directory import load_model_directory, save_model_directory

VOCABULARY_TEXT = "zero one two three four five six seven eight nine"
EMITTED = "e"  # the forced joint's only non-blank token
MAX_SYMBOLS = 2


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny untrained model whose joint is forced to emit ``EMITTED`` at every step (output kernel 0,
    bias favouring it), so greedy decoding writes it MAX_SYMBOLS times per encoder frame."""
    tf.keras.utils.set_random_seed(0)
    tokenizer = CharacterTokenizer.train([VOCABULARY_TEXT])
    model = ContextNetTransducer(tokenizer.vocabulary_size, alpha=1 / 32, prediction_embedding_dim=8,
                                 prediction_units=8, joint_dim=8)
    model.build()
    output = transducer_parts(model).joint_network.output_projection
    kernel, bias = output.get_weights()
    bias = np.zeros_like(bias)
    bias[int(tokenizer.encode([EMITTED])[0][0])] = 10.0
    output.set_weights([np.zeros_like(kernel), bias])
    directory = tmp_path_factory.mktemp("model")
    save_model_directory(directory, model, tokenizer, feature_extractor=LogMelSpectrogram(),
                         normalization=PerUtteranceNormalization(), decoding={"max_symbols_per_frame": MAX_SYMBOLS})
    return directory


@pytest.fixture(scope="module")
def loaded(model_dir):
    return load_model_directory(model_dir)


def _tone(path, rate: int, seconds: float, fmt: str | None = None):
    t = np.arange(int(rate * seconds)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format=fmt)
    return path


def _expected(path) -> str:
    """``EMITTED`` MAX_SYMBOLS times per encoder frame of the file's 16 kHz audio."""
    samples = len(load_audio(path, 16000))
    _, frames = LogMelSpectrogram()((tf.zeros([1, samples]), tf.constant([samples])))
    return EMITTED * (MAX_SYMBOLS * int(encoder_output_lengths(frames)[0]))


def test_wav_and_flac_at_other_rates(model_dir, tmp_path, capsys):
    wav = _tone(tmp_path / "tone.wav", 8000, 0.6)
    flac = _tone(tmp_path / "clip.flac", 24000, 0.9, "FLAC")
    assert main(["transcribe", "--model", str(model_dir), str(wav), str(flac)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    expected = [_expected(wav), _expected(flac)]
    assert len(expected[0]) >= 10 and len(expected[1]) > len(expected[0])  # non-empty, length-dependent
    assert lines == [f"{wav}\t{expected[0]}", f"{flac}\t{expected[1]}"]


def test_unreadable_file_is_reported_and_others_still_transcribed(model_dir, tmp_path, capsys):
    bad = tmp_path / "not_audio.wav"
    bad.write_text("hello")
    good = _tone(tmp_path / "good.wav", 16000, 0.5)
    assert main(["transcribe", "--model", str(model_dir), str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    assert str(bad) in captured.err and "not a readable audio file" in captured.err
    assert captured.out == f"{good}\t{_expected(good)}\n"


def test_not_a_model_directory(tmp_path, capsys):
    assert main(["transcribe", "--model", str(tmp_path), "x.wav"]) == 2
    assert "model.keras is missing" in capsys.readouterr().err


def test_model_directory_round_trip_keeps_weights_and_config(loaded):
    assert isinstance(loaded.model, ContextNetTransducer)
    assert loaded.config["decoding"] == {"max_symbols_per_frame": MAX_SYMBOLS}
    assert loaded.config["sample_rate"] == 16000
    assert isinstance(loaded.normalization, PerUtteranceNormalization)
    assert loaded.tokenizer.vocabulary == CharacterTokenizer.train([VOCABULARY_TEXT]).vocabulary
