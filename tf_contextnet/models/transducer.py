"""The transducer contract: the parts and methods that training, decoding, serving and tuning use.

Shape letters: B batch, T feature frames, T' encoder frames, F feature bins, U labels,
De/Dp encoder/prediction channels, J joint width, V vocabulary (blank 0 included).

A model *declares* the contract by implementing the ``Transducer`` protocol below; code above the
models floor reaches the encoder, prediction network and joint network through
``transducer_parts(model)`` and never guesses attribute names. The contract, per method:

- ``parts() -> TransducerParts(encoder, prediction_network, joint_network)``;
- ``transcribe(features [B, T, F], lengths [B], training=False) -> (encoded [B, T', De], lengths' [B])``;
- ``initial_state(batch_size) -> state``: the prediction network's start state (opaque nested
  tensors; ``ContextNetTransducer``: float32 ``[L, 2, B, H]``, L LSTM layers, (h, c), zeros);
- ``predict_step(tokens [B] int32, state) -> (prediction [B, Dp], new_state)``; blank (0) is the
  start symbol, so the first step feeds zeros;
- ``join(encoded [..., De], prediction [..., Dp]) -> logits [..., V]``: numpy broadcasting of the
  leading axes, projections applied before broadcasting (the lattice is
  ``join(encoded[:, :, None], predicted[:, None]) -> [B, T', U+1, V]``, one step is
  ``join(enc [B, De], pred [B, Dp]) -> [B, V]``);
- ``vocabulary_size``: V.

The parts themselves have layer-level contracts (docs/interfaces.md) for searches that cache
projections: ``prediction_network.get_initial_state(batch_size)`` / ``predict_step(tokens, state)``,
``joint_network.project_encoder`` / ``project_prediction`` / ``join(enc_proj, pred_proj)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

import keras
import tensorflow as tf

CONTRACT_METHODS = ("parts", "transcribe", "initial_state", "predict_step", "join")
PREDICTION_METHODS = ("get_initial_state", "predict_step")
JOINT_METHODS = ("project_encoder", "project_prediction", "join")


class TransducerParts(NamedTuple):
    """The three networks of an RNN-Transducer."""

    encoder: keras.layers.Layer
    prediction_network: keras.layers.Layer
    joint_network: keras.layers.Layer


@runtime_checkable
class Transducer(Protocol):
    """What a transducer model declares (see the module docstring for shapes)."""

    vocabulary_size: int

    def parts(self) -> TransducerParts: ...

    def transcribe(self, features: tf.Tensor, lengths: tf.Tensor, training: Any = False
                   ) -> tuple[tf.Tensor, tf.Tensor]: ...

    def initial_state(self, batch_size: int | tf.Tensor) -> Any: ...

    def predict_step(self, tokens: tf.Tensor, state: Any) -> tuple[tf.Tensor, Any]: ...

    def join(self, encoded: tf.Tensor, prediction: tf.Tensor) -> tf.Tensor: ...


def _require(owner: object, methods: tuple[str, ...], what: str) -> None:
    missing = [m for m in methods if not callable(getattr(owner, m, None))]
    if missing:
        raise TypeError(f"{what} does not declare the transducer contract: missing {', '.join(missing)} "
                        f"(see tf_contextnet.models.transducer)")


def transducer_parts(model: Any) -> TransducerParts:
    """``model.parts()``, checked: the model and its parts declare the contract, or a ``TypeError`` says
    which method is missing."""
    name = getattr(model, "name", type(model).__name__)
    _require(model, CONTRACT_METHODS, f"model {name!r}")
    parts = model.parts()
    if not isinstance(parts, TransducerParts):
        raise TypeError(f"model {name!r}: parts() must return TransducerParts, got {type(parts).__name__}")
    _require(parts.prediction_network, PREDICTION_METHODS, f"prediction network of {name!r}")
    _require(parts.joint_network, JOINT_METHODS, f"joint network of {name!r}")
    return parts
