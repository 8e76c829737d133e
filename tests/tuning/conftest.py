"""Fixtures of the sweep tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuning.sweep_data import write_fsdd_records


@pytest.fixture(scope="session")
def fsdd_records(fsdd_dir, tmp_path_factory) -> dict[str, Path]:
    """12 training recordings (every digit; two speakers), 4 dev recordings (a third speaker)."""
    root = tmp_path_factory.mktemp("fsdd_sweep")
    train = [f"{d}_george_5.wav" for d in range(10)] + ["2_jackson_5.wav", "8_jackson_5.wav"]
    dev = [f"{d}_lucas_0.wav" for d in (1, 4, 7, 9)]
    return write_fsdd_records(fsdd_dir, root, {"train": train, "dev": dev})
