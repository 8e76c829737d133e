"""TimeBudget (stops fit across resumed runs) and BudgetSchedule (the rate follows the budget spent)."""

from __future__ import annotations

import json
import math
import types
from pathlib import Path

import numpy as np
import pytest

from tf_contextnet.training import time_budget
from tf_contextnet.training.budget_schedule import BudgetSchedule


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_time_budget_stops_and_counts_across_runs(tmp_path: Path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(time_budget.time, "monotonic", clock)
    state = tmp_path / "spent.json"
    schedule = BudgetSchedule(1e-3, warmup_steps=1, final_fraction=0.0, decay_start=0.0)
    callback = time_budget.TimeBudget(60.0, state, save_every_seconds=10.0, schedule=schedule)
    callback.set_model(types.SimpleNamespace(stop_training=False))
    callback.on_train_begin()
    for _ in range(4):  # 4 batches of 10 s: 40 s < 60 s
        clock.now += 10
        callback.on_train_batch_end(0)
    assert not callback.model.stop_training
    assert time_budget.spent_seconds(state) == pytest.approx(40.0)
    assert float(schedule.progress.numpy()) == pytest.approx(40 / 60)
    callback.on_train_end()  # a "killed" run would stop here; the state holds 40 s

    resumed = time_budget.TimeBudget(60.0, state, save_every_seconds=10.0, schedule=schedule)
    resumed.set_model(types.SimpleNamespace(stop_training=False))
    schedule.set_progress(0.0)
    resumed.on_train_begin()
    assert float(schedule.progress.numpy()) == pytest.approx(40 / 60)  # a resume continues the schedule
    clock.now += 15
    resumed.on_train_batch_end(0)
    assert not resumed.model.stop_training  # 55 s
    clock.now += 10
    resumed.on_train_batch_end(0)
    assert resumed.model.stop_training  # 65 s >= 60 s
    assert float(schedule.progress.numpy()) == 1.0
    resumed.on_train_end()
    assert json.loads(state.read_text())["train_seconds"] == pytest.approx(65.0)
    with pytest.raises(ValueError, match=">= 0 seconds"):
        time_budget.TimeBudget(-1.0, state)


@pytest.mark.parametrize("shape, start", [("linear", 0.0), ("cosine", 0.0), ("linear", 0.4), ("cosine", 0.5)])
def test_budget_schedule_against_closed_form(shape, start):
    peak, warmup, final = 3e-3, 100, 0.1
    schedule = BudgetSchedule(peak, warmup, final, shape, decay_start=start)
    for progress in (0.0, 0.3, 0.45, 0.75, 1.0):
        schedule.set_progress(progress)
        q = min(1.0, max(0.0, (progress - start) / (1 - start)))
        for step in (0, 49, 99, 500, 10_000):
            d = 1 - q if shape == "linear" else (1 + math.cos(math.pi * q)) / 2
            expected = peak * min(1.0, (step + 1) / warmup) * (final + (1 - final) * d)
            assert float(schedule(step)) == pytest.approx(expected, rel=1e-5)
    schedule.set_progress(1.0)
    assert float(schedule(10**6)) == pytest.approx(final * peak, rel=1e-5)
    restored = BudgetSchedule.from_config(schedule.get_config())
    assert restored.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="shape"):
        BudgetSchedule(shape="exponential")
    with pytest.raises(ValueError, match="decay_start"):
        BudgetSchedule(decay_start=1.0)
    with pytest.raises(ValueError, match="final_fraction"):
        BudgetSchedule(final_fraction=1.5)


def test_budget_schedule_drives_an_optimizer():
    import keras

    schedule = BudgetSchedule(1e-2, warmup_steps=2, final_fraction=0.0, decay_start=0.0)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    variable = keras.Variable(np.zeros(1, np.float32))
    optimizer.build([variable])
    schedule.set_progress(0.5)
    optimizer.apply_gradients([(np.ones(1, np.float32), variable)])  # step 0: 1e-2 * 1/2 * 0.5
    schedule.set_progress(0.9)
    optimizer.apply_gradients([(np.ones(1, np.float32), variable)])  # step 1: 1e-2 * 1 * 0.1
    np.testing.assert_allclose(variable.numpy(), [-(2.5e-3 + 1e-3)], rtol=1e-5)
