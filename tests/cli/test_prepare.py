"""``contextnet prepare``: summary printed, progress bar shown, resumable, bad input exits 2."""

from __future__ import annotations

import csv

import pytest

from tf_contextnet.cli.main import main
from tf_contextnet.data import ManifestEntry, read_manifest, read_tfrecords, write_manifest

pytestmark = pytest.mark.data


@pytest.fixture()
def small_manifest(fsdd_dir, tmp_path):
    entries = read_manifest(fsdd_dir / "manifest.tsv")[:5]
    entries.append(ManifestEntry(str(tmp_path / "gone.wav"), "zero", 0.5))
    path = tmp_path / "small.tsv"
    write_manifest(entries, path)
    return path, entries


def test_prepare_command(small_manifest, tmp_path, capsys):
    path, entries = small_manifest
    out = tmp_path / "records"
    assert main(["prepare", str(path), str(out), "--shard-size", "2", "--workers", "1", "--name", "fsdd"]) == 0
    captured = capsys.readouterr()
    assert "prepare fsdd" in captured.err and "6/6" in captured.err
    assert "wrote 5 utterances" in captured.out and "in 3 shard(s)" in captured.out
    assert "missing_audio: 1" in captured.out and "skipped.tsv" in captured.out
    records = read_tfrecords(sorted(out.glob("fsdd-*.tfrecord")))
    assert [r["transcript"] for r in records] == [e.transcript for e in entries[:5]]
    with open(out / "skipped.tsv", newline="") as f:
        assert [row["path"] for row in csv.DictReader(f, delimiter="\t")] == [str(tmp_path / "gone.wav")]

    assert main(["prepare", str(path), str(out), "--shard-size", "2", "--workers", "1", "--name", "fsdd",
                 "--no-progress"]) == 0
    assert "(0 written now, 3 reused)" in capsys.readouterr().out


def test_prepare_command_errors(small_manifest, tmp_path, capsys):
    path, _ = small_manifest
    assert main(["prepare", str(tmp_path / "none.tsv"), str(tmp_path / "o"), "--no-progress"]) == 2
    assert "none.tsv" in capsys.readouterr().err
    assert main(["prepare", str(path), str(tmp_path / "o1"), "--workers", "1", "--no-progress",
                 "--max-duration", "0.01"]) == 1
    assert "too_long: 5" in capsys.readouterr().out

