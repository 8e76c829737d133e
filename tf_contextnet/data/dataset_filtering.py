"""Which utterances ``make_dataset`` drops, decided from their metadata before any audio is read."""

from __future__ import annotations

import collections
from typing import Sequence

from tf_contextnet.data.dataset_report import DatasetReport
from tf_contextnet.data.filter_options import FilterOptions
from tf_contextnet.features.sample_rate import SAMPLE_RATE


def plan_filtering(rows: Sequence[tuple[str, int, str]], tokenizer, filtering: FilterOptions,
                   min_samples: int = 1) -> tuple[set[str], DatasetReport]:
    """The ids to drop and the report; raises ``ValueError`` for unknown symbols when ``on_unknown='error'``.

    ``rows``: ``(id, num_samples, transcript)`` per utterance (``read_metadata``). Reasons, checked
    in this order: ``unknown_symbols``, ``no_labels`` (empty label sequence), ``too_short`` (fewer
    than ``min_samples`` samples: no feature frame), ``too_long``, ``too_many_labels``.
    """
    lengths, unknown = tokenizer.label_statistics([r[2] for r in rows])
    dropped: dict[str, list[str]] = collections.defaultdict(list)
    kept_samples = 0
    for (uid, samples, text), label_length, is_unknown in zip(rows, lengths, unknown):
        if is_unknown:
            if filtering.on_unknown == "error":
                raise ValueError(f"utterance {uid!r}: transcript {text!r} has {tokenizer.unknown_symbols(text)} "
                                 f"outside the {tokenizer.kind} tokenizer's vocabulary (on_unknown='skip' drops "
                                 "such utterances and counts them)")
            dropped["unknown_symbols"].append(uid)
        elif label_length == 0:
            dropped["no_labels"].append(uid)
        elif samples < min_samples:
            dropped["too_short"].append(uid)
        elif filtering.max_duration is not None and samples > filtering.max_duration * SAMPLE_RATE:
            dropped["too_long"].append(uid)
        elif filtering.max_label_length is not None and label_length > filtering.max_label_length:
            dropped["too_many_labels"].append(uid)
        else:
            kept_samples += samples
    drop = {uid for ids in dropped.values() for uid in ids}
    report = DatasetReport(total=len(rows), kept=len(rows) - len(drop), kept_seconds=kept_samples / SAMPLE_RATE,
                           dropped={k: len(v) for k, v in sorted(dropped.items())},
                           examples={k: v[:10] for k, v in sorted(dropped.items())})
    return drop, report
