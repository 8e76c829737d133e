"""Tests of the digits recipe's speaker-generalisation probe (recipes/digits/local/probe_classifier.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from recipe_modules import import_recipe_module

make_corpus = import_recipe_module("digits", "make_corpus")
probe_classifier = import_recipe_module("digits", "probe_classifier")

SPEAKERS = ("ann", "bob", "cy", "dan")


@pytest.fixture(autouse=True)
def digits_local_package():
    """The probe imports ``local.experiment`` when it runs: make ``local`` the digits recipe's again
    (another recipe's tests may have switched it since this module was collected)."""
    import_recipe_module("digits", "experiment")


def write_tone_digits(folder: Path, tone_of_digit: dict[str, list[float]], takes: int = 4) -> Path:
    """``{digit}_{speaker}_{take}.wav``: digit ``d`` of ``speaker`` is a tone at ``tone_of_digit[speaker][d]`` Hz."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for speaker, tones in tone_of_digit.items():
        for digit, freq in enumerate(tones):
            for take in range(takes):
                t = np.arange(int(0.3 * 16000)) / 16000
                tone = 0.3 * np.sin(2 * np.pi * freq * (1 + 0.01 * rng.standard_normal()) * t)
                audio = np.concatenate([np.zeros(1600), tone, np.zeros(1600)])
                sf.write(str(folder / f"{digit}_{speaker}_{take}.wav"), audio, 16000)
    return folder


def corpus(tmp_path: Path, tone_of_digit: dict[str, list[float]]) -> Path:
    data = write_tone_digits(tmp_path / "recordings", tone_of_digit)
    config = make_corpus.CorpusConfig(test_speakers=("dan",), connected_per_speaker=0, test_connected_per_speaker=0,
                                      dev_connected_per_speaker=0, speed_factors=())
    make_corpus.build_corpus(data, tmp_path / "corpus", config)
    return tmp_path / "corpus"


def spread(offset: float) -> list[float]:
    """Ten tones a third of an octave apart, shifted by ``offset`` Hz (a speaker's 'voice')."""
    return [300.0 * 2 ** (d / 3) + offset for d in range(10)]


@pytest.mark.slow  # trains the probe CNN for ~60 s; the error path below stays fast
def test_probe_generalises_when_the_held_out_speaker_shares_the_mapping(tmp_path: Path):
    tones = {speaker: spread(10.0 * i) for i, speaker in enumerate(SPEAKERS)}
    errors, epochs, trained_on = probe_classifier.probe(corpus(tmp_path, tones), seconds=600.0, seed=0,
                                                        max_epochs=150)
    assert trained_on == ["ann", "bob", "cy"]
    assert set(errors) == {"dan"} and epochs == 150
    assert errors["dan"] <= 0.15


@pytest.mark.slow
def test_probe_reports_failure_when_the_held_out_speaker_differs(tmp_path: Path):
    """Negative control: the held-out speaker says every digit with another digit's tone."""
    tones = {speaker: spread(10.0 * i) for i, speaker in enumerate(SPEAKERS)}
    tones["dan"] = spread(30.0)[::-1]  # digit d sounds like the others' 9 - d
    errors, _, _ = probe_classifier.probe(corpus(tmp_path, tones), seconds=600.0, seed=0, max_epochs=150)
    assert errors["dan"] >= 0.7


def test_probe_names_a_manifest_without_isolated_digits(tmp_path: Path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "train.tsv").write_text("path\tduration_s\ttranscript\tspeaker\n"
                                      "wav/train/ann-con-0.wav\t1.0\tone two\tann\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"train\.tsv: no isolated-digit utterances"):
        probe_classifier.load_isolated(folder, "train.tsv")
