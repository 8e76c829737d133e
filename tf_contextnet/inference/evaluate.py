"""Evaluation against raw transcripts: WER, CER, S/D/I, sentence error rate, RTF, per speaker.

Shapes: B batch, N samples, T feature frames, L decoded tokens.

The rules (what makes the numbers trustworthy):

- references are the **raw transcripts** of the manifest (or, without a manifest, of the
  TFRecords), never label ids decoded back to text;
- one ``TextNormalizer`` (default: lower-case, punctuation but apostrophes removed) is applied to
  reference and hypothesis alike; words are what it leaves separated by whitespace;
- **no utterance is dropped**: one whose normalised reference the tokenizer cannot represent is
  decoded and scored like the rest, counted and listed (``unrepresentable``);
- WER/CER are corpus rates (total edits / total reference length, ``tf_contextnet.metrics``); S/D/I
  come from one minimal alignment per utterance (``metrics.edit_alignment`` documents its tie-break);
- RTF = seconds spent from waveform to token ids (front end + encoder + search; reading audio and
  detokenising excluded) / seconds of audio, after an untimed warm-up that traces the graphs (two
  calls of different shapes, so ``reduce_retracing`` needs no further trace).

Python API (recipes call this, not the CLI)::

    from tf_contextnet.inference.evaluate import evaluate_manifest
    report = evaluate_manifest("exp/an4/model", "data/an4/test.tsv", beam_size=4, out="exp/an4/eval/test")
    print(report.format())          # the table the CLI prints
    report.words.rate, report.characters.rate, report.sentences.rate, report.real_time_factor

``out`` (optional) receives ``results.jsonl`` (one object per utterance), ``errs.txt``
(icefall-style, ``metrics.error_statistics``) and ``summary.json``.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from tf_contextnet.data.manifest import read_manifest
from tf_contextnet.data.tfrecords import parse_example
from tf_contextnet.features import SAMPLE_RATE, load_audio
from tf_contextnet.inference.model_directory import ModelDirectory, load_model_directory
from tf_contextnet.inference.transcription import waveform_features
from tf_contextnet.metrics import EditCounts, ErrorCounts, edit_counts, write_errs_file
from tf_contextnet.text import TextNormalizer

Decoder = Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One utterance to score: its raw ``transcript`` and where its audio is (a file, else a record)."""

    uid: str
    transcript: str
    speaker: str | None = None
    audio_path: str | None = None


@dataclasses.dataclass(frozen=True)
class UtteranceResult:
    """The scores of one utterance (``scored_*``: the normalised texts that were compared)."""

    uid: str
    speaker: str | None
    seconds: float
    reference: str
    hypothesis: str
    scored_reference: str
    scored_hypothesis: str
    words: EditCounts
    characters: EditCounts
    unknown_symbols: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        row = dataclasses.asdict(self)
        row["words"], row["characters"] = self.words._asdict(), self.characters._asdict()
        row["unknown_symbols"] = list(self.unknown_symbols)
        return row


def _total(counts: Iterable[EditCounts]) -> EditCounts:
    return sum(counts, EditCounts())


@dataclasses.dataclass
class EvaluationReport:
    """Per-utterance results and the corpus totals derived from them."""

    results: list[UtteranceResult]
    decode_seconds: float
    decoder: str
    normalizer: dict
    name: str = ""

    @property
    def words(self) -> EditCounts:
        return _total(r.words for r in self.results)

    @property
    def characters(self) -> EditCounts:
        return _total(r.characters for r in self.results)

    @property
    def sentences(self) -> ErrorCounts:
        """Utterances with any word error, over all utterances."""
        return ErrorCounts(sum(r.words.edits > 0 for r in self.results), len(self.results))

    @property
    def audio_seconds(self) -> float:
        return float(sum(r.seconds for r in self.results))

    @property
    def real_time_factor(self) -> float:
        return self.decode_seconds / self.audio_seconds if self.audio_seconds else float("nan")

    @property
    def unrepresentable(self) -> list[str]:
        """Ids of utterances whose normalised reference the tokenizer cannot represent (still scored)."""
        return [r.uid for r in self.results if r.unknown_symbols]

    def speakers(self) -> dict[str, "EvaluationReport"]:
        """One report per speaker (empty when the utterances carry no speaker)."""
        groups: dict[str, list[UtteranceResult]] = {}
        for r in self.results:
            if r.speaker:
                groups.setdefault(r.speaker, []).append(r)
        return {s: EvaluationReport(rs, 0.0, self.decoder, self.normalizer, s) for s, rs in sorted(groups.items())}

    def summary(self) -> dict:
        w, c, s = self.words, self.characters, self.sentences
        return {"name": self.name, "decoder": self.decoder, "normalizer": self.normalizer,
                "utterances": len(self.results), "audio_seconds": self.audio_seconds,
                "wer": w.rate, "cer": c.rate, "ser": s.rate, "words": w._asdict(), "characters": c._asdict(),
                "sentence_errors": s.edits, "decode_seconds": self.decode_seconds, "rtf": self.real_time_factor,
                "unrepresentable": self.unrepresentable,
                "speakers": {k: {"utterances": len(v.results), "wer": v.words.rate, "cer": v.characters.rate,
                                 "ser": v.sentences.rate, "words": v.words.reference_length}
                             for k, v in self.speakers().items()}}

    def format(self) -> str:
        """The human-readable summary: totals, then a per-speaker table when there are speakers."""
        w, c, s = self.words, self.characters, self.sentences
        lines = [f"{self.name + ': ' if self.name else ''}{len(self.results)} utterances, "
                 f"{self.audio_seconds / 60:.1f} min of audio, decoder {self.decoder}",
                 f"WER {100 * w.rate:.2f}% ({w.edits}/{w.reference_length} words: S {w.substitutions}, "
                 f"D {w.deletions}, I {w.insertions})",
                 f"CER {100 * c.rate:.2f}% ({c.edits}/{c.reference_length} characters)",
                 f"SER {100 * s.rate:.2f}% ({s.edits}/{s.length} utterances with an error)",
                 f"RTF {self.real_time_factor:.4f} ({self.decode_seconds:.1f} s decoding, warm-up excluded)"]
        bad = self.unrepresentable
        lines.append(f"{len(bad)} utterance(s) the tokenizer cannot represent (scored, not dropped)"
                     + (f": {', '.join(bad[:10])}{' ...' if len(bad) > 10 else ''}" if bad else ""))
        speakers = self.speakers()
        if speakers:
            lines += ["", "| speaker | utterances | words | WER % | CER % | SER % |", "|---|---|---|---|---|---|"]
            for name, report in speakers.items():
                lines.append(f"| {name} | {len(report.results)} | {report.words.reference_length} | "
                             f"{100 * report.words.rate:.2f} | {100 * report.characters.rate:.2f} | "
                             f"{100 * report.sentences.rate:.2f} |")
        return "\n".join(lines)

    def write(self, directory: str | os.PathLike) -> None:
        """``results.jsonl``, ``errs.txt`` (icefall-style) and ``summary.json`` into ``directory``."""
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "results.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in self.results)
        write_errs_file(os.path.join(directory, "errs.txt"),
                        ((r.uid, r.scored_reference.split(), r.scored_hypothesis.split()) for r in self.results))
        with open(os.path.join(directory, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(self.summary(), f, indent=1)


def score_utterance(uid: str, reference: str, hypothesis: str, normalizer: Callable[[str], str], *,
                    speaker: str | None = None, seconds: float = 0.0,
                    unknown_symbols: Sequence[str] = ()) -> UtteranceResult:
    """Normalise both texts and count word and character edits (characters: spaces included)."""
    ref, hyp = normalizer(reference), normalizer(hypothesis)
    return UtteranceResult(uid, speaker, float(seconds), reference, hypothesis, ref, hyp,
                           edit_counts(ref.split(), hyp.split()), edit_counts(list(ref), list(hyp)),
                           tuple(unknown_symbols))


def unrepresentable(tokenizer, text: str) -> list[str]:
    """The parts of (normalised) ``text`` the tokenizer cannot represent."""
    return tokenizer.unknown_symbols(text) if text else []


def utterances_from_manifest(path: str | os.PathLike) -> list[Utterance]:
    """The manifest's utterances (raw transcripts, speakers, absolute audio paths)."""
    entries = read_manifest(path)
    duplicates = sorted(uid for uid, n in collections.Counter(e.uid for e in entries).items() if n > 1)
    if duplicates:
        raise ValueError(f"{path}: utterance ids are not unique ({duplicates[:5]}); add an id column")
    return [Utterance(e.uid, e.transcript, e.speaker, e.audio_path) for e in entries]


def _record_files(records: str | os.PathLike) -> list[str]:
    from tf_contextnet.data.dataset import resolve_files

    return resolve_files(records)


def utterances_from_records(records: str | os.PathLike) -> list[Utterance]:
    """The utterances of a TFRecord folder written by ``prepare`` (their transcripts are the raw ones)."""
    rows = []
    for raw in tf.data.TFRecordDataset(_record_files(records)):
        example = tf.io.parse_single_example(raw, {k: tf.io.FixedLenFeature([], tf.string, default_value="")
                                                   for k in ("id", "transcript", "speaker")})
        rows.append(Utterance(example["id"].numpy().decode("utf-8"), example["transcript"].numpy().decode("utf-8"),
                              example["speaker"].numpy().decode("utf-8") or None))
    return rows


def _record_audio(records: str | os.PathLike, wanted: set[str], sample_rate: int) -> Iterator[tuple[str, np.ndarray]]:
    for raw in tf.data.TFRecordDataset(_record_files(records)):
        example = parse_example(raw)
        uid = example["id"].numpy().decode("utf-8")
        if uid not in wanted:
            continue
        if int(example["sample_rate"]) != sample_rate:
            raise ValueError(f"{records}: record {uid!r} is at {int(example['sample_rate'])} Hz, the model expects "
                             f"{sample_rate} Hz")
        yield uid, example["pcm"].numpy().astype(np.float32) / 32768.0


def _audio(utterances: Sequence[Utterance], records, sample_rate: int) -> Iterator[tuple[Utterance, np.ndarray]]:
    """Waveforms in ``utterances`` order from files, or in record order from ``records`` (then the files of
    utterances the records lack)."""
    if records is None:
        missing = [u.uid for u in utterances if not u.audio_path]
        if missing:
            raise ValueError(f"no audio file for {len(missing)} utterance(s) ({missing[:5]}); pass records=")
        for u in utterances:
            yield u, load_audio(u.audio_path, sample_rate=sample_rate)
        return
    by_id = {u.uid: u for u in utterances}
    seen = set()
    for uid, waveform in _record_audio(records, set(by_id), sample_rate):
        if uid in seen:
            raise ValueError(f"{records}: utterance {uid!r} appears twice")
        seen.add(uid)
        yield by_id[uid], waveform
    for u in utterances:  # not in the records (``prepare`` leaves out empty transcripts): the audio file
        if u.uid not in seen:
            if not u.audio_path:
                raise ValueError(f"utterance {u.uid!r} is neither in the records {records} nor has an audio file")
            yield u, load_audio(u.audio_path, sample_rate=sample_rate)


def _batches(items: Iterator, batch_size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _pad(waveforms: list[np.ndarray]) -> tuple[tf.Tensor, tf.Tensor]:
    lengths = np.array([w.shape[0] for w in waveforms], np.int32)
    padded = np.zeros([len(waveforms), max(1, int(lengths.max()))], np.float32)
    for i, w in enumerate(waveforms):
        padded[i, :w.shape[0]] = w
    return tf.constant(padded), tf.constant(lengths)


def _check_records_cover(utterances: Sequence[Utterance], records) -> None:
    from tf_contextnet.data.dataset import read_metadata

    have = {row[0] for row in read_metadata(_record_files(records))}
    missing = [u.uid for u in utterances if u.uid not in have and not u.audio_path]
    if missing:
        raise ValueError(f"{len(missing)} utterance(s) are not in the records {records} and have no audio file: "
                         f"{missing[:10]}")


def waveform_batches(loaded: ModelDirectory, utterances: Sequence[Utterance], *, records=None, batch_size: int = 16
                     ) -> Iterator[tuple[list[Utterance], tf.Tensor, tf.Tensor]]:
    """``(utterances, waveform [B, N] float32, lengths [B])`` batches at the model's sample rate, every
    utterance once (audio files, or ``records`` by id)."""
    if records is not None:
        _check_records_cover(utterances, records)
    sample_rate = int(loaded.config.get("sample_rate", SAMPLE_RATE))
    for batch in _batches(_audio(utterances, records, sample_rate), batch_size):
        waveform, lengths = _pad([w for _, w in batch])
        yield [u for u, _ in batch], waveform, lengths


def _warm_up(loaded: ModelDirectory, decode: Decoder, waveform: tf.Tensor, lengths: tf.Tensor) -> None:
    """Trace ``decode`` outside the timed region: once for this batch, once for a smaller, longer one, so that
    ``reduce_retracing`` settles on one graph for any batch and length (no tracing inside the RTF)."""
    decode(*waveform_features(loaded, waveform, lengths))
    smaller = max(1, int(waveform.shape[0]) - 1)
    decode(*waveform_features(loaded, tf.pad(waveform[:smaller], [[0, 0], [0, 1600]]), lengths[:smaller]))


def evaluate(loaded: ModelDirectory, utterances: Sequence[Utterance], decode: Decoder, *, records=None,
             batch_size: int = 16, normalizer: Callable[[str], str] | None = None, decoder_name: str = "greedy",
             name: str = "", progress: bool = True) -> EvaluationReport:
    """Decode every utterance with ``decode(features [B,T,F], lengths [B]) -> (tokens [B,L], lengths [B])``
    and score it against its raw transcript (module docstring).

    Args:
        loaded: the model directory (front end, tokenizer; the model is inside ``decode``).
        utterances: what to score, e.g. ``utterances_from_manifest(path)``.
        records: a TFRecord folder holding the audio (by utterance id) instead of the audio files (an utterance
            the records lack is read from its file; with neither, a ``ValueError`` names it).
        normalizer: applied to reference and hypothesis (default ``TextNormalizer()``).
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not utterances:
        raise ValueError("nothing to evaluate: no utterances")
    normalizer = normalizer or TextNormalizer()
    sample_rate = int(loaded.config.get("sample_rate", SAMPLE_RATE))
    tokenizer = loaded.tokenizer
    results: dict[str, UtteranceResult] = {}
    seconds = 0.0
    warm = False
    bar = tqdm(total=len(utterances), unit="utt", desc=f"evaluate {name}".strip(), disable=not progress)
    for batch, waveform, lengths in waveform_batches(loaded, utterances, records=records, batch_size=batch_size):
        if not warm:
            _warm_up(loaded, decode, waveform, lengths)
            warm = True
        start = time.perf_counter()
        tokens, _ = decode(*waveform_features(loaded, waveform, lengths))
        tokens = tokens.numpy()
        seconds += time.perf_counter() - start
        for u, samples, text in zip(batch, lengths.numpy(), tokenizer.decode_to_python(tokens)):
            results[u.uid] = score_utterance(u.uid, u.transcript, text, normalizer, speaker=u.speaker,
                                             seconds=samples / sample_rate,
                                             unknown_symbols=unrepresentable(tokenizer, normalizer(u.transcript)))
        bar.update(len(batch))
    bar.close()
    ordered = [results[u.uid] for u in utterances]
    return EvaluationReport(ordered, seconds, decoder_name, getattr(normalizer, "get_config", dict)(), name)


def make_decoder(model, beam_size: int = 1, max_symbols_per_frame: int = 4, language_model=None,
                 lm_weight: float = 0.0, length_bonus: float = 0.0) -> tuple[Decoder, str]:
    """``(decode, description)``: greedy for ``beam_size`` 1 without a language model, else modified beam
    search (best hypothesis), with shallow fusion when ``language_model`` is given. Both searches emit
    at most ``max_symbols_per_frame`` labels per encoder frame."""
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if beam_size == 1 and language_model is None:
        from tf_contextnet.decoding import make_greedy_decoder

        return make_greedy_decoder(model, max_symbols_per_frame), f"greedy (max {max_symbols_per_frame} symbols/frame)"
    from tf_contextnet.decoding.modified_beam_search import make_beam_search_decoder

    decode = make_beam_search_decoder(model, beam_size, language_model=language_model, lm_weight=lm_weight,
                                      length_bonus=length_bonus, max_symbols_per_frame=max_symbols_per_frame)
    description = f"modified beam search (beam {beam_size})"
    if language_model is not None:
        description += f" + LSTM LM (weight {lm_weight:g}, length bonus {length_bonus:g})"
    return decode, description + f", max {max_symbols_per_frame} symbols/frame"


def evaluate_manifest(model: str | os.PathLike | ModelDirectory, manifest: str | os.PathLike | None = None, *,
                      records: str | os.PathLike | None = None, beam_size: int = 1, max_symbols_per_frame: int = 4,
                      language_model=None, lm_weight: float = 0.0, length_bonus: float = 0.0,
                      batch_size: int = 16, normalizer: Callable[[str], str] | None = None,
                      out: str | os.PathLike | None = None, name: str = "", progress: bool = True
                      ) -> EvaluationReport:
    """Evaluate a model directory on a manifest (audio files, or ``records`` by id) or on a TFRecord folder
    alone (its transcripts); ``language_model`` is a directory written by ``contextnet lm-train`` or a
    loaded LM. Writes the report into ``out`` when given."""
    loaded = model if isinstance(model, ModelDirectory) else load_model_directory(model)
    if manifest is None and records is None:
        raise ValueError("evaluate needs a manifest, TFRecords, or both")
    utterances = utterances_from_manifest(manifest) if manifest is not None else utterances_from_records(records)
    if isinstance(language_model, (str, os.PathLike)):
        from tf_contextnet.decoding.language_model_directory import load_language_model

        language_model = load_language_model(language_model, loaded.tokenizer)
    decode, description = make_decoder(loaded.model, beam_size, max_symbols_per_frame, language_model, lm_weight,
                                       length_bonus)
    if not name:
        name = os.path.splitext(os.path.basename(os.fspath(manifest if manifest is not None else records)))[0]
    report = evaluate(loaded, utterances, decode, records=records, batch_size=batch_size, normalizer=normalizer,
                      decoder_name=description, name=name, progress=progress)
    if out is not None:
        report.write(out)
    return report
