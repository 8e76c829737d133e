"""Scoring against the raw transcripts: WER/CER, S/D/I, sentence errors, per speaker, bootstrap interval.

Pure Python (no TensorFlow): references are the manifest's transcripts as written (lower-cased
AN4 words), hypotheses the decoder's text; both are split on whitespace, nothing else is changed.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tf_contextnet.metrics import EditCounts, edit_counts


@dataclasses.dataclass
class Scored:
    """One utterance's words and character edits."""

    uid: str
    speaker: str
    reference: str
    hypothesis: str
    words: EditCounts
    characters: EditCounts


def score(uids: list[str], speakers: list[str], references: list[str], hypotheses: list[str]) -> list[Scored]:
    """Per-utterance edit counts (words on whitespace, characters with spaces kept)."""
    if not len(uids) == len(speakers) == len(references) == len(hypotheses):
        raise ValueError(f"score: {len(uids)} ids, {len(speakers)} speakers, {len(references)} references and "
                         f"{len(hypotheses)} hypotheses must be as many")
    return [Scored(u, s, r, h, edit_counts(r.split(), h.split()), edit_counts(list(" ".join(r.split())),
                                                                              list(" ".join(h.split()))))
            for u, s, r, h in zip(uids, speakers, references, hypotheses)]


def total(scored: list[Scored], kind: str = "words") -> EditCounts:
    counts = EditCounts()
    for s in scored:
        counts = counts + getattr(s, kind)
    return counts


def sentence_error_rate(scored: list[Scored]) -> float:
    return sum(s.words.edits > 0 for s in scored) / max(1, len(scored))


def bootstrap_interval(scored: list[Scored], resamples: int = 2000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval of the corpus WER, resampling utterances with replacement."""
    edits = np.array([s.words.edits for s in scored], dtype=np.float64)
    lengths = np.array([s.words.reference_length for s in scored], dtype=np.float64)
    if len(scored) == 0 or lengths.sum() == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(scored), size=(resamples, len(scored)))
    rates = edits[index].sum(axis=1) / np.maximum(lengths[index].sum(axis=1), 1)
    low, high = np.quantile(rates, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(low), float(high)


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def report(name: str, scored: list[Scored], unscored: list[str] | None = None) -> str:
    """A Markdown section: totals, S/D/I, SER, interval, per-speaker table, unscored files."""
    words, chars = total(scored), total(scored, "characters")
    low, high = bootstrap_interval(scored)
    lines = [f"### {name}: {len(scored)} utterances, {words.reference_length} words", "",
             "| WER % | 95% interval (bootstrap over utterances) | CER % | S | D | I | sentence error % |",
             "|---|---|---|---|---|---|---|",
             f"| **{_pct(words.rate)}** | {_pct(low)}-{_pct(high)} | {_pct(chars.rate)} | {words.substitutions} | "
             f"{words.deletions} | {words.insertions} | {_pct(sentence_error_rate(scored))} |", "",
             "| speaker | utterances | words | WER % | CER % | S | D | I |", "|---|---|---|---|---|---|---|---|"]
    for speaker in sorted({s.speaker for s in scored}):
        mine = [s for s in scored if s.speaker == speaker]
        w, c = total(mine), total(mine, "characters")
        lines.append(f"| {speaker} | {len(mine)} | {w.reference_length} | {_pct(w.rate)} | {_pct(c.rate)} | "
                     f"{w.substitutions} | {w.deletions} | {w.insertions} |")
    if unscored:
        lines += ["", f"Not scored (audio without a transcript in the distributed files): {len(unscored)}: "
                      + ", ".join(unscored)]
    return "\n".join(lines)


def errors_tsv(scored: list[Scored]) -> str:
    """Every utterance with an error: id, speaker, reference, hypothesis (TSV with a header)."""
    rows = ["id\tspeaker\treference\thypothesis"]
    rows += [f"{s.uid}\t{s.speaker}\t{s.reference}\t{s.hypothesis}" for s in scored if s.words.edits]
    return "\n".join(rows) + "\n"
