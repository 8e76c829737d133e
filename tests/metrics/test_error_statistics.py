"""The icefall-style errs file: totals, per-utterance details and error tables on a worked example."""

from __future__ import annotations

import io

from tf_contextnet.metrics import EditCounts, write_errs_file, write_error_statistics


def test_worked_example():
    out = io.StringIO()
    totals = write_error_statistics(out, [("u1", "the cat sat".split(), "the bat sat down".split()),
                                          ("u2", "a cat".split(), "cat".split()),
                                          ("u3", [], [])])
    assert totals == EditCounts(hits=3, substitutions=1, deletions=1, insertions=1)
    text = out.getvalue()
    assert text.startswith("%WER = 60.00\n")
    assert "Errors: 1 insertions, 1 deletions, 1 substitutions, over 5 reference words (3 correct)" in text
    assert "u1:\tthe (cat->bat) sat (*->down)\n" in text
    assert "u2:\t(a->*) cat\n" in text
    assert "u3:\t\n" in text
    assert "SUBSTITUTIONS: count ref -> hyp\n1   cat -> bat\n" in text
    assert "DELETIONS: count ref\n1   a\n" in text
    assert "INSERTIONS: count hyp\n1   down\n" in text
    # cat: 1 correct (u2), 1 error (substituted in u1), twice in the references, once in the hypotheses
    assert "\ncat   1 1 2 1\n" in text


def test_writes_file(tmp_path):
    path = tmp_path / "sub" / "errs-test.txt"
    totals = write_errs_file(path, [("x", ["a"], ["a"])])
    assert totals.rate == 0.0
    assert path.read_text(encoding="utf-8").startswith("%WER = 0.00\n")
