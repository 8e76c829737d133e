"""``contextnet transcribe`` and the model directory: files at any rate/format, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from tf_contextnet.cli.main import main
from tf_contextnet.decoding import greedy_decode
from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization, load_audio
from tf_contextnet.models.contextnet_transducer import ContextNetTransducer
from tf_contextnet.text import CharacterTokenizer
from tf_contextnet.training.model_directory import load_model_directory, save_model_directory


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An untrained tiny model saved as a model directory (its transcripts are arbitrary but fixed)."""
    tf.keras.utils.set_random_seed(0)
    tokenizer = CharacterTokenizer.train(["zero one two three four five six seven eight nine"])
    model = ContextNetTransducer.from_preset("contextnet_s", tokenizer.vocabulary_size, alpha=0.05,
                                             prediction_embedding_dim=8, prediction_units=8, joint_dim=8)
    directory = tmp_path_factory.mktemp("model")
    save_model_directory(directory, model, tokenizer, feature_extractor=LogMelSpectrogram(),
                         normalization=PerUtteranceNormalization(), decoding={"max_symbols_per_frame": 2})
    return directory


@pytest.fixture(scope="module")
def loaded(model_dir):
    return load_model_directory(model_dir)


def _direct(loaded, path, rate=16000):
    audio = load_audio(path, rate)
    features, lengths = PerUtteranceNormalization()(LogMelSpectrogram()((audio[None], tf.constant([len(audio)]))))
    tokens, _ = greedy_decode(loaded.model, features, lengths, 2)
    return loaded.tokenizer.decode_to_python(tokens)[0]


def test_wav_and_flac_at_other_rates(model_dir, loaded, fsdd_dir, tmp_path, capsys):
    wav = fsdd_dir / "recordings" / "4_george_7.wav"  # 8 kHz
    audio, rate = soundfile.read(wav, dtype="float32")
    flac = tmp_path / "clip.flac"
    soundfile.write(flac, np.repeat(audio, 3), rate * 3, format="FLAC")  # 24 kHz FLAC
    assert main(["transcribe", "--model", str(model_dir), str(wav), str(flac)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [f"{wav}\t{_direct(loaded, wav)}", f"{flac}\t{_direct(loaded, flac)}"]


def test_unreadable_file_is_reported_and_others_still_transcribed(model_dir, fsdd_dir, tmp_path, capsys):
    bad = tmp_path / "not_audio.wav"
    bad.write_text("hello")
    good = fsdd_dir / "recordings" / "1_lucas_0.wav"
    assert main(["transcribe", "--model", str(model_dir), str(bad), str(good)]) == 1
    captured = capsys.readouterr()
    assert str(bad) in captured.err and "not a readable audio file" in captured.err
    assert captured.out.startswith(f"{good}\t")


def test_not_a_model_directory(tmp_path, capsys):
    assert main(["transcribe", "--model", str(tmp_path), "x.wav"]) == 2
    assert "model.keras is missing" in capsys.readouterr().err


def test_model_directory_round_trip_keeps_weights_and_config(loaded):
    assert isinstance(loaded.model, ContextNetTransducer)
    assert loaded.config["decoding"] == {"max_symbols_per_frame": 2}
    assert loaded.config["sample_rate"] == 16000
    assert isinstance(loaded.normalization, PerUtteranceNormalization)
    assert loaded.tokenizer.vocabulary == CharacterTokenizer.train(
        ["zero one two three four five six seven eight nine"]).vocabulary
