"""``evaluate`` / ``contextnet evaluate`` on a tiny model directory and a manifest made in the test.

The hypotheses are checked against the lead's one-file greedy path (``transcribe_file``), the
totals against jiwer on the normalised texts: the evaluation must score raw transcripts through
the normaliser, drop nothing, and count what the tokenizer cannot represent.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from tf_contextnet.cli.main import main
from tf_contextnet.data import ManifestEntry, write_manifest
from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization
from tf_contextnet.inference import load_model_directory, save_model_directory, transcribe_file
from tf_contextnet.decoding import greedy_decode
from tf_contextnet.inference.evaluate import evaluate, score_utterance, utterances_from_manifest
from tf_contextnet.models.contextnet_transducer import ContextNetTransducer
from tf_contextnet.text import CharacterTokenizer, TextNormalizer

jiwer = pytest.importorskip("jiwer", reason="jiwer is in the dev extra")

TRANSCRIPTS = ["Zero, ONE two!", "three-four", "nine's five.", "Quick six", "", "seven eight"]
SPEAKERS = ["ann", "bob", "ann", "bob", "cy", "cy"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A model directory (untrained tiny ContextNet whose joint bias favours labels, so it emits) and a
    manifest of noise/tone recordings with raw, punctuated transcripts."""
    tf.keras.utils.set_random_seed(0)
    root = tmp_path_factory.mktemp("evaluate")
    tokenizer = CharacterTokenizer.train(["zero one two three four five six seven eight nine '"])
    model = ContextNetTransducer.from_preset("contextnet_s", tokenizer.vocabulary_size, alpha=0.05,
                                             prediction_embedding_dim=8, prediction_units=8, joint_dim=8)
    joint = model.parts().joint_network
    bias = joint.output_projection.bias
    bias.assign(np.where(np.arange(tokenizer.vocabulary_size) == 0, -1.0, 0.0).astype("float32"))
    model_dir = root / "model"
    save_model_directory(model_dir, model, tokenizer, feature_extractor=LogMelSpectrogram(),
                         normalization=PerUtteranceNormalization(), decoding={"max_symbols_per_frame": 2})
    rng = np.random.default_rng(0)
    entries = []
    for i, (text, speaker) in enumerate(zip(TRANSCRIPTS, SPEAKERS)):
        n = int(16000 * (0.4 + 0.2 * i))
        t = np.arange(n) / 16000
        audio = 0.3 * np.sin(2 * np.pi * (200 + 150 * i) * t) + 0.05 * rng.normal(size=n)
        path = root / f"u{i}.wav"
        soundfile.write(path, audio.astype("float32"), 16000, subtype="PCM_16")
        entries.append(ManifestEntry(str(path), text, n / 16000, speaker))
    write_manifest(entries, root / "test.tsv")
    return model_dir, root / "test.tsv", entries


def test_scores_raw_transcripts_like_jiwer_and_drops_nothing(corpus, tmp_path):
    model_dir, manifest, entries = corpus
    loaded = load_model_directory(model_dir)
    # the encoder runs eagerly (tracing 23 blocks costs a minute); the search is the library's graph
    report = evaluate(loaded, utterances_from_manifest(manifest), lambda f, n: greedy_decode(loaded.model, f, n, 4),
                      batch_size=4, progress=False)
    report.write(tmp_path / "out")
    normalize = TextNormalizer()
    hypotheses = [transcribe_file(loaded, e.audio_path, 4) for e in entries]
    assert [r.hypothesis for r in report.results] == hypotheses
    assert any(h.strip() for h in hypotheses), "degenerate test: the model emitted nothing"
    assert [r.reference for r in report.results] == TRANSCRIPTS  # raw, not decoded from ids
    refs, hyps = [normalize(t) for t in TRANSCRIPTS], [normalize(h) for h in hypotheses]
    expected = jiwer.process_words(refs, hyps)
    words = report.words
    assert words.edits == expected.substitutions + expected.deletions + expected.insertions
    assert words.reference_length == sum(len(r.split()) for r in refs) == 11
    chars = jiwer.process_characters([r for r in refs if r], [h for r, h in zip(refs, hyps) if r])
    empty_insertions = sum(len(h) for r, h in zip(refs, hyps) if not r)
    assert report.characters.edits == chars.substitutions + chars.deletions + chars.insertions + empty_insertions
    assert report.sentences == (sum(r.split() != h.split() for r, h in zip(refs, hyps)), 6)
    assert report.unrepresentable == ["u3"]  # "quick": q, c, k are not in the character set
    assert report.real_time_factor > 0
    speakers = report.speakers()
    assert sorted(speakers) == ["ann", "bob", "cy"]
    assert sum(s.words.reference_length for s in speakers.values()) == 11
    text = report.format()
    assert "| ann | 2 | 5 |" in text and "u3" in text and "SER" in text
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [r["uid"] for r in rows] == [f"u{i}" for i in range(6)]
    errs = (tmp_path / "out" / "errs.txt").read_text()
    assert errs.startswith(f"%WER = {100 * words.rate:.2f}\n")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["utterances"] == 6 and summary["unrepresentable"] == ["u3"]


def test_audio_from_records_gives_the_same_scores(corpus, tmp_path):
    """``records=`` (TFRecords written by ``prepare``): with the manifest its raw transcripts are the references
    and the utterance ``prepare`` left out (empty transcript) comes from its file; alone, the records' own
    transcripts; an utterance with neither records nor file is a clear error."""
    from tf_contextnet.data import prepare
    from tf_contextnet.inference.evaluate import Utterance, utterances_from_records

    model_dir, manifest, _ = corpus
    loaded = load_model_directory(model_dir)
    prepare(manifest, tmp_path / "records", num_workers=1, progress=False)
    decode = lambda f, n: greedy_decode(loaded.model, f, n, 4)  # noqa: E731
    from_files = evaluate(loaded, utterances_from_manifest(manifest), decode, batch_size=8, progress=False)
    both = evaluate(loaded, utterances_from_manifest(manifest), decode, records=tmp_path / "records", batch_size=8,
                    progress=False)
    assert [r.hypothesis for r in both.results] == [r.hypothesis for r in from_files.results]
    assert [r.reference for r in both.results] == TRANSCRIPTS
    alone = evaluate(loaded, utterances_from_records(tmp_path / "records"), decode, records=tmp_path / "records",
                     batch_size=8, progress=False)
    assert sorted(r.uid for r in alone.results) == ["u0", "u1", "u2", "u3", "u5"]  # u4's transcript is empty
    by_uid = {r.uid: r for r in from_files.results}
    assert [r.words for r in alone.results] == [by_uid[r.uid].words for r in alone.results]
    extra = utterances_from_manifest(manifest) + [Utterance("ghost", "one")]
    with pytest.raises(ValueError, match="ghost"):
        evaluate(loaded, extra, decode, records=tmp_path / "records", progress=False)


def test_empty_reference_is_scored_as_insertions():
    result = score_utterance("x", "?!", "a b", TextNormalizer())
    assert (result.words.insertions, result.words.reference_length) == (2, 0)


def test_cli_errors(corpus, tmp_path, capsys):
    model_dir, manifest, _ = corpus
    assert main(["evaluate", "--model", str(model_dir)]) == 2
    assert "--manifest FILE, --records DIR, or both" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(tmp_path), "--manifest", str(manifest)]) == 2
    assert "model.keras is missing" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(model_dir), "--manifest", str(tmp_path / "none.tsv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(model_dir), "--manifest", str(manifest), "--lm", str(tmp_path)]) == 2
    assert "go together" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_end_to_end(corpus, tmp_path, capsys):
    """The whole command (traced encoder); the same numbers as the python API."""
    model_dir, manifest, _ = corpus
    out = tmp_path / "cli"
    assert main(["evaluate", "--model", str(model_dir), "--manifest", str(manifest), "--out", str(out),
                 "--quiet", "--max-symbols-per-frame", "4"]) == 0
    printed = capsys.readouterr().out
    assert "WER " in printed and "RTF " in printed and "| speaker |" in printed
    loaded = load_model_directory(model_dir)
    expected = evaluate(loaded, utterances_from_manifest(manifest),
                        lambda f, n: greedy_decode(loaded.model, f, n, 4), progress=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["words"] == expected.words._asdict()
    assert (out / "errs.txt").is_file()


@pytest.mark.slow
def test_beam_with_lm_and_tune_fusion_end_to_end(corpus, tmp_path, capsys):
    """Beam search + LM through the CLI (traced encoder), and the fusion grid on the same set."""
    from tf_contextnet.decoding.language_model_training import train_language_model

    model_dir, manifest, _ = corpus
    loaded = load_model_directory(model_dir)
    train_language_model(["zero one two three four five six seven eight nine"] * 20, loaded.tokenizer,
                         tmp_path / "lm", epochs=1, embedding_dim=4, units=8, num_layers=1, verbose=0)
    assert main(["evaluate", "--model", str(model_dir), "--manifest", str(manifest), "--beam", "2", "--lm",
                 str(tmp_path / "lm"), "--lm-weight", "0.3", "--out", str(tmp_path / "e"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "modified beam search (beam 2) + LSTM LM (weight 0.3" in out
    assert "max 2 symbols/frame" in out  # the model directory's decoding config
    assert main(["tune-fusion", "--model", str(model_dir), "--lm", str(tmp_path / "lm"), "--manifest", str(manifest),
                 "--beam", "2", "--lm-weights", "0,0.5", "--length-bonuses", "0", "--out", str(tmp_path / "f"),
                 "--quiet"]) == 0
    assert len((tmp_path / "f" / "fusion.tsv").read_text().splitlines()) == 3
    assert json.loads((tmp_path / "f" / "best.json").read_text())["max_symbols_per_frame"] == 2


def test_make_decoder_gives_the_symbol_cap_to_beam_search(monkeypatch):
    """``--max-symbols-per-frame`` reaches the beam search too, not only greedy search."""
    import importlib

    from tf_contextnet.inference.evaluate import make_decoder

    # the package's ``modified_beam_search`` attribute is the function; the module is in sys.modules
    beam_search = importlib.import_module("tf_contextnet.decoding.modified_beam_search")

    seen = {}
    monkeypatch.setattr(beam_search, "make_beam_search_decoder",
                        lambda model, beam_size, **kwargs: seen.update(beam_size=beam_size, **kwargs) or "decode")
    decode, name = make_decoder(object(), 4, 3)
    assert decode == "decode" and seen["beam_size"] == 4 and seen["max_symbols_per_frame"] == 3
    assert name == "modified beam search (beam 4), max 3 symbols/frame"
