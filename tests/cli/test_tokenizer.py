"""``contextnet tokenizer``: trains, saves a loadable tokenizer; bad input exits 2."""

from __future__ import annotations

import pytest

from tf_contextnet.cli.main import main
from tf_contextnet.data import read_manifest, write_manifest

pytestmark = pytest.mark.data


@pytest.fixture()
def small_manifest(fsdd_dir, tmp_path):
    entries = read_manifest(fsdd_dir / "manifest.tsv")[:5]
    path = tmp_path / "small.tsv"
    write_manifest(entries, path)
    return path, entries


def test_tokenizer_command(small_manifest, tmp_path, capsys):
    from tf_contextnet.text import load_tokenizer

    path, entries = small_manifest
    assert main(["tokenizer", str(path), "--output", str(tmp_path / "tok"), "--kind", "characters"]) == 0
    assert "characters tokenizer" in capsys.readouterr().out
    tokenizer = load_tokenizer(tmp_path / "tok")
    assert tokenizer.decode_to_python(tokenizer.encode([e.transcript for e in entries])) == \
        [e.transcript for e in entries]
    assert main(["tokenizer", str(tmp_path / "none.tsv"), "--output", str(tmp_path / "t2")]) == 2
