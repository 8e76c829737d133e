"""ContextNet S / M / L as configuration dicts, and the one function that resolves them.

Paper (Han et al., 2020, Table 5/6): α = 0.5 / 1 / 2 with 10.8M / 31.4M / 112.7M parameters and
a 1k word-piece vocabulary. Table 1 with a one-layer 640-unit LSTM decoder and a 640 joint gives
11.0M / 28.1M / 95.8M; a *two*-layer 640 LSTM decoder for M and L gives 31.4M (M, -0.1%) and
99.1M (L, -12%). The presets use that reading (see docs/model.md); every entry can be overridden.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "contextnet_s": {"alpha": 0.5, "prediction_num_layers": 1},
    "contextnet_m": {"alpha": 1.0, "prediction_num_layers": 2},
    "contextnet_l": {"alpha": 2.0, "prediction_num_layers": 2},
}

PAPER_PARAMETERS: dict[str, float] = {"contextnet_s": 10.8e6, "contextnet_m": 31.4e6, "contextnet_l": 112.7e6}


def preset_config(name: str, vocabulary_size: int, **overrides: Any) -> dict[str, Any]:
    """``ContextNetTransducer`` keyword arguments of preset ``name`` with ``overrides`` applied."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
    return {**PRESETS[name], "vocabulary_size": int(vocabulary_size), **overrides}
