"""An icefall-style ``errs`` file: corpus totals, per-utterance alignments, the most frequent errors.

Layout (the one of icefall's ``write_error_stats``, so its readers and habits carry over)::

    %WER = 12.34
    Errors: I insertions, D deletions, S substitutions, over N reference words (H correct)
    Search below for sections starting with PER-UTT DETAILS:, SUBSTITUTIONS:, DELETIONS:, INSERTIONS:, PER-WORD STATS:

    PER-UTT DETAILS: corr or (ref->hyp)
    uid:<TAB>word (ref->hyp) (ref->*) (*->hyp) ...

    SUBSTITUTIONS: count ref -> hyp
    DELETIONS: count ref
    INSERTIONS: count hyp
    PER-WORD STATS: word  corr tot_errs count_in_ref count_in_hyp

``*`` stands for the missing side of a deletion or insertion; counts are sorted most frequent
first (then alphabetically).
"""

from __future__ import annotations

import collections
import os
from typing import Iterable, Sequence, TextIO

from tf_contextnet.metrics.edit_alignment import EditCounts, align, count_edits

GAP = "*"


def _details(uid: str, alignment) -> str:
    words = [r if r == h else f"({GAP if r is None else r}->{GAP if h is None else h})" for r, h in alignment]
    return f"{uid}:\t" + " ".join(words)


def _most_frequent(counter: collections.Counter) -> list:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def write_error_statistics(out: TextIO, utterances: Iterable[tuple[str, Sequence[str], Sequence[str]]]) -> EditCounts:
    """Write the ``errs`` report of ``(uid, reference_words, hypothesis_words)`` to ``out``; returns the totals."""
    totals = EditCounts()
    details = []
    substitutions, deletions, insertions = collections.Counter(), collections.Counter(), collections.Counter()
    words = collections.defaultdict(lambda: [0, 0, 0, 0])  # corr, tot_errs, count_in_ref, count_in_hyp
    for uid, reference, hypothesis in utterances:
        alignment = align(list(reference), list(hypothesis))
        totals = totals + count_edits(alignment)
        details.append(_details(uid, alignment))
        for r, h in alignment:
            if r == h:
                words[r][0] += 1
            elif r is None:
                insertions[h] += 1
                words[h][1] += 1
            elif h is None:
                deletions[r] += 1
                words[r][1] += 1
            else:
                substitutions[(r, h)] += 1
                words[r][1] += 1
                words[h][1] += 1
            if r is not None:
                words[r][2] += 1
            if h is not None:
                words[h][3] += 1
    rate = 100 * totals.rate
    out.write(f"%WER = {rate:.2f}\n")
    out.write(f"Errors: {totals.insertions} insertions, {totals.deletions} deletions, {totals.substitutions} "
              f"substitutions, over {totals.reference_length} reference words ({totals.hits} correct)\n")
    out.write("Search below for sections starting with PER-UTT DETAILS:, SUBSTITUTIONS:, DELETIONS:, "
              "INSERTIONS:, PER-WORD STATS:\n\n")
    out.write("PER-UTT DETAILS: corr or (ref->hyp)\n")
    out.writelines(line + "\n" for line in details)
    out.write("\nSUBSTITUTIONS: count ref -> hyp\n")
    out.writelines(f"{count}   {r} -> {h}\n" for (r, h), count in _most_frequent(substitutions))
    out.write("\nDELETIONS: count ref\n")
    out.writelines(f"{count}   {r}\n" for r, count in _most_frequent(deletions))
    out.write("\nINSERTIONS: count hyp\n")
    out.writelines(f"{count}   {h}\n" for h, count in _most_frequent(insertions))
    out.write("\nPER-WORD STATS: word  corr tot_errs count_in_ref count_in_hyp\n")
    ordered = sorted(words.items(), key=lambda item: (-item[1][1], item[0]))
    out.writelines(f"{w}   {c} {e} {r} {h}\n" for w, (c, e, r, h) in ordered)
    return totals


def write_errs_file(path: str | os.PathLike, utterances: Iterable[tuple[str, Sequence[str], Sequence[str]]]
                    ) -> EditCounts:
    """``write_error_statistics`` into the file ``path`` (created with its folder)."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        return write_error_statistics(f, utterances)
