"""The project's ContextNet small for /work/shared/bench/contextnet_peers.py (``--candidate``).

``build_small(vocab_size, num_mel_bins)`` returns the dict that script expects: ``model``,
``encode(features, lengths)`` (inference), ``loss(features, lengths, labels, label_lengths)``
(training-mode forward + ``tf_contextnet.losses.rnnt_loss``, mean over the batch) and ``info``.
The model is ``ContextNetTransducer.from_preset("contextnet_s")``: the paper's Table 1 at α=0.5,
'same' padding, one 640-unit LSTM, joint 640.

``build_small_tfasr_widths`` is the same encoder with TensorFlowASR's small decoder widths
(embedding 640, LSTM 512, joint 512, from its ``small.yml.j2``), so that both models do the same
work: with our preset's 640-wide joint, the joint's output projection — 69% of a training step's
FLOPs — is 25% larger than TensorFlowASR's.

Usage (from the project root):
    .venv/bin/python ../shared/bench/contextnet_peers.py --tfasr TFASR_SRC --candidate-path . \
        --candidate mine=benchmarks.peers_candidate:build_small \
        --candidate mine_tfasr_widths=benchmarks.peers_candidate:build_small_tfasr_widths \
        --out benchmarks/results/contextnet_peers.md
"""

from __future__ import annotations

from typing import Any

TFASR_SMALL_DECODER = {"prediction_embedding_dim": 640, "prediction_units": 512, "joint_dim": 512}


def _candidate(vocab_size: int, num_mel_bins: int, description: str, **overrides: Any) -> dict[str, Any]:
    import tensorflow as tf

    from tf_contextnet.losses import rnnt_loss
    from tf_contextnet.models import ContextNetTransducer

    model = ContextNetTransducer.from_preset("contextnet_s", vocabulary_size=vocab_size, num_mel_bins=num_mel_bins,
                                             **overrides)

    def encode(features: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        return model.transcribe(features, lengths, training=False)[0]

    def loss(features: tf.Tensor, lengths: tf.Tensor, labels: tf.Tensor, label_lengths: tf.Tensor) -> tf.Tensor:
        out = model({"features": features, "feature_lengths": lengths, "labels": labels,
                     "label_lengths": label_lengths}, training=True)
        return tf.reduce_mean(rnnt_loss(out["logits"], labels, out["logit_lengths"], out["label_lengths"]))

    return {"model": model, "encode": encode, "loss": loss,
            "info": f"tf_contextnet ContextNetTransducer contextnet_s (alpha 0.5, 23 Table-1 blocks, 'same' "
                    f"padding, masked BN folded at inference, {description}), {model.count_params():,} params"}


def build_small(vocab_size: int, num_mel_bins: int) -> dict[str, Any]:
    """ContextNet S (α = 0.5) transducer as the preset builds it: LSTM 640, joint 640."""
    return _candidate(vocab_size, num_mel_bins, "LSTM 640, joint 640")


def build_small_tfasr_widths(vocab_size: int, num_mel_bins: int) -> dict[str, Any]:
    """ContextNet S with TensorFlowASR small's decoder widths: embedding 640, LSTM 512, joint 512."""
    return _candidate(vocab_size, num_mel_bins, "embedding 640, LSTM 512, joint 512 as TensorFlowASR small",
                      **TFASR_SMALL_DECODER)
