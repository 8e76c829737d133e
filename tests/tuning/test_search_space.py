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
    assert 21 in space.kernel_size and set(space.downsampling) == {"2x", "4x", "8x"}
    assert space.blocks == ("all", "8")


@pytest.mark.parametrize("mapping, message", [
    ({"serch": {}}, "unknown key serch"),
    ({"search": {"kernel": [3]}}, "unknown key search.kernel"),
    ({"search": {"kernel_size": [3, 7]}}, "search.kernel_size = 7: expected one of 3, 5, 11, 21"),
    ({"search": {"downsampling": ["16x"]}}, "search.downsampling = '16x': expected '2x' (stride 2 at C3), '4x'"),
    ({"search": {"blocks": ["deep"]}}, "search.blocks = 'deep': expected one of 'all', '8' or block indices"),
    ({"search": {"blocks": [[0, 3, 3, 22]]}}, "search.blocks = [0, 3, 3, 22]: expected valid block indices "
                                              "(block_indices must be strictly increasing"),
    ({"search": {"blocks": ["0,3,7,23"]}}, "search.blocks = '0,3,7,23': expected valid block indices "
                                           "(block_indices (0, 3, 7, 23) has indices outside 0..22: [23])"),
    ({"search": {"blocks": [[]]}}, "search.blocks = []: expected valid block indices"),
    ({"search": {"blocks": ["8", "0,1,3,5,7,9,11,22"]}}, "expected distinct subsets"),
    ({"search": {"blocks": ["8"]}}, "search.blocks = '8' fits none of search.downsampling ['8x']: blocks '8' "
                                    "(8 blocks: C0 C1 C3 C5 C7 C9 C11 C22) lacks the strided block(s) C14 of "
                                    "downsampling 8x"),
    ({"search": {"blocks": [[0, 3, 22]], "downsampling": ["4x", "8x"]}},
     "search.blocks = '0,3,22' fits none of search.downsampling ['4x', '8x']: blocks '0,3,22' (3 blocks: C0 C3 "
     "C22) lacks the strided block(s) C7 of downsampling 4x (stride 2 at C3 C7); blocks '0,3,22' (3 blocks: C0 "
     "C3 C22) lacks the strided block(s) C7 C14 of downsampling 8x"),
    ({"model": {"batch_norm_momentum": 1.5}}, "model.batch_norm_momentum = 1.5: expected a number in (0, 1)"),
    ({"training": {"ctc_weight": -0.3}}, "training.ctc_weight = -0.3: expected a number >= 0"),
    ({"training": {"spec_augment": {"freq_masks": 2}}}, "unknown key training.spec_augment.freq_masks"),
    ({"training": {"bucket_boundaries": "quartiles"}}, "training.bucket_boundaries = 'quartiles'"),
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
    assert set(names) == {"alpha", "kernel_size", "blocks", "downsampling", "se", "se_context_window",
                          "peak_learning_rate"}
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


def test_blocks_accept_names_and_explicit_indices():
    """A bare index list is one subset; labels are canonical, so a file and reseed.py's copy agree."""
    space = parse_search_space({"search": {"blocks": ["all", 8, "0, 3,7,22", [0, 1, 3, 7, 14, 22]],
                                           "downsampling": ["4x", "8x"]}})
    assert space.blocks == ("all", "8", "0,3,7,22", "0,1,3,7,14,22")
    assert parse_search_space({"search": {"blocks": [0, 3, 7, 22], "downsampling": ["4x"]}}).blocks == ("0,3,7,22",)
    assert parse_search_space({"search": {"blocks": "0,3,7,22", "downsampling": "4x"}}).blocks == ("0,3,7,22",)
    assert SearchSpace().blocks == ("all",)


def test_blocks_and_downsampling_become_model_options():
    space = parse_search_space({"search": {"blocks": ["all", "8", [0, 3, 7, 22]], "downsampling": ["2x", "4x"]},
                                "model": {"batch_norm_momentum": 0.9}, "training": {"ctc_weight": 0.3}})
    eight = space.model_options({"alpha": 0.25, "kernel_size": 5, "blocks": "8", "downsampling": "4x", "se": True})
    assert eight["block_indices"] == (0, 1, 3, 5, 7, 9, 11, 22) and eight["downsample_blocks"] == (3, 7)
    assert eight["ctc_weight"] == 0.3 and eight["batch_norm_momentum"] == 0.9
    explicit = space.model_options({"alpha": 0.25, "kernel_size": 5, "blocks": "0,3,7,22", "downsampling": "2x",
                                    "se": False})
    assert explicit["block_indices"] == (0, 3, 7, 22) and explicit["downsample_blocks"] == (3,)
    full = space.model_options({"alpha": 0.25, "kernel_size": 5, "blocks": "all", "downsampling": "4x", "se": True})
    assert "block_indices" not in full
    old = space.model_options({"alpha": 0.25, "kernel_size": 5, "downsampling": "4x", "se": True})
    assert "block_indices" not in old  # a record from before the blocks dimension: all 23 blocks


def test_mixed_spaces_name_each_combination_that_does_not_fit():
    space = parse_search_space({"search": {"blocks": ["all", "8", [0, 3, 7, 14, 22]],
                                           "downsampling": ["2x", "4x", "8x"]}})
    assert space.invalid_combinations() == [
        "blocks '8' (8 blocks: C0 C1 C3 C5 C7 C9 C11 C22) lacks the strided block(s) C14 of downsampling 8x "
        "(stride 2 at C3 C7 C14)"]
    assert space.combination_error({"blocks": "8", "downsampling": "4x"}) is None
    assert space.combination_error({"blocks": "0,3,7,14,22", "downsampling": "8x"}) is None
    assert "C14" in space.combination_error({"blocks": "8", "downsampling": "8x"})
    assert space.combination_error({"downsampling": "8x"}) is None  # no blocks value: all 23
