"""WarmupSchedule against the Transformer schedule written in Vaswani et al.'s own form."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tf_contextnet.training import WarmupSchedule, make_optimizer


def vaswani(step_plus_one: np.ndarray, d_model: float, warmup: int) -> np.ndarray:
    """lrate = d_model^-0.5 · min(step^-0.5, step · warmup^-1.5) (Attention Is All You Need, eq. 3)."""
    s = step_plus_one.astype(np.float64)
    return d_model ** -0.5 * np.minimum(s ** -0.5, s * warmup ** -1.5)


def test_matches_transformer_schedule_with_paper_peak():
    warmup, peak = 15000, 0.0025
    d_model = 1.0 / (peak ** 2 * warmup)  # the width whose schedule peaks at 0.0025 after 15k steps
    steps = np.array([0, 1, 100, 7499, 14998, 14999, 15000, 30000, 59999, 200000])
    got = np.array([float(WarmupSchedule()(s)) for s in steps])
    np.testing.assert_allclose(got, vaswani(steps + 1, d_model, warmup), rtol=1e-5)
    assert float(WarmupSchedule()(14999)) == pytest.approx(peak, rel=1e-6)
    assert float(WarmupSchedule()(4 * 15000 - 1)) == pytest.approx(peak / 2, rel=1e-6)


def test_configurable_decay_and_floor():
    schedule = WarmupSchedule(peak_learning_rate=1.0, warmup_steps=10, decay_exponent=1.0, min_learning_rate=0.2)
    assert float(schedule(4)) == pytest.approx(0.5)  # warm-up is not floored
    assert float(schedule(19)) == pytest.approx(0.5)  # (10 / 20)^1
    assert float(schedule(999)) == pytest.approx(0.2)  # floored


def test_serialises_alone_and_inside_an_optimizer():
    schedule = WarmupSchedule(peak_learning_rate=0.01, warmup_steps=7, decay_exponent=0.3)
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert isinstance(restored, WarmupSchedule) and restored.get_config() == schedule.get_config()
    optimizer = make_optimizer(schedule)
    clone = keras.optimizers.Adam.from_config(optimizer.get_config())
    assert isinstance(clone._learning_rate, WarmupSchedule)
    assert float(clone._learning_rate(100)) == float(schedule(100))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupSchedule(warmup_steps=0)
    with pytest.raises(ValueError, match="peak_learning_rate"):
        WarmupSchedule(peak_learning_rate=-1.0)


def test_optimizer_has_paper_moments_and_clipping():
    optimizer = make_optimizer()
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.9, 0.98, 1e-9)
    assert optimizer.global_clipnorm == 5.0
    assert isinstance(optimizer._learning_rate, WarmupSchedule)
