"""Search-space files: the schema, its error messages, and what Keras Tuner sees."""

from __future__ import annotations

import json

import keras_tuner
import pytest

from tf_contextnet.tuning.search_space import (GLOBAL_WINDOW, FloatRange, SearchSpace, SearchSpaceError,
                                               load_search_space, parse_search_space)

EXAMPLE_YAML = """
search:
  alpha: [0.25, 0.5]
  kernel_size: [3, 5, 11, 21]
  downsampling: ["2x", "8x"]
  se: [true, false]
  se_context_window: [null, 16]
  peak_learning_rate: {min: 0.0005, max: 0.005, sampling: log}
model: {prediction_units: 64, joint_dim: 64}
training: {batch_size: 4, tokenizer_kind: characters}
budget: {max_gflops: 0.3}
"""


def test_yaml_and_json_files_give_the_same_space(tmp_path):
    import yaml

    (tmp_path / "space.yaml").write_text(EXAMPLE_YAML)
    (tmp_path / "space.json").write_text(json.dumps(yaml.safe_load(EXAMPLE_YAML)))
    from_yaml, from_json = load_search_space(tmp_path / "space.yaml"), load_search_space(tmp_path / "space.json")
    assert from_yaml == from_json
    assert from_yaml.alpha == (0.25, 0.5)
    assert from_yaml.kernel_size == (3, 5, 11, 21)
    assert from_yaml.se_context_window == (GLOBAL_WINDOW, 16)
    assert from_yaml.peak_learning_rate == FloatRange(0.0005, 0.005, None, "log")
    assert from_yaml.max_gflops == 0.3 and from_yaml.max_params is None
    assert from_yaml.training["batch_size"] == 4 and from_yaml.training["noise_stddev"] == 0.075


def test_the_documented_example_parses():
    """docs/tuning.md's example block is a valid space (the docs cannot drift from the schema)."""
    import pathlib

    import yaml

    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "tuning.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    space = parse_search_space(yaml.safe_load(block), "docs/tuning.md")
    assert 21 in space.kernel_size and set(space.downsampling) == {"2x", "8x"}


@pytest.mark.parametrize("mapping, message", [
    ({"serch": {}}, "unknown key serch"),
    ({"search": {"kernel": [3]}}, "unknown key search.kernel"),
    ({"search": {"kernel_size": [3, 7]}}, "search.kernel_size = 7: expected one of 3, 5, 11, 21"),
    ({"search": {"downsampling": ["4x"]}}, "search.downsampling = '4x'"),
    ({"search": {"alpha": [0.25, -1]}}, "search.alpha = -1: expected a number > 0"),
    ({"search": {"alpha": {"min": 0.5, "max": 0.25}}}, "search.alpha.max = 0.25"),
    ({"search": {"alpha": {"max": 0.25}}}, "search.alpha range needs 'min'"),
    ({"search": {"alpha": []}}, "search.alpha = []: expected at least one value"),
    ({"search": {"se": ["yes"]}}, "search.se = 'yes': expected true or false"),
    ({"search": {"se_context_window": [0]}}, "search.se_context_window = 0"),
    ({"search": {"peak_learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "exp"}}},
     "search.peak_learning_rate.sampling = 'exp'"),
    ({"model": {"joint_dim": 0}}, "model.joint_dim = 0"),
    ({"model": {"alpha": 1}}, "unknown key model.alpha"),
    ({"training": {"batch_size": "8"}}, "training.batch_size = '8'"),
    ({"training": {"optimizer": "sgd"}}, "unknown key training.optimizer"),
    ({"budget": {"max_flops": 1}}, "unknown key budget.max_flops"),
    ({"budget": {"max_params": "1M"}}, "budget.max_params = '1M'"),
    ([1, 2], "<top level> = [1, 2]: expected a mapping"),
])
def test_schema_errors_name_the_key_and_value(mapping, message):
    with pytest.raises(SearchSpaceError) as error:
        parse_search_space(mapping, "space.yaml")
    assert str(error.value).startswith("space.yaml: ") and message in str(error.value)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_search_space(tmp_path / "missing.yaml")
    (tmp_path / "bad.json").write_text("{alpha: ")
    with pytest.raises(SearchSpaceError, match="bad.json: not valid JSON"):
        load_search_space(tmp_path / "bad.json")
    (tmp_path / "bad.yaml").write_text("search: [unclosed")
    with pytest.raises(SearchSpaceError, match="bad.yaml: not valid YAML"):
        load_search_space(tmp_path / "bad.yaml")


def test_keras_tuner_space_has_the_conditional_window():
    space = parse_search_space({"search": {"alpha": [0.25, 0.5], "kernel_size": [5, 11], "se": [True, False],
                                           "se_context_window": [None, 16]}})
    hp = keras_tuner.HyperParameters()
    space.declare(hp)
    names = {p.name: p for p in hp.space}
    assert set(names) == {"alpha", "kernel_size", "downsampling", "se", "se_context_window", "peak_learning_rate"}
    assert [c.name for c in names["se_context_window"].conditions] == ["se"]
    assert isinstance(names["downsampling"], keras_tuner.engine.hyperparameters.Fixed)

    off = keras_tuner.HyperParameters()
    off.values.update({"se": False, "alpha": 0.5, "kernel_size": 11})
    values = space.declare(off)
    assert values["se_context_window"] == GLOBAL_WINDOW and not off.is_active("se_context_window")
    assert space.model_options(values) == {"alpha": 0.5, "kernel_size": 11, "downsample_blocks": (3, 7, 14),
                                           "se": False, "se_context_window": None}
    windowed = keras_tuner.HyperParameters()
    windowed.values.update({"se": True, "se_context_window": 16, "alpha": 0.25, "kernel_size": 5})
    options = space.model_options(space.declare(windowed))
    assert options["se"] is True and options["se_context_window"] == 16


def test_defaults_are_the_papers_encoder():
    options = SearchSpace().model_options(SearchSpace().declare(keras_tuner.HyperParameters()))
    assert options == {"alpha": 0.5, "kernel_size": 5, "downsample_blocks": (3, 7, 14), "se": True,
                       "se_context_window": None}
