"""The sweep's search space: parsed from a YAML/JSON file, declared to Keras Tuner, turned into models.

Schema (every section and key optional; docs/tuning.md has an example)::

    search:                      # tuned dimensions: a list of values, or a range mapping
      alpha: [0.25, 0.5]         # width multiplier α; or {min: 0.25, max: 1.0, step: 0.25}
      kernel_size: [3, 5, 11, 21]          # a subset of 3, 5, 11, 21
      blocks: ["all", "8"]                 # encoder depth: which of Table 1's rows C0..C22 to keep;
                                           # "all" (23, the paper's), "8" (C0 C1 C3 C5 C7 C9 C11 C22,
                                           # the AN4 recipe's), or explicit indices: [0, 3, 7, 22]
                                           # (one subset) or "0,3,7,22"
      downsampling: ["2x", "8x"]           # 2x: stride 2 at C3 only; 4x: C3, C7; 8x: C3, C7, C14 (the paper's)
      se: [true, false]                    # squeeze-and-excitation on / off
      se_context_window: [null, 16]        # only when se is on; null ("global"): whole-utterance
                                           # mean; N: N frames at each block's own frame rate
      peak_learning_rate: [0.0025]         # or {min: 1e-4, max: 1e-2, sampling: log}
    model:    {prediction_embedding_dim, prediction_units, prediction_num_layers, joint_dim,
               batch_norm_momentum}        # whole numbers >= 1; the momentum in (0, 1)
    training: {batch_size, warmup_steps, decay_exponent, l2_weight, global_clipnorm, spec_augment,
               noise_stddev, noise_start_step, tokenizer_kind, vocabulary_size, normalization,
               max_duration, max_label_length, bucket_boundaries, max_symbols_per_frame, seed, ctc_weight}
    budget:   {max_gflops, max_params}     # configurations above either are skipped, not trained

``training.spec_augment`` is true (``SpecAugment``'s own masks), false, or a mapping of
``SpecAugment`` arguments (``freq_mask_param``, ``num_freq_masks``, ``num_time_masks``,
``time_mask_ratio``). ``training.bucket_boundaries`` is null, seconds, or ``"auto"`` (the
quartiles of the training durations, as ``TrainingConfig``). ``training.ctc_weight`` > 0 adds
``ContextNetTransducer``'s auxiliary CTC loss (its head counts in the parameters).

``blocks`` and ``downsampling`` combine: a subset must keep every strided block of the
downsampling (``check_block_indices``). A blocks value that fits no downsampling of the space, or
a space with no valid combination, is refused when parsed; a combination that does not fit (say
"8" with 8x: C14 is not kept) is skipped when the tuner draws it, its record naming both values.

``se_context_window`` has the units of ``ContextNetTransducer(se_context_window=N)``: a window of
N frames at the rate of the block it sits in (10 ms frames before C3; 20 ms after it; with 8×
downsampling 40 ms after C7 and 80 ms after C14), so N = 16 spans 0.16 s in C0-C3 and 1.28 s in
C15-C22. Inside Keras Tuner a global window is the value 0 (Keras Tuner choices cannot be null).

Errors (``SearchSpaceError``) name the source, the key path and the offending value.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

from tf_contextnet.models.block_table import check_block_indices

KERNEL_SIZES = (3, 5, 11, 21)
DOWNSAMPLING = {"2x": (3,), "4x": (3, 7), "8x": (3, 7, 14)}
# Named encoder depths; "8" is the AN4 recipe's (recipes/an4/RESULTS.md: the 23 blocks barely learn
# there in CPU budgets, these 8 reach 7.73 % test WER in 60 minutes).
BLOCK_SUBSETS: dict[str, tuple[int, ...] | None] = {"all": None, "8": (0, 1, 3, 5, 7, 9, 11, 22)}
GLOBAL_WINDOW = 0
SEARCH_KEYS = ("alpha", "kernel_size", "blocks", "downsampling", "se", "se_context_window", "peak_learning_rate")
MODEL_KEYS = ("prediction_embedding_dim", "prediction_units", "prediction_num_layers", "joint_dim",
              "batch_norm_momentum")
SPEC_AUGMENT_KEYS = ("freq_mask_param", "num_freq_masks", "num_time_masks", "time_mask_ratio")
TRAINING_DEFAULTS: dict[str, Any] = {
    "batch_size": 8, "warmup_steps": None, "decay_exponent": 0.5, "l2_weight": 1e-6, "global_clipnorm": 5.0,
    "spec_augment": True, "noise_stddev": 0.075, "noise_start_step": 10000, "tokenizer_kind": "wordpiece",
    "vocabulary_size": 1000, "normalization": "per-utterance", "max_duration": None, "max_label_length": None,
    "bucket_boundaries": None, "max_symbols_per_frame": 4, "seed": 0, "ctc_weight": 0.0,
}
BUDGET_KEYS = ("max_gflops", "max_params")
SECTIONS = ("search", "model", "training", "budget")


class SearchSpaceError(ValueError):
    """A search-space file or mapping that does not follow the schema."""


@dataclasses.dataclass(frozen=True)
class FloatRange:
    """A continuous (or stepped) range of a float hyperparameter."""

    min: float
    max: float
    step: float | None = None
    sampling: str = "linear"


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Tuned dimensions, fixed model/training settings and the cost budget of one sweep."""

    alpha: tuple[float, ...] | FloatRange = (0.5,)
    kernel_size: tuple[int, ...] = (5,)
    blocks: tuple[str, ...] = ("all",)
    downsampling: tuple[str, ...] = ("8x",)
    se: tuple[bool, ...] = (True,)
    se_context_window: tuple[int, ...] = (GLOBAL_WINDOW,)
    peak_learning_rate: tuple[float, ...] | FloatRange = (0.0025,)
    model: dict = dataclasses.field(default_factory=dict)
    training: dict = dataclasses.field(default_factory=lambda: dict(TRAINING_DEFAULTS))
    max_gflops: float | None = None
    max_params: float | None = None

    def declare(self, hp) -> dict[str, Any]:
        """Declare the dimensions on ``hp`` (a ``keras_tuner.HyperParameters``); return this trial's values.

        Returns ``{"alpha", "kernel_size", "blocks", "downsampling", "se", "se_context_window"
        (0 = global), "peak_learning_rate"}``. ``se_context_window`` is conditional on ``se`` being on.
        """
        values = {
            "alpha": _declare(hp, "alpha", self.alpha),
            "kernel_size": _declare(hp, "kernel_size", self.kernel_size),
            "blocks": _declare(hp, "blocks", self.blocks),
            "downsampling": _declare(hp, "downsampling", self.downsampling),
            "se": _declare(hp, "se", self.se),
            "peak_learning_rate": _declare(hp, "peak_learning_rate", self.peak_learning_rate),
        }
        window = None
        if True in self.se:
            with hp.conditional_scope("se", [True]):
                window = _declare(hp, "se_context_window", self.se_context_window)
        values["se_context_window"] = GLOBAL_WINDOW if window is None else int(window)
        return values

    def model_options(self, values: dict[str, Any]) -> dict[str, Any]:
        """``ContextNetTransducer`` keyword arguments (vocabulary excluded) for trial ``values``.

        ``block_indices`` appears only for a subset of the blocks, ``ctc_weight`` only when > 0
        (values without ``blocks``, from before the dimension existed, mean all 23 blocks).
        """
        se = bool(values["se"])
        window = int(values.get("se_context_window", GLOBAL_WINDOW))
        options = {**self.model, "alpha": float(values["alpha"]), "kernel_size": int(values["kernel_size"]),
                   "downsample_blocks": DOWNSAMPLING[values["downsampling"]], "se": se,
                   "se_context_window": window if se and window != GLOBAL_WINDOW else None}
        indices = block_indices(values.get("blocks", "all"))
        if indices is not None:
            options["block_indices"] = indices
        if self.training["ctc_weight"] > 0:
            options["ctc_weight"] = float(self.training["ctc_weight"])
        return options

    def combination_error(self, values: dict[str, Any]) -> str | None:
        """Why trial ``values``' blocks and downsampling do not fit together (a sentence), or ``None``."""
        return _combination_error(values.get("blocks", "all"), values["downsampling"])

    def invalid_combinations(self) -> list[str]:
        """The ``combination_error`` of every blocks × downsampling pair of the space that does not fit."""
        errors = (_combination_error(b, d) for b in self.blocks for d in self.downsampling)
        return [e for e in errors if e is not None]


def block_indices(label: str) -> tuple[int, ...] | None:
    """The block indices of a ``blocks`` value: a name of ``BLOCK_SUBSETS`` or comma-separated indices."""
    if label in BLOCK_SUBSETS:
        return BLOCK_SUBSETS[label]
    return tuple(int(i) for i in label.split(","))


def _combination_error(blocks: str, downsampling: str) -> str | None:
    kept = check_block_indices(block_indices(blocks), ())
    missing = [i for i in DOWNSAMPLING[downsampling] if i not in kept]
    if not missing:
        return None
    return (f"blocks {blocks!r} ({len(kept)} blocks: {' '.join(f'C{i}' for i in kept)}) lacks the strided "
            f"block(s) {' '.join(f'C{i}' for i in missing)} of downsampling {downsampling} "
            f"(stride 2 at {' '.join(f'C{i}' for i in DOWNSAMPLING[downsampling])})")


def _declare(hp, name: str, space: tuple | FloatRange):
    if isinstance(space, FloatRange):
        return hp.Float(name, space.min, space.max, step=space.step, sampling=space.sampling)
    if len(space) == 1:
        return hp.Fixed(name, space[0])
    if isinstance(space[0], bool):
        return hp.Boolean(name)
    return hp.Choice(name, list(space))


def _fail(source: str, key: str, value: Any, expected: str) -> SearchSpaceError:
    return SearchSpaceError(f"{source}: {key} = {value!r}: expected {expected}")


def _check_keys(source: str, where: str, mapping: Any, allowed) -> dict:
    if not isinstance(mapping, dict):
        raise _fail(source, where or "<top level>", mapping, "a mapping")
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        prefix = f"{where}." if where else ""
        raise SearchSpaceError(f"{source}: unknown key {prefix}{unknown[0]}; expected one of {', '.join(allowed)}")
    return mapping


def _as_list(source: str, key: str, value: Any) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _fail(source, key, value, "at least one value")
    if len(set(map(repr, values))) != len(values):
        raise _fail(source, key, value, "distinct values")
    return values


def _number(source: str, key: str, value: Any, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= low:
        raise _fail(source, key, value, f"a number > {low:g}")
    return float(value)


def _float_space(source: str, key: str, value: Any) -> tuple[float, ...] | FloatRange:
    if isinstance(value, dict):
        _check_keys(source, key, value, ("min", "max", "step", "sampling"))
        for required in ("min", "max"):
            if required not in value:
                raise SearchSpaceError(f"{source}: {key} range needs '{required}' (got keys {sorted(value)})")
        low, high = _number(source, f"{key}.min", value["min"]), _number(source, f"{key}.max", value["max"])
        if high <= low:
            raise _fail(source, f"{key}.max", high, f"a value above {key}.min = {low}")
        step = None if value.get("step") is None else _number(source, f"{key}.step", value["step"])
        sampling = value.get("sampling", "linear")
        if sampling not in ("linear", "log"):
            raise _fail(source, f"{key}.sampling", sampling, "'linear' or 'log'")
        return FloatRange(low, high, step, sampling)
    return tuple(_number(source, key, v) for v in _as_list(source, key, value))


def _int_choices(source: str, key: str, value: Any, allowed: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for v in _as_list(source, key, value):
        if isinstance(v, bool) or v not in allowed:
            raise _fail(source, key, v, f"one of {', '.join(map(str, allowed))}")
        out.append(int(v))
    return tuple(out)


def _windows(source: str, value: Any) -> tuple[int, ...]:
    out = []
    for v in _as_list(source, "search.se_context_window", value):
        if v is None or v == "global":
            out.append(GLOBAL_WINDOW)
        elif isinstance(v, int) and not isinstance(v, bool) and v >= 1:
            out.append(v)
        else:
            raise _fail(source, "search.se_context_window", v, "null / 'global' or a whole number of frames >= 1")
    return tuple(out)


def _training(source: str, value: Any) -> dict:
    _check_keys(source, "training", value, tuple(TRAINING_DEFAULTS))
    training = {**TRAINING_DEFAULTS, **value}
    for key in ("batch_size", "vocabulary_size", "max_symbols_per_frame"):
        if isinstance(training[key], bool) or not isinstance(training[key], int) or training[key] < 1:
            raise _fail(source, f"training.{key}", training[key], "a whole number >= 1")
    if training["warmup_steps"] is not None and (not isinstance(training["warmup_steps"], int)
                                                 or training["warmup_steps"] < 1):
        raise _fail(source, "training.warmup_steps", training["warmup_steps"], "null or a whole number >= 1")
    if training["tokenizer_kind"] not in ("wordpiece", "sentencepiece", "characters"):
        raise _fail(source, "training.tokenizer_kind", training["tokenizer_kind"],
                    "'wordpiece', 'sentencepiece' or 'characters'")
    if training["normalization"] not in ("none", "per-utterance"):
        raise _fail(source, "training.normalization", training["normalization"], "'none' or 'per-utterance'")
    ctc = training["ctc_weight"]
    if isinstance(ctc, bool) or not isinstance(ctc, (int, float)) or not 0 <= ctc < math.inf:
        raise _fail(source, "training.ctc_weight", ctc, "a number >= 0 (0: no auxiliary CTC loss)")
    training["ctc_weight"] = float(ctc)
    if isinstance(training["spec_augment"], dict):
        _check_keys(source, "training.spec_augment", training["spec_augment"], SPEC_AUGMENT_KEYS)
    elif not isinstance(training["spec_augment"], bool):
        raise _fail(source, "training.spec_augment", training["spec_augment"],
                    f"true, false or a mapping of {', '.join(SPEC_AUGMENT_KEYS)}")
    buckets = training["bucket_boundaries"]
    if buckets not in (None, "auto") and not (isinstance(buckets, list) and buckets and all(
            not isinstance(b, bool) and isinstance(b, (int, float)) and b > 0 for b in buckets)):
        raise _fail(source, "training.bucket_boundaries", buckets, "null, 'auto' or a list of seconds > 0")
    return training


def _blocks(source: str, value: Any) -> tuple[str, ...]:
    """``blocks`` values as labels: names of ``BLOCK_SUBSETS`` or canonical comma-separated indices."""
    key = "search.blocks"
    # One explicit subset may be written without the outer list: blocks: [0, 3, 7, 22].
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value) \
            and str(value[0]) not in BLOCK_SUBSETS:
        value = [value]
    labels = []
    for v in _as_list(source, key, value):
        if str(v) in BLOCK_SUBSETS and not isinstance(v, (bool, list)):
            labels.append(str(v))
            continue
        items = v.split(",") if isinstance(v, str) else v
        if not isinstance(items, list) or not all(
                (isinstance(i, int) and not isinstance(i, bool)) or (isinstance(i, str) and i.strip().isdigit())
                for i in items):
            raise _fail(source, key, v, f"one of {', '.join(map(repr, BLOCK_SUBSETS))} or block indices "
                                        "(a list of whole numbers or '0,3,7,22')")
        try:
            kept = check_block_indices([int(i) for i in items], ())
        except ValueError as error:
            raise _fail(source, key, v, f"valid block indices ({error})") from error
        labels.append(",".join(map(str, kept)))
    if len({check_block_indices(block_indices(label), ()) for label in labels}) != len(labels):
        raise _fail(source, key, value, "distinct subsets")
    return tuple(labels)


def _check_combinations(source: str, space: SearchSpace) -> None:
    """Refuse a blocks value that fits none of the space's downsamplings (and so a space with no valid pair)."""
    for blocks in space.blocks:
        errors = [_combination_error(blocks, d) for d in space.downsampling]
        if all(errors):
            raise SearchSpaceError(f"{source}: search.blocks = {blocks!r} fits none of search.downsampling "
                                   f"{list(space.downsampling)}: " + "; ".join(errors))


def parse_search_space(mapping: Any, source: str = "search space") -> SearchSpace:
    """A ``SearchSpace`` from a parsed file (see the module docstring for the schema)."""
    mapping = _check_keys(source, "", {} if mapping is None else mapping, SECTIONS)
    search = _check_keys(source, "search", mapping.get("search") or {}, SEARCH_KEYS)
    model = _check_keys(source, "model", mapping.get("model") or {}, MODEL_KEYS)
    for key, value in model.items():
        if key == "batch_norm_momentum":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise _fail(source, f"model.{key}", value, "a number in (0, 1)")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(source, f"model.{key}", value, "a whole number >= 1")
    budget = _check_keys(source, "budget", mapping.get("budget") or {}, BUDGET_KEYS)
    fields: dict[str, Any] = {"model": dict(model), "training": _training(source, mapping.get("training") or {})}
    for key in BUDGET_KEYS:
        if budget.get(key) is not None:
            fields[key] = _number(source, f"budget.{key}", budget[key])
    if "alpha" in search:
        fields["alpha"] = _float_space(source, "search.alpha", search["alpha"])
    if "peak_learning_rate" in search:
        fields["peak_learning_rate"] = _float_space(source, "search.peak_learning_rate", search["peak_learning_rate"])
    if "kernel_size" in search:
        fields["kernel_size"] = _int_choices(source, "search.kernel_size", search["kernel_size"], KERNEL_SIZES)
    if "downsampling" in search:
        values = _as_list(source, "search.downsampling", search["downsampling"])
        for v in values:
            if v not in DOWNSAMPLING:
                raise _fail(source, "search.downsampling", v,
                            "'2x' (stride 2 at C3), '4x' (C3, C7) or '8x' (C3, C7, C14)")
        fields["downsampling"] = tuple(values)
    if "blocks" in search:
        fields["blocks"] = _blocks(source, search["blocks"])
    if "se" in search:
        values = _as_list(source, "search.se", search["se"])
        for v in values:
            if not isinstance(v, bool):
                raise _fail(source, "search.se", v, "true or false")
        fields["se"] = tuple(values)
    if "se_context_window" in search:
        fields["se_context_window"] = _windows(source, search["se_context_window"])
    space = SearchSpace(**fields)
    _check_combinations(source, space)
    return space


def load_search_space(path: str | os.PathLike) -> SearchSpace:
    """Read a ``.yaml``/``.yml`` or ``.json`` search-space file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"search-space file {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as error:
            raise SearchSpaceError(f"{path}: not valid JSON: {error}") from error
    else:
        import yaml

        try:
            mapping = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise SearchSpaceError(f"{path}: not valid YAML: {error}") from error
    return parse_search_space(mapping, source=path)
