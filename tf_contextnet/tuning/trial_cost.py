"""A trial's cost, known before it trains: parameters and encoder GFLOPs per second of audio.

Both come from the analytic counts of ``tf_contextnet.models.complexity`` (no model is built) and
follow the encoder's depth (``block_indices``): ``parameters`` is the whole transducer's weight
count (the auxiliary CTC head included when ``ctc_weight`` > 0; equal to the built model's
``count_params()``), ``gflops`` the encoder's GFLOPs per second of audio (the paper's Table 4
measure, docs/flops.md).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tf_contextnet.models.complexity import encoder_gflops_per_second, transducer_parameters

# ContextNetTransducer's own defaults for the options a search space may leave out.
_DEFAULTS = {"num_mel_bins": 80, "prediction_embedding_dim": 640, "prediction_units": 640,
             "prediction_num_layers": 1, "joint_dim": 640, "block_indices": None, "ctc_weight": 0.0,
             "se_context_window": None}


class TrialCost(NamedTuple):
    """``parameters`` (whole transducer) and ``gflops`` (encoder, per second of audio)."""

    parameters: int
    gflops: float


def trial_cost(model_options: dict[str, Any], vocabulary_size: int) -> TrialCost:
    """The cost of ``ContextNetTransducer(vocabulary_size, **model_options)``."""
    options = {**_DEFAULTS, **{k: v for k, v in model_options.items() if k != "augmentation"}}
    encoder = dict(alpha=options["alpha"], kernel_size=options["kernel_size"],
                   downsample_blocks=options["downsample_blocks"], se=options["se"],
                   se_context_window=options["se_context_window"], num_mel_bins=options["num_mel_bins"],
                   block_indices=options["block_indices"])
    parameters = transducer_parameters(
        vocabulary_size, **encoder, prediction_embedding_dim=options["prediction_embedding_dim"],
        prediction_units=options["prediction_units"], prediction_num_layers=options["prediction_num_layers"],
        joint_dim=options["joint_dim"], ctc_weight=options["ctc_weight"])["total"]
    return TrialCost(int(parameters), float(encoder_gflops_per_second(**encoder)))


def over_budget(cost: TrialCost, max_gflops: float | None = None, max_params: float | None = None) -> str | None:
    """Why ``cost`` exceeds the budget (a sentence), or ``None`` when it fits."""
    reasons = []
    if max_gflops is not None and cost.gflops > max_gflops:
        reasons.append(f"{cost.gflops:.3f} GFLOPs/s > budget {max_gflops:g}")
    if max_params is not None and cost.parameters > max_params:
        reasons.append(f"{cost.parameters:,} parameters > budget {max_params:,.0f}")
    return "; ".join(reasons) or None
