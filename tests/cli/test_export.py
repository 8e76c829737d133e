"""``contextnet export`` argument handling (the export itself: tests/serving, one export per session)."""

from __future__ import annotations

from tf_contextnet.cli.main import main


def test_help_lists_the_options(capsys):
    try:
        main(["export", "--help"])
    except SystemExit as stop:
        assert stop.code == 0
    out = capsys.readouterr().out
    for option in ("--model", "--out", "--version", "--tflite", "--max-symbols-per-frame"):
        assert option in out


def test_not_a_model_directory_exits_2_naming_the_missing_file(tmp_path, capsys):
    assert main(["export", "--model", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "model.keras is missing" in capsys.readouterr().err


def test_bad_version_and_unknown_variant_exit_2_before_any_work(tmp_path, capsys):
    assert main(["export", "--model", str(tmp_path), "--out", str(tmp_path / "o"), "--version", "0"]) == 2
    assert "--version must be >= 1" in capsys.readouterr().err
    assert main(["export", "--model", str(tmp_path), "--out", str(tmp_path / "o"), "--tflite", "float,int4"]) == 2
    assert "unknown TFLite variant(s) ['int4']" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
