"""Tests of the digits recipe's corpus maker (recipes/digits/local)."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from recipe_modules import import_recipe_module

recordings = import_recipe_module("digits", "recordings")
make_corpus = import_recipe_module("digits", "make_corpus")
espeak_digits = import_recipe_module("digits", "espeak_digits")

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def read_manifest(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def tone_burst(sample_rate: int, seconds: float, lead: float, tail: float, freq: float,
               channels: int = 1) -> np.ndarray:
    """``lead`` s of silence, a ``seconds`` s tone, ``tail`` s of silence."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = 0.5 * np.sin(2 * np.pi * freq * t)
    x = np.concatenate([np.zeros(int(lead * sample_rate)), tone, np.zeros(int(tail * sample_rate))])
    return np.stack([x] * channels, axis=1) if channels > 1 else x


@pytest.fixture
def synthetic_dir(tmp_path: Path) -> Path:
    """Six speakers (one more than ../shared's FSDD) at different rates, plus broken files."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    rates = {"ann": 8000, "bob": 16000, "cy": 22050, "dee_x": 44100, "eve": 8000, "fay": 11025}
    for s, (speaker, rate) in enumerate(rates.items()):
        for digit in range(10):
            for take in range(3):
                audio = tone_burst(rate, 0.3 + 0.02 * digit, 0.2, 0.3, 200 + 50 * digit + 10 * s,
                                   channels=2 if speaker == "cy" else 1)
                sf.write(str(folder / f"{digit}_{speaker}_{take}.wav"), audio, rate)
    (folder / "hello.wav").write_bytes(b"RIFF")            # bad name
    (folder / "12_ann_0.wav").write_bytes(b"RIFF")         # digit out of range: bad name
    (folder / "3_bob_7.wav").write_bytes(b"not a wav")     # unreadable
    sf.write(str(folder / "4_bob_8.wav"), np.zeros(8000), 8000)  # silent
    (folder / "README.txt").write_text("not audio")
    return folder


def test_parse_name_accepts_underscored_speakers_and_rejects_bad_names():
    assert recordings.parse_name(Path("7_dee_x_12.wav")) == (7, "dee_x", 12)
    assert recordings.parse_name(Path("0_george_0.wav")) == (0, "george", 0)
    for bad in ("12_ann_0.wav", "a_ann_0.wav", "3_ann.wav", "3__1.wav", "3_ann_x.wav"):
        assert recordings.parse_name(Path(bad)) is None, bad


def test_trim_silence_keeps_the_tone_and_the_margin():
    x = tone_burst(16000, 0.5, lead=0.4, tail=0.6, freq=440).astype(np.float32)
    x = x + np.random.default_rng(0).normal(0, 1e-4, x.shape).astype(np.float32)
    trimmed = recordings.trim_silence(x, threshold_db=35.0, frame=160, margin=480)
    # the tone is 8000 samples; frames straddling its edges plus 480 samples of margin each side
    assert 8000 + 2 * 480 - 10 <= len(trimmed) <= 8000 + 2 * 480 + 2 * 160
    assert recordings.trim_silence(np.zeros(16000, np.float32)) is None


def test_load_reads_any_rate_as_16k_mono(tmp_path: Path):
    for rate in (8000, 11025, 22050, 44100):
        path = tmp_path / f"3_s{rate}_0.wav"
        sf.write(str(path), tone_burst(rate, 1.0, 0, 0, 300, channels=2), rate)
        report = recordings.ScanReport()
        y = recordings.load(recordings.Recording(path, 3, f"s{rate}", 0), report).audio
        assert not report.skipped and abs(len(y) - 16000) <= 2 * 480
        # a 300 Hz tone stays at 300 Hz: its FFT peak bin at 1 Hz resolution
        assert abs(np.argmax(np.abs(np.fft.rfft(y[:16000], 16000))) - 300) <= 1


def test_assemble_length_is_takes_plus_gaps_and_pads():
    config = make_corpus.CorpusConfig(test_speakers=())
    rng = np.random.default_rng(0)
    takes = [recordings.Recording(Path(f"{d}_s_0.wav"), d, "s", 0,
                                  audio=np.full(1000 * (d + 1), 0.1, np.float32)) for d in (1, 2, 3)]
    speech = sum(len(t.audio) for t in takes)
    for _ in range(20):
        n = len(make_corpus.assemble(takes, rng, config))
        low = speech + 2 * config.gap_seconds[0] * 16000 + 2 * config.pad_seconds[0] * 16000
        high = speech + 2 * config.gap_seconds[1] * 16000 + 2 * config.pad_seconds[1] * 16000
        assert low - 4 <= n <= high


def test_synthetic_folder_with_extra_speaker_and_bad_files(synthetic_dir: Path, tmp_path: Path):
    config = make_corpus.CorpusConfig(test_speakers=("eve", "fay"), connected_per_speaker=5,
                                      test_connected_per_speaker=4, dev_connected_per_speaker=2)
    out = tmp_path / "corpus"
    summary = make_corpus.build_corpus(synthetic_dir, out, config)
    assert summary["train_speakers"] == ["ann", "bob", "cy", "dee_x"]
    assert summary["recordings_used"] == 6 * 30
    assert summary["skipped_by_reason"] == {"bad name": 2, "unreadable": 1, "silent": 1}
    assert summary["ignored_non_audio"] == 1
    skipped = (out / "skipped.tsv").read_text()
    for name in ("hello.wav", "12_ann_0.wav", "3_bob_7.wav", "4_bob_8.wav"):
        assert name in skipped
    train, dev = read_manifest(out / "train.tsv"), read_manifest(out / "dev.tsv")
    test_iso, test_con = read_manifest(out / "test_isolated.tsv"), read_manifest(out / "test_connected.tsv")
    assert len(test_iso) == 2 * 30 and len(test_con) == 2 * 4
    assert {r["speaker"] for r in train} == {"ann", "bob", "cy", "dee_x"} == {r["speaker"] for r in dev}
    assert {r["speaker"] for r in test_iso + test_con} == {"eve", "fay"}
    # dev takes are kept out of train: the isolated uids never overlap
    assert not {r["path"].split("/")[-1] for r in train} & {r["path"].split("/")[-1] for r in dev}
    for row in train[:5] + test_con:
        audio, rate = sf.read(str(out / row["path"]))
        assert rate == 16000 and audio.ndim == 1
        assert abs(len(audio) / 16000 - float(row["duration_s"])) < 1e-3
    text = make_corpus.format_summary(summary, out)
    assert "SKIPPED 4 file(s)" in text and "bad name: 2" in text


def test_bad_arguments_give_clear_errors(synthetic_dir: Path, tmp_path: Path, capsys):
    with pytest.raises(ValueError, match="test speaker.*zed.*speakers there: ann, bob"):
        make_corpus.build_corpus(synthetic_dir, tmp_path / "a",
                                 make_corpus.CorpusConfig(test_speakers=("zed",)))
    everyone = ("ann", "bob", "cy", "dee_x", "eve", "fay")
    with pytest.raises(ValueError, match="none left to train on"):
        make_corpus.build_corpus(synthetic_dir, tmp_path / "b", make_corpus.CorpusConfig(test_speakers=everyone))
    with pytest.raises(ValueError, match="strict mode"):
        make_corpus.build_corpus(synthetic_dir, tmp_path / "c",
                                 make_corpus.CorpusConfig(test_speakers=("eve",)), strict=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        make_corpus.build_corpus(tmp_path / "nowhere", tmp_path / "d", make_corpus.CorpusConfig(test_speakers=()))
    assert make_corpus.main(["--data", str(synthetic_dir), "--out", str(tmp_path / "e"),
                             "--test-speakers", "zed"]) == 1
    assert "zed" in capsys.readouterr().err


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_real_fsdd_corpus(fsdd_dir: Path, tmp_path: Path):
    """On the real FSDD: held-out speakers, word transcripts matching file names, determinism."""
    source = sorted((fsdd_dir / "recordings").glob("*.wav"))
    speakers = sorted({p.stem.split("_")[1] for p in source})
    test = tuple(speakers[:2])
    # a subset keeps the test fast: takes 0-4 of every digit and speaker
    subset = tmp_path / "fsdd_subset"
    subset.mkdir()
    for p in source:
        if int(p.stem.split("_")[2]) < 5:
            shutil.copy(p, subset / p.name)
    config = make_corpus.CorpusConfig(test_speakers=test, connected_per_speaker=10, speed_factors=(),
                                      test_connected_per_speaker=10, dev_connected_per_speaker=2)
    summary = make_corpus.build_corpus(subset, tmp_path / "a", config)
    assert summary["skipped"] == 0
    assert summary["train_speakers"] == speakers[2:]
    test_iso = read_manifest(tmp_path / "a" / "test_isolated.tsv")
    assert len(test_iso) == sum(1 for p in subset.iterdir() if p.stem.split("_")[1] in test)
    for row in test_iso:
        digit = Path(row["path"]).stem.split("-iso-")[1].split("-")[0]
        assert row["transcript"] == WORDS[int(digit)] and row["speaker"] in test
    for row in read_manifest(tmp_path / "a" / "test_connected.tsv"):
        words = row["transcript"].split()
        assert 3 <= len(words) <= 7 and set(words) <= set(WORDS)
        # spliced real takes: at least ~0.2 s of audio per digit
        assert float(row["duration_s"]) > 0.2 * len(words)
    train = read_manifest(tmp_path / "a" / "train.tsv")
    assert not {r["speaker"] for r in train} & set(test)
    assert make_corpus.build_corpus(subset, tmp_path / "b", config) == summary
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    other = make_corpus.CorpusConfig(**{**make_corpus.dataclasses.asdict(config), "seed": 1,
                                        "test_speakers": test})
    make_corpus.build_corpus(subset, tmp_path / "c", other)
    assert (tmp_path / "a" / "test_connected.tsv").read_text() != (tmp_path / "c" / "test_connected.tsv").read_text()


def test_espeak_missing_names_the_install_command(monkeypatch):
    monkeypatch.setattr(espeak_digits.shutil, "which", lambda name: None)
    with pytest.raises(espeak_digits.EspeakMissing, match="apt-get install -y espeak-ng"):
        espeak_digits.espeak_binary()


def test_espeak_synthesis_makes_fsdd_style_files(tmp_path: Path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng)")
    speakers = {k: espeak_digits.SPEAKERS[k] for k in ("us-m1", "gb-f3")}
    folder = espeak_digits.synthesise_digits(tmp_path / "esp", takes=1, speakers=speakers)
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{d}_{s}_0.wav" for d in range(10) for s in speakers)
    report = recordings.ScanReport()
    loaded = [recordings.load(r, report) for r in recordings.scan(folder, report)]
    assert not report.skipped and all(r is not None and len(r.audio) > 1600 for r in loaded)


def test_speed_perturbed_training_copies(synthetic_dir: Path, tmp_path: Path):
    config = make_corpus.CorpusConfig(test_speakers=("eve",), connected_per_speaker=0,
                                      dev_connected_per_speaker=0, speed_factors=(0.8, 1.25))
    make_corpus.build_corpus(synthetic_dir, tmp_path / "c", config)
    rows = {Path(r["path"]).stem: r for r in read_manifest(tmp_path / "c" / "train.tsv")}
    plain = [uid for uid in rows if uid.startswith("ann-iso-")]
    assert plain and all(f"ann~sp0.8-{u[4:]}" in rows and f"ann~sp1.25-{u[4:]}" in rows for u in plain)
    for uid in plain:
        # same take: the speech part is 1/factor as long (padding is random, 0.1-0.4 s in all)
        base = float(rows[uid]["duration_s"])
        slow = float(rows[f"ann~sp0.8-{uid[4:]}"]["duration_s"])
        fast = float(rows[f"ann~sp1.25-{uid[4:]}"]["duration_s"])
        assert fast < base + 0.3 and slow > base - 0.3 and slow > fast
        assert rows[uid]["transcript"] == rows[f"ann~sp0.8-{uid[4:]}"]["transcript"]
