"""The AN4 recipe's reader of CMU's layout (recipes/an4/local/an4_layout.py) and its manifests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from recipe_modules import import_recipe_module

an4_layout = import_recipe_module("an4", "an4_layout")


def _sphere(path: Path, seconds: float = 0.3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.random.default_rng(len(path.name)).uniform(-0.3, 0.3, int(16000 * seconds))
    soundfile.write(str(path), samples, 16000, format="NIST", subtype="PCM_16")


def _fixture(root: Path) -> Path:
    """A tiny AN4: 3 training speakers (2 women, 1 man), 1 test speaker + 1 with audio but no transcripts."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    train = {"fabc": ["an1-fabc-b", "an2-fabc-b"], "fdef": ["an3-fdef-b"], "mghi": ["cen1-mghi-b", "cen2-mghi-b"]}
    words = iter(["<s> YES </s>", "<s> ENTER SIX TWO </s>", "GO", "<s>  RUBOUT   G M E F </s>", "<s> NO </s>"])
    fileids, lines = [], []
    for speaker, uids in train.items():
        for uid in uids:
            fileids.append(f"an4_clstk/{speaker}/{uid}")
            lines.append(f"{next(words)} ({uid})")
            _sphere(root / "wav" / "an4_clstk" / speaker / f"{uid}.sph")
    (etc / "an4_train.fileids").write_text("\n".join(fileids) + "\n")
    (etc / "an4_train.transcription").write_text("\n".join(lines) + "\n")
    # The distributed test files start with a blank line; speaker fcaw has audio but no transcript.
    (etc / "an4_test.fileids").write_text("\nan4test_clstk/mjkl/an9-mjkl-b\nan4test_clstk/mjkl/an10-mjkl-b\n")
    (etc / "an4_test.transcription").write_text("\nTWO THOUSAND (an9-mjkl-b)\nEIGHT (an10-mjkl-b)\n")
    for uid in ("an9-mjkl-b", "an10-mjkl-b"):
        _sphere(root / "wav" / "an4test_clstk" / "mjkl" / f"{uid}.sph")
    for uid in ("an1-fcaw-b", "cen1-fcaw-b"):
        _sphere(root / "wav" / "an4test_clstk" / "fcaw" / f"{uid}.sph")
    return root


def test_reader_on_fixture(tmp_path: Path):
    root = _fixture(tmp_path / "an4")
    train = an4_layout.read_split(root, "train")
    assert [(u.uid, u.speaker, u.transcript) for u in train.utterances] == [
        ("an1-fabc-b", "fabc", "yes"), ("an2-fabc-b", "fabc", "enter six two"), ("an3-fdef-b", "fdef", "go"),
        ("cen1-mghi-b", "mghi", "rubout g m e f"), ("cen2-mghi-b", "mghi", "no")]
    assert train.unscored == [] and train.blank_lines == 0
    assert train.utterances[0].audio == (root / "wav/an4_clstk/fabc/an1-fabc-b.sph").resolve()
    test = an4_layout.read_split(root, "test")
    assert [(u.uid, u.transcript) for u in test.utterances] == [("an9-mjkl-b", "two thousand"), ("an10-mjkl-b", "eight")]
    assert test.blank_lines == 2  # one in each file
    assert [p.name for p in test.unscored] == ["an1-fcaw-b.sph", "cen1-fcaw-b.sph"]


def test_reader_errors_name_file_and_line(tmp_path: Path):
    root = _fixture(tmp_path / "an4")
    transcription = root / "etc" / "an4_train.transcription"
    good = transcription.read_text()
    transcription.write_text(good + "NO IDENTIFIER HERE\n")
    with pytest.raises(an4_layout.An4LayoutError, match=r"an4_train\.transcription:6: expected 'WORDS \(utterance-id\)'"):
        an4_layout.read_split(root, "train")
    transcription.write_text(good + "<s> YES </s> (an1-fabc-b)\n")
    with pytest.raises(an4_layout.An4LayoutError, match=r":6: utterance id 'an1-fabc-b' appears twice"):
        an4_layout.read_split(root, "train")
    transcription.write_text(good)
    (root / "wav/an4_clstk/fdef/an3-fdef-b.sph").unlink()
    with pytest.raises(an4_layout.An4LayoutError, match="'an3-fdef-b' is missing"):
        an4_layout.read_split(root, "train")
    with pytest.raises(an4_layout.An4LayoutError, match="does not look like CMU's AN4 folder"):
        an4_layout.read_split(tmp_path / "elsewhere", "test")


def test_manifests_on_fixture(tmp_path: Path):
    manifests = import_recipe_module("an4", "manifests")
    from tf_contextnet.data import read_manifest

    root = _fixture(tmp_path / "an4")
    out = tmp_path / "data"
    summary = manifests.build_manifests(root, out, manifests.ManifestOptions(dev_size=2, speed_factors=(0.9,)),
                                        progress=False)
    dev, train = read_manifest(out / "dev.tsv"), read_manifest(out / "train.tsv")
    assert {e.speaker for e in dev}.isdisjoint({e.speaker for e in train})
    assert len(dev) >= 2 and len(dev) + len(train) == 5
    perturbed = [e for e in read_manifest(out / "train_sp.tsv") if e.uid.endswith("~sp0.9")]
    assert len(perturbed) == len(train)
    for entry in perturbed:  # x0.9: 1/0.9 times longer
        assert entry.duration == pytest.approx(0.3 / 0.9, abs=2e-3)
    assert [Path(e.audio_path).name for e in read_manifest(out / "test_unscored.tsv")] == [
        "an1-fcaw-b.sph", "cen1-fcaw-b.sph"]
    assert summary["unscored"] == ["an4test_clstk/fcaw/an1-fcaw-b.sph", "an4test_clstk/fcaw/cen1-fcaw-b.sph"]


@pytest.mark.data
def test_reader_on_real_an4(shared_data: Path):
    root = shared_data / "an4"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    train = an4_layout.read_split(root, "train")
    test = an4_layout.read_split(root, "test")
    assert len(train.utterances) == 948 and len(train.speakers) == 74 and train.unscored == []
    assert train.utterances[0].uid == "an251-fash-b" and train.utterances[0].transcript == "yes"
    assert len(test.utterances) == 117 and test.blank_lines == 2
    assert (test.utterances[1].uid, test.utterances[1].transcript) == ("an417-fjlp-b", "enter nine one six nine")
    assert len(test.unscored) == 13 and {p.parent.name for p in test.unscored} == {"fcaw"}
    assert set(train.speakers).isdisjoint(test.speakers)
    assert all(t == t.lower() and "<s>" not in t and "(" not in t
               for t in (u.transcript for u in train.utterances + test.utterances))
