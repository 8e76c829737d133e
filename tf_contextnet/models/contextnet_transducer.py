"""ContextNet RNN-Transducer: encoder, prediction network and joint network in one Keras model.

Shape letters: B batch, T feature frames, T' encoder frames, F feature bins, U labels,
H prediction units, D encoder channels, V vocabulary (blank 0 included).
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import keras
import tensorflow as tf

from tf_contextnet.losses.transducer_objective import FUSED_LOSS_OUTPUT_KEYS
from tf_contextnet.models.contextnet_encoder import ContextNetEncoder
from tf_contextnet.models.joint_network import JointNetwork
from tf_contextnet.models.prediction_network import PredictionNetwork
from tf_contextnet.models.presets import preset_config
from tf_contextnet.models.transducer import TransducerParts
from tf_contextnet.models.transducer_training_mixin import DEFAULT_L2_WEIGHT, TransducerTrainingMixin

INPUT_KEYS = ("features", "feature_lengths", "labels", "label_lengths")


@keras.saving.register_keras_serializable(package="tf_contextnet")
class ContextNetTransducer(TransducerTrainingMixin, keras.Model):
    """ContextNet (Han et al., 2020) RNN-T; declares the transducer contract (``models/transducer.py``).

    Contract methods, in the spirit of torchaudio's RNNT: ``parts()`` → ``TransducerParts(encoder,
    prediction_network, joint_network)``; ``transcribe(features, lengths, training)`` →
    ``(encoded [B, T', D], lengths' [B])``; ``initial_state(batch_size)`` → ``[L, 2, B, H]`` float32
    zeros; ``predict_step(tokens [B], state)`` → ``(prediction [B, H], state)``;
    ``join(encoded [.., D], prediction [.., H])`` → logits ``[.., V]`` (broadcasting). Training also
    uses ``predict_labels(labels, label_lengths, training)`` → ``(predicted [B, U+1, H],
    label_lengths + 1)``. ``call(x)`` takes the data dict (``features [B, T, F]``,
    ``feature_lengths [B]``, ``labels [B, U]``, ``label_lengths [B]``) and returns
    ``{"logits": [B, T', U+1, V], "logit_lengths": [B], "label_lengths": [B]}`` (in training with
    ``fused_loss_sub_batch_size`` set, the joint's inputs instead of ``"logits"``: see below).

    ``augmentation`` (optional Keras layer called as ``aug((features, lengths), training=True)`` →
    ``(features, lengths)``, e.g. SpecAugment, or a list of such layers applied in order, e.g.
    ``[FrequencyWarp(), SpecAugment()]``) is applied before the encoder in training only.
    ``from_preset("contextnet_s" | "contextnet_m" | "contextnet_l", vocabulary_size=V, **overrides)``
    builds the paper's sizes (see ``tf_contextnet.models.presets``). ``l2_weight`` is λ of the
    training objective's L2 term on kernels (paper: 1e-6; 0 disables it), saved in the config;
    ``model.l2_weight = x`` changes it before ``compile``. ``ctc_weight > 0`` adds an auxiliary CTC
    head (a Dense from the encoder output to V, blank 0) whose loss, times the weight, joins the
    training objective (ESPnet's and icefall's recipe for a faster start); ``call`` then also
    returns ``"ctc_logits" [B, T', V]``. 0 (the paper, the presets' default) adds nothing.
    ``prediction_lstm_implementation`` (``"auto"`` | ``"fused"`` | ``"keras"``) is the prediction
    network's ``lstm_implementation`` (``PredictionNetwork``), saved in the config.
    ``synchronized_batch_norm`` makes the encoder's batch norms use the statistics of the global
    batch under a multi-replica strategy (``MaskedBatchNormalization(synchronized=True)``; worth it
    for small per-replica batches), saved in the config. ``batch_norm_momentum`` (default Keras' 0.99)
    is their moving-average momentum: a short run's weights move faster than a 0.99 average follows
    (the inference statistics lag), so short runs use 0.9 (PyTorch's default 0.1 in its convention).
    ``block_indices`` (default ``None``: all 23 blocks) builds the encoder from those rows of the
    paper's Table 1 only (``ContextNetEncoder``), saved in the config.

    ``fused_loss_sub_batch_size`` (``None``, the default: off; else a whole number k >= 1, saved in
    the config) is memory-lean training: ``call(x, training=True)`` then returns the joint's inputs
    ``"encoded" [B, T', D]`` and ``"predicted" [B, U+1, H]`` (``FUSED_LOSS_OUTPUT_KEYS``) with the
    lengths (and ``"ctc_logits"``) instead of ``"logits"``, and ``compute_loss`` evaluates ``join``
    + RNN-T loss k utterances at a time (``fused_joint_rnnt_loss``: the same loss and gradients,
    the joint recomputed in the backward pass), so the whole ``[B, T', U+1, V]`` lattice never
    exists. Inference (``training=False``) still returns ``"logits"``. A ``compile(loss=...)``
    reads the logits, so it is refused with the option on. Rule (docs/memory.md, measured with
    ``benchmarks/train_step_memory.py``): off by default; turn it on when the lattice's float32
    working set, about 3.5 · B·T'·(U+1)·V·4 bytes (logits, their gradient, the joint's activations),
    exceeds a quarter of the device's memory or a step runs out of memory, with the largest k whose
    3.5 · k·T'·(U+1)·V·4 bytes fit. It saves about (1 - k/B) of that working set and costs one more
    joint forward pass; for ContextNet-S, B = 8 × 10 s, U = 60, V = 1024 on CPU it saved 756-772 /
    595-627 / 207-269 MiB of the 3.5 GiB a step adds at k = 1 / 2 / 4 (two runs), for +26 % of the
    step's FLOPs (measured: +0 to +32 % CPU time per step on a shared machine, any k).
    """

    def __init__(self, vocabulary_size: int, num_mel_bins: int = 80, alpha: float = 1.0, kernel_size: int = 5,
                 downsample_blocks: Sequence[int] = (3, 7, 14), se: bool = True,
                 se_context_window: int | None = None, prediction_embedding_dim: int = 640,
                 prediction_units: int = 640, prediction_num_layers: int = 1, joint_dim: int = 640,
                 augmentation: keras.layers.Layer | Sequence[keras.layers.Layer] | None = None,
                 l2_weight: float = DEFAULT_L2_WEIGHT, ctc_weight: float = 0.0,
                 prediction_lstm_implementation: str = "auto", synchronized_batch_norm: bool = False,
                 batch_norm_momentum: float = 0.99, fused_loss_sub_batch_size: int | None = None,
                 block_indices: Sequence[int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.fused_loss_sub_batch_size = _sub_batch_size(fused_loss_sub_batch_size)
        if int(num_mel_bins) < 1:
            raise ValueError(f"ContextNetTransducer: num_mel_bins must be >= 1, got {num_mel_bins}")
        self.vocabulary_size = int(vocabulary_size)
        self.num_mel_bins = int(num_mel_bins)
        self.alpha = float(alpha)
        self.kernel_size = int(kernel_size)
        self.downsample_blocks = tuple(int(i) for i in downsample_blocks)
        self.se = bool(se)
        self.se_context_window = None if se_context_window is None else int(se_context_window)
        self.prediction_embedding_dim = int(prediction_embedding_dim)
        self.prediction_units = int(prediction_units)
        self.prediction_num_layers = int(prediction_num_layers)
        self.joint_dim = int(joint_dim)
        self.augmentation = list(augmentation) if isinstance(augmentation, (list, tuple)) else augmentation
        self.l2_weight = float(l2_weight)
        self.prediction_lstm_implementation = prediction_lstm_implementation
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        self.batch_norm_momentum = float(batch_norm_momentum)
        self.block_indices = None if block_indices is None else tuple(int(i) for i in block_indices)
        if not float(ctc_weight) >= 0:
            raise ValueError(f"ContextNetTransducer: ctc_weight must be >= 0, got {ctc_weight}")
        self.ctc_weight = float(ctc_weight)
        self.encoder = ContextNetEncoder(alpha=self.alpha, kernel_size=self.kernel_size,
                                         downsample_blocks=self.downsample_blocks, se=self.se,
                                         se_context_window=self.se_context_window,
                                         synchronized_batch_norm=self.synchronized_batch_norm,
                                         batch_norm_momentum=self.batch_norm_momentum,
                                         block_indices=self.block_indices, name="encoder",
                                         dtype=self.dtype_policy)
        self.prediction = PredictionNetwork(self.vocabulary_size, embedding_dim=self.prediction_embedding_dim,
                                            units=self.prediction_units, num_layers=self.prediction_num_layers,
                                            lstm_implementation=self.prediction_lstm_implementation,
                                            name="prediction", dtype=self.dtype_policy)
        self.joint = JointNetwork(self.vocabulary_size, joint_dim=self.joint_dim, name="joint",
                                  dtype=self.dtype_policy)
        self.ctc_head = (keras.layers.Dense(self.vocabulary_size, name="ctc_head", dtype=self.dtype_policy)
                         if self.ctc_weight > 0 else None)

    @classmethod
    def from_preset(cls, name: str, vocabulary_size: int, **overrides: Any) -> "ContextNetTransducer":
        """The preset ``name`` (``contextnet_s``/``_m``/``_l``) with ``overrides``, built."""
        model = cls(**preset_config(name, vocabulary_size, **overrides))
        model.build()
        return model

    def build(self, input_shape=None):
        self.encoder.build(((None, None, self.num_mel_bins), (None,)))
        self.prediction.build(((None, None), (None,)))
        self.joint.build(((None, None, self.encoder.output_dim), (None, None, self.prediction_units)))
        if self.ctc_head is not None:
            self.ctc_head.build((None, None, self.encoder.output_dim))
        self.built = True

    def transcribe(self, features: tf.Tensor, lengths: tf.Tensor, training=False) -> tuple[tf.Tensor, tf.Tensor]:
        """``(features [B, T, F], lengths [B])`` → ``(encoded [B, T', D], lengths' [B])``."""
        if features.shape[-1] is not None and features.shape[-1] != self.num_mel_bins:
            raise ValueError(f"ContextNetTransducer expects features [B, T, {self.num_mel_bins}], "
                             f"got shape {features.shape}")
        return self.encoder((features, lengths), training=training)

    def predict_labels(self, labels: tf.Tensor, label_lengths: tf.Tensor,
                       training=False) -> tuple[tf.Tensor, tf.Tensor]:
        """``(labels [B, U], label_lengths [B])`` → ``(predicted [B, U+1, H], label_lengths + 1)``."""
        return self.prediction((labels, label_lengths), training=training)

    def parts(self) -> TransducerParts:
        """The encoder, prediction network and joint network (the contract's named parts)."""
        return TransducerParts(self.encoder, self.prediction, self.joint)

    def initial_state(self, batch_size: int | tf.Tensor) -> tf.Tensor:
        """The prediction network's start state: float32 zeros ``[L, 2, B, H]`` (layer, (h, c), batch, units)."""
        return self.prediction.get_initial_state(batch_size)

    def predict_step(self, tokens: tf.Tensor, state: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``(tokens [B] int32, state [L, 2, B, H])`` → ``(prediction [B, H], new state)``; 0 = blank/start."""
        return self.prediction.predict_step(tokens, state)

    def join(self, encoded: tf.Tensor, prediction: tf.Tensor) -> tf.Tensor:
        """``(encoded [.., D], prediction [.., H])`` → logits ``[.., V]``, leading axes broadcast.

        The projections run before broadcasting, so the lattice ``join(encoded[:, :, None],
        predicted[:, None])`` costs O((T' + U)·J) for them, not O(T'·U·J).
        """
        return self.joint.join(self.joint.project_encoder(encoded), self.joint.project_prediction(prediction))

    def call(self, inputs, training=None):
        if not isinstance(inputs, dict) or any(k not in inputs for k in INPUT_KEYS):
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise ValueError(f"ContextNetTransducer expects a dict with keys {INPUT_KEYS}, got {got}")
        features, lengths = inputs["features"], tf.cast(inputs["feature_lengths"], tf.int32)
        if training and self.augmentation is not None:
            layers = self.augmentation if isinstance(self.augmentation, list) else [self.augmentation]
            for layer in layers:
                features, lengths = layer((features, lengths), training=True)
        encoded, logit_lengths = self.transcribe(features, lengths, training=training)
        predicted, _ = self.predict_labels(inputs["labels"], inputs["label_lengths"], training=training)
        outputs = {"logit_lengths": logit_lengths, "label_lengths": tf.cast(inputs["label_lengths"], tf.int32)}
        if training and self.fused_loss_sub_batch_size is not None:
            # The lattice is left to compute_loss, which builds it a sub-batch at a time.
            outputs.update(zip(FUSED_LOSS_OUTPUT_KEYS, (encoded, predicted)))
        else:
            outputs["logits"] = self.join(encoded[:, :, None, :], predicted[:, None, :, :])
        if self.ctc_head is not None:
            outputs["ctc_logits"] = self.ctc_head(encoded)
        return outputs

    def get_config(self):
        config = {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                  "num_mel_bins": self.num_mel_bins, "alpha": self.alpha, "kernel_size": self.kernel_size,
                  "downsample_blocks": self.downsample_blocks, "se": self.se,
                  "se_context_window": self.se_context_window,
                  "prediction_embedding_dim": self.prediction_embedding_dim,
                  "prediction_units": self.prediction_units, "prediction_num_layers": self.prediction_num_layers,
                  "joint_dim": self.joint_dim, "l2_weight": self.l2_weight, "ctc_weight": self.ctc_weight,
                  "prediction_lstm_implementation": self.prediction_lstm_implementation,
                  "synchronized_batch_norm": self.synchronized_batch_norm, "batch_norm_momentum": self.batch_norm_momentum,
                  "fused_loss_sub_batch_size": self.fused_loss_sub_batch_size, "block_indices": self.block_indices,
                  "augmentation": None if self.augmentation is None
                  else keras.saving.serialize_keras_object(self.augmentation)}
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("augmentation") is not None:  # a layer or a list of layers: Keras handles both
            config["augmentation"] = keras.saving.deserialize_keras_object(config["augmentation"])
        return cls(**config)


def _sub_batch_size(value: int | None) -> int | None:
    """``value`` checked: ``None`` or a whole number >= 1 (a ``ValueError`` otherwise)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value) or value < 1:
        raise ValueError(f"ContextNetTransducer: fused_loss_sub_batch_size must be None (off) or a whole number "
                         f">= 1 (utterances per sub-batch of the training loss), got {value!r}")
    return int(value)
