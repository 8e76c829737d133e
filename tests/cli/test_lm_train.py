"""``contextnet lm-train``: trains from text files and manifests, reports perplexity, clear errors."""

from __future__ import annotations

from tf_contextnet.cli.main import main
from tf_contextnet.data import ManifestEntry, write_manifest
from tf_contextnet.decoding.language_model_directory import load_language_model, read_language_model_info
from tf_contextnet.text import CharacterTokenizer


def test_trains_from_text_and_manifest(tmp_path, capsys):
    tokenizer = CharacterTokenizer.train(["one two three four"])
    tokenizer.save(tmp_path / "tok")
    (tmp_path / "text.txt").write_text("one two\ntwo three\n\nthree four\nzzz\n" * 5)
    write_manifest([ManifestEntry(str(tmp_path / "a.wav"), "four three", 1.0)], tmp_path / "m.tsv")
    out = tmp_path / "lm"
    assert main(["lm-train", "--text", str(tmp_path / "text.txt"), str(tmp_path / "m.tsv"), "--tokenizer",
                 str(tmp_path / "tok"), "--out", str(out), "--epochs", "1", "--units", "8", "--embedding-dim", "4",
                 "--layers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "held-out perplexity" in printed
    info = read_language_model_info(out)
    assert info["sentences"] + info["held_out_sentences"] == 16 and info["skipped_lines"] == 10  # 5 empty, 5 "zzz"
    assert load_language_model(out, tokenizer).units == 8


def test_errors(tmp_path, capsys):
    assert main(["lm-train", "--text", str(tmp_path / "none.txt"), "--tokenizer", str(tmp_path), "--out",
                 str(tmp_path / "lm")]) == 2
    assert "contextnet lm-train:" in capsys.readouterr().err
