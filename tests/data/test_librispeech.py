"""LibriSpeech listing: every *.trans.txt line becomes an entry; untranscribed audio is reported."""

from __future__ import annotations

import shutil

import pytest

from tf_contextnet.data import read_librispeech


@pytest.mark.data
def test_lists_the_layout(librispeech_layout):
    root, transcripts = librispeech_layout
    for top in (root, root / "test-other"):
        listing = read_librispeech(top)
        assert {e.uid: e.transcript for e in listing.entries} == {k: v.lower() for k, v in transcripts.items()}
        assert listing.untranscribed == []
        for entry in listing.entries:
            speaker, chapter, _ = entry.uid.split("-")
            assert entry.speaker == speaker
            assert entry.audio_path == str(root / "test-other" / speaker / chapter / f"{entry.uid}.flac")
    assert read_librispeech(root, lowercase=False).entries[0].transcript.isupper()


@pytest.mark.data
def test_untranscribed_audio_and_malformed_lines(librispeech_layout, tmp_path):
    root, _ = librispeech_layout
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    flac = sorted(copy.rglob("*.flac"))[0]
    extra = flac.with_name("9999-9999-9999.flac")
    shutil.copy(flac, extra)
    assert read_librispeech(copy).untranscribed == [str(extra)]
    transcript_file = sorted(copy.rglob("*.trans.txt"))[0]
    transcript_file.write_text("JUSTONEWORD\n")
    with pytest.raises(ValueError, match=r"trans.txt:1: expected '<utterance-id> <transcript>'"):
        read_librispeech(copy)


def test_not_librispeech(tmp_path):
    with pytest.raises(ValueError, match="no <speaker>-<chapter>.trans.txt"):
        read_librispeech(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_librispeech(tmp_path / "absent")
