"""A trial's cost before training: parameters against the built model, GFLOPs against docs/flops.md,
and the budget filter that skips configurations without training them."""

from __future__ import annotations

import pathlib
import re

import keras_tuner
import pytest

from tf_contextnet.tuning import (ContextNetHyperModel, SearchSpaceError, check_budget, collect_results, make_tuner,
                                  over_budget, parse_search_space, plan_steps, read_trial_record)
from tf_contextnet.tuning.trial_cost import TrialCost

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
TINY_MODEL = {"prediction_embedding_dim": 16, "prediction_units": 16, "joint_dim": 24}


def _flops_table() -> dict[tuple[int, float, str], float]:
    """``{(kernel, alpha, "2x"|"8x"): GFLOPs}`` read from docs/flops.md's Markdown table."""
    lines = [line for line in (DOCS / "flops.md").read_text().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    columns = [re.fullmatch(r"α=([\d.]+) (2x|8x)", cell) for cell in header[1:]]
    table = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        for match, value in zip(columns, cells[1:]):
            table[(int(cells[0]), float(match.group(1)), match.group(2))] = float(value)
    return table


def _hypermodel(space, vocabulary_size=11):
    def no_data():
        raise AssertionError("a skipped or cost-only trial must not touch the data")

    return ContextNetHyperModel(space, vocabulary_size, no_data, tokenizer=None, steps_per_epoch=10,
                                steps_per_trial=20)


def _hp(**values):
    hp = keras_tuner.HyperParameters()
    hp.values.update(values)
    return hp


def test_gflops_equal_the_docs_table():
    table = _flops_table()
    assert len(table) == 24
    space = parse_search_space({"search": {"alpha": [0.5, 1.0, 2.0], "kernel_size": [3, 5, 11, 21],
                                           "downsampling": ["2x", "8x"]}})
    hypermodel = _hypermodel(space)
    for (kernel, alpha, downsampling), gflops in table.items():
        values = hypermodel.trial_values(_hp(alpha=alpha, kernel_size=kernel, downsampling=downsampling))
        assert round(hypermodel.cost(values).gflops, 3) == pytest.approx(gflops, abs=1e-9), (kernel, alpha,
                                                                                             downsampling)


@pytest.mark.parametrize("values", [
    {"alpha": 0.125, "kernel_size": 3, "downsampling": "2x", "se": False},
    {"alpha": 0.25, "kernel_size": 21, "downsampling": "8x", "se": True, "se_context_window": 16},
    {"alpha": 0.125, "kernel_size": 11, "downsampling": "8x", "se": True, "se_context_window": 0},
])
def test_parameters_equal_the_built_models_count(values):
    space = parse_search_space({"search": {"alpha": [0.125, 0.25], "kernel_size": [3, 11, 21],
                                           "downsampling": ["2x", "8x"], "se": [True, False],
                                           "se_context_window": [None, 16]},
                                "model": TINY_MODEL, "training": {"spec_augment": True}})
    hypermodel = _hypermodel(space)
    hp = _hp(**values)
    model = hypermodel.build(hp)
    assert hypermodel.cost(hypermodel.trial_values(hp)).parameters == model.count_params()
    assert model.kernel_size == values["kernel_size"] and model.se == values["se"]


def test_over_budget_names_each_limit():
    cost = TrialCost(parameters=2_000_000, gflops=0.5)
    assert over_budget(cost) is None and over_budget(cost, 0.5, 2e6) is None
    assert over_budget(cost, max_gflops=0.25) == "0.500 GFLOPs/s > budget 0.25"
    assert over_budget(cost, 1.0, 1e6) == "2,000,000 parameters > budget 1,000,000"


def test_a_budget_nothing_meets_is_refused():
    space = parse_search_space({"search": {"alpha": {"min": 0.25, "max": 1.0}, "kernel_size": [3, 5]},
                                "budget": {"max_gflops": 0.01}})
    with pytest.raises(SearchSpaceError, match="space.yaml: no configuration of the space fits the budget"):
        check_budget(space, 100, "space.yaml")
    check_budget(parse_search_space({"search": {"alpha": {"min": 0.125, "max": 1.0}},
                                     "budget": {"max_gflops": 0.1}}), 100, "space.yaml")


@pytest.mark.parametrize("kind", ["random", "bayesian", "hyperband"])
def test_over_budget_trials_are_skipped_and_reported_not_trained(kind, tmp_path):
    """Every configuration is over the parameter budget: both trials end without touching data,
    each with a record and a table row saying why."""
    space = parse_search_space({"search": {"alpha": [0.25, 0.5], "kernel_size": [3, 5]}, "model": TINY_MODEL,
                                "budget": {"max_params": 1000}})
    tuner = make_tuner(kind, _hypermodel(space), str(tmp_path), max_trials=2, epochs=3)
    tuner.search(epochs=3, verbose=0)
    rows = collect_results(tmp_path / "tuner")
    assert [r["status"] for r in rows] == ["skipped", "skipped"]
    for row in rows:
        assert re.fullmatch(r"[\d,]+ parameters > budget 1,000", row["note"]) and row["params"] > 1000
        record = read_trial_record(tmp_path / "tuner" / f"trial_{row['trial']}")
        assert "epochs" not in record and "starts" not in record
    assert all(t.status == "FAILED" and "skipped:" in t.message for t in tuner.oracle.trials.values())


@pytest.mark.parametrize("args, message", [
    (("random", 100, None, 200), "steps_per_trial = 100 is below the minimum trial length 200"),
    (("random", 300, 70, 100), "must be a whole number of epochs of steps_per_epoch = 70"),
    (("hyperband", 900, None, 200), "Hyperband's shortest round trains one epoch = 100 steps"),
])
def test_step_plans_that_are_refused(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        plan_steps(*args)


def test_step_plans():
    assert plan_steps("random", 2000, None, 200) == (500, 4)
    assert plan_steps("bayesian", 2001, None, 200) == (2001, 1)
    assert plan_steps("hyperband", 1800, None, 200) == (200, 9)
    assert plan_steps("hyperband", 1800, 600, 200, hyperband_factor=3) == (600, 3)


SHALLOW_SPACE = {"search": {"alpha": [0.125], "kernel_size": [3, 5], "blocks": ["8", [0, 3, 7, 22], "all"],
                            "downsampling": ["2x", "4x", "8x"], "se": [True, False]},
                 "model": {**TINY_MODEL, "batch_norm_momentum": 0.9}, "training": {"ctc_weight": 0.3}}


@pytest.mark.parametrize("values", [
    {"alpha": 0.125, "kernel_size": 3, "blocks": "8", "downsampling": "4x", "se": True},
    {"alpha": 0.125, "kernel_size": 5, "blocks": "0,3,7,22", "downsampling": "2x", "se": False},
])
def test_a_shallow_trials_parameters_equal_the_built_models_count(values):
    """Depth and the auxiliary CTC head both change the count; the built model is the reference."""
    hypermodel = _hypermodel(parse_search_space(SHALLOW_SPACE))
    hp = _hp(**values)
    model = hypermodel.build(hp)
    assert model.encoder.block_indices == tuple(int(i) for i in
                                                {"8": "0,1,3,5,7,9,11,22"}.get(values["blocks"],
                                                                               values["blocks"]).split(","))
    assert model.ctc_weight == 0.3 and model.batch_norm_momentum == 0.9
    cost = hypermodel.cost(hypermodel.trial_values(hp))
    assert cost.parameters == model.count_params()
    full = hypermodel.cost(hypermodel.trial_values(_hp(**{**values, "blocks": "all"})))
    assert full.parameters > cost.parameters and full.gflops > cost.gflops


def _profiled_gflops_per_second(encoder, bins=80, frames=100):
    """GFLOPs of the MatMul / depthwise-conv / conv ops TensorFlow's profiler counts in the traced encoder."""
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    fn = tf.function(lambda x, n: encoder((x, n), training=False)).get_concrete_function(
        tf.TensorSpec([1, frames, bins]), tf.TensorSpec([1], tf.int32))
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation()) \
        .with_empty_output().account_displayed_op_only(False).build()
    options["account_type_regexes"] = ["MatMul", "DepthwiseConv2dNative", "BatchMatMulV2", "Conv2D"]
    return model_analyzer.profile(fn.graph, options=options).total_float_ops / 1e9


def test_a_shallow_trials_gflops_equal_tensorflows_profiler():
    """The 8-block, 4x encoder of the AN4 sweep at α 1/8 over one second (100 frames, 80 mel bins)."""
    hypermodel = _hypermodel(parse_search_space(SHALLOW_SPACE))
    hp = _hp(alpha=0.125, kernel_size=5, blocks="8", downsampling="4x", se=True)
    model = hypermodel.build(hp)
    assert len(model.encoder.blocks) == 8
    gflops = hypermodel.cost(hypermodel.trial_values(hp)).gflops
    assert gflops == pytest.approx(_profiled_gflops_per_second(model.encoder), rel=1e-12)


def test_blocks_lacking_a_strided_block_are_skipped_with_their_names(tmp_path):
    """Blocks "8" with 8x downsampling never builds: the trial is skipped, its note names the missing C14."""
    space = parse_search_space({"search": {"alpha": [0.125], "blocks": ["8"], "downsampling": ["4x", "8x"]},
                                "model": TINY_MODEL, "budget": {"max_gflops": 10.0}})
    check_budget(space, 11, "space.yaml")  # the budget check costs the valid pairs only
    tuner = make_tuner("random", _hypermodel(space), str(tmp_path), max_trials=1, epochs=1)
    trial = keras_tuner.engine.trial.Trial(_hp(alpha=0.125, blocks="8", downsampling="8x"), trial_id="7")
    with pytest.raises(keras_tuner.errors.FailedTrialError, match="skipped: blocks '8' .* lacks the strided block"):
        tuner.run_trial(trial, epochs=1)
    record = read_trial_record(tmp_path / "tuner" / "trial_7")
    assert record["status"] == "skipped" and "C14 of downsampling 8x" in record["reason"]
    assert "parameters" not in record
    [row] = collect_results(tmp_path / "tuner")
    assert (row["status"], row["blocks"], row["downsampling"]) == ("skipped", "8", "8x") and "C14" in row["note"]
