"""Shared test harness: the checks every tf_contextnet layer must pass.

``run_layer_checks(layer_cls, init_kwargs, inputs, tmp_path)`` runs, in order:

1. constructor contract: each init kwarg is stored as an attribute of the same name, and
   ``get_config`` → ``from_config`` → ``get_config`` round-trips;
2. ``.keras`` save/load of a model wrapping the layer gives identical outputs (inference);
3. one ``fit`` step changes the trainable weights and gives a finite loss;
4. mixed precision (``mixed_float16``, ``mixed_bfloat16``): variables stay float32, outputs are in
   the compute dtype, finite, and close to the float32 outputs.

Inputs follow the library's convention: a layer is called as ``layer(inputs, training=...)``
where ``inputs`` is one array or a tuple such as ``(x, lengths)``; the output is one tensor or a
tuple whose first element is the main output (e.g. ``(y, lengths)``).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import keras
import numpy as np
import tensorflow as tf


def main_output(outputs: Any) -> tf.Tensor:
    """The main output of a layer: the tensor itself, or the first element of a tuple/list."""
    if isinstance(outputs, (tuple, list)):
        return outputs[0]
    return outputs


@keras.saving.register_keras_serializable(package="tf_contextnet_tests")
class LayerModel(keras.Model):
    """A model that applies one layer and returns its main output (for save/load and fit)."""

    def __init__(self, layer: keras.layers.Layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs, training=None):
        if isinstance(inputs, list):
            inputs = tuple(inputs)
        return main_output(self.layer(inputs, training=training))

    def get_config(self):
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


def _as_inputs(inputs: Any) -> Any:
    if isinstance(inputs, (tuple, list)):
        return tuple(tf.convert_to_tensor(x) for x in inputs)
    return tf.convert_to_tensor(inputs)


def _valid_only(y: np.ndarray, inputs: Any, valid_mask_fn: Callable | None) -> np.ndarray:
    return y if valid_mask_fn is None else np.where(valid_mask_fn(inputs, y), y, 0.0)


def check_config_round_trip(layer_cls: type, init_kwargs: dict) -> keras.layers.Layer:
    """Each kwarg is stored as an attribute; config round-trips through ``from_config``."""
    layer = layer_cls(**init_kwargs)
    for name, value in init_kwargs.items():
        assert hasattr(layer, name), f"{layer_cls.__name__} does not store constructor arg {name!r}"
        stored = getattr(layer, name)
        if isinstance(value, (list, tuple)):
            assert tuple(stored) == tuple(value), f"{name}: stored {stored!r}, given {value!r}"
        elif not isinstance(value, (keras.layers.Layer, dict)):
            assert stored == value, f"{name}: stored {stored!r}, given {value!r}"
    config = layer.get_config()
    for name in init_kwargs:
        assert name in config, f"{layer_cls.__name__}.get_config() lacks {name!r}"
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    return layer


def check_save_load(layer: keras.layers.Layer, inputs: Any, tmp_path: os.PathLike, atol: float = 1e-6,
                    valid_mask_fn: Callable | None = None) -> None:
    """``.keras`` save/load of a wrapping model reproduces the inference outputs."""
    model = LayerModel(layer)
    x = _as_inputs(inputs)
    before = keras.ops.convert_to_numpy(model(x, training=False))
    path = os.path.join(str(tmp_path), f"{layer.name}.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    after = keras.ops.convert_to_numpy(restored(x, training=False))
    np.testing.assert_allclose(_valid_only(after, x, valid_mask_fn), _valid_only(before, x, valid_mask_fn),
                               atol=atol, err_msg="outputs differ after .keras save/load")


def check_fit_step(layer_cls: type, init_kwargs: dict, inputs: Any) -> None:
    """One ``fit`` step on a regression to random targets gives a finite loss and moves weights."""
    model = LayerModel(layer_cls(**init_kwargs))
    x = _as_inputs(inputs)
    target = tf.random.stateless_normal(tf.shape(model(x, training=False)), seed=(1, 2))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [np.array(w) for w in model.trainable_weights]
    assert before, f"{layer_cls.__name__} has no trainable weights"
    history = model.fit(tf.data.Dataset.from_tensors((x, target)), epochs=1, verbose=0)
    loss = history.history["loss"][-1]
    assert np.isfinite(loss) and loss > 0.0, f"fit loss {loss}"
    moved = [not np.allclose(b, np.array(w)) for b, w in zip(before, model.trainable_weights)]
    assert any(moved), "no trainable weight changed after one fit step"


def check_mixed_precision(layer_cls: type, init_kwargs: dict, inputs: Any, rtol: float = 0.05,
                          valid_mask_fn: Callable | None = None) -> None:
    """Variables stay float32; outputs take the compute dtype and stay close to float32 outputs."""
    x = _as_inputs(inputs)
    reference = layer_cls(**init_kwargs)
    expected = keras.ops.convert_to_numpy(main_output(reference(x, training=False)))
    for policy, compute in (("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")):
        layer = layer_cls(**init_kwargs, dtype=policy)
        layer(x, training=False)
        layer.set_weights(reference.get_weights())
        out = main_output(layer(x, training=False))
        if out.dtype.is_floating:
            assert out.dtype.name == compute, f"{policy}: output dtype {out.dtype.name}, expected {compute}"
        for v in layer.weights:
            assert v.dtype == "float32", f"{policy}: variable {v.path} is {v.dtype}, expected float32"
        got = keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))
        assert np.all(np.isfinite(got)), f"{policy}: non-finite outputs"
        scale = max(1.0, float(np.max(np.abs(expected))))
        tol = rtol if compute == "float16" else 4 * rtol
        err = np.max(np.abs(_valid_only(got, x, valid_mask_fn) - _valid_only(expected, x, valid_mask_fn)))
        assert err <= tol * scale, f"{policy}: max error {err} > {tol * scale}"


def run_layer_checks(layer_cls: type, init_kwargs: dict, inputs: Any, tmp_path: os.PathLike, *,
                     atol: float = 1e-6, fit: bool = True, mixed_precision: bool = True,
                     mixed_precision_rtol: float = 0.05, valid_mask_fn: Callable | None = None) -> None:
    """Run every harness check on ``layer_cls(**init_kwargs)`` with ``inputs``.

    ``valid_mask_fn(inputs, y) -> bool array like y`` restricts comparisons to valid frames where
    padded positions carry no meaning.
    """
    layer = check_config_round_trip(layer_cls, init_kwargs)
    check_save_load(layer, inputs, tmp_path, atol=atol, valid_mask_fn=valid_mask_fn)
    if fit:
        check_fit_step(layer_cls, init_kwargs, inputs)
    if mixed_precision:
        check_mixed_precision(layer_cls, init_kwargs, inputs, rtol=mixed_precision_rtol,
                              valid_mask_fn=valid_mask_fn)


def lengths_mask_fn(lengths_index: int = 1, out_lengths_fn: Callable[[np.ndarray], np.ndarray] | None = None,
                    ) -> Callable:
    """A ``valid_mask_fn`` for layers called as ``(x, lengths)``: keep frames ``t < out_lengths``."""

    def fn(inputs: Sequence[tf.Tensor], y: np.ndarray) -> np.ndarray:
        lengths = np.asarray(inputs[lengths_index])
        if out_lengths_fn is not None:
            lengths = np.asarray(out_lengths_fn(lengths))
        mask = np.arange(y.shape[1])[None, :] < lengths[:, None]
        return mask.reshape(mask.shape + (1,) * (y.ndim - 2))

    return fn
