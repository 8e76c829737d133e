"""The project's ContextNet small for /work/shared/bench/contextnet_peers.py (``--candidate``).

``build_small(vocab_size, num_mel_bins)`` returns the dict that script expects: ``model``,
``encode(features, lengths)`` (inference), ``loss(features, lengths, labels, label_lengths)``
(training-mode forward + ``tf_contextnet.losses.rnnt_loss``, mean over the batch) and ``info``.
The model is ``ContextNetTransducer.from_preset("contextnet_s")``: the paper's Table 1 at α=0.5,
'same' padding, one 640-unit LSTM, joint 640.

Usage (from the project root):
    .venv/bin/python ../shared/bench/contextnet_peers.py --tfasr TFASR_SRC --candidate-path . \
        --candidate mine=benchmarks.peers_candidate:build_small --out benchmarks/results/contextnet_peers.md
"""

from __future__ import annotations

from typing import Any


def build_small(vocab_size: int, num_mel_bins: int) -> dict[str, Any]:
    """ContextNet S (α = 0.5) transducer with the peers-benchmark callables."""
    import tensorflow as tf

    from tf_contextnet.models import ContextNetTransducer

    model = ContextNetTransducer.from_preset("contextnet_s", vocabulary_size=vocab_size, num_mel_bins=num_mel_bins)

    def encode(features: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        return model.transcribe(features, lengths, training=False)[0]

    def loss(features: tf.Tensor, lengths: tf.Tensor, labels: tf.Tensor, label_lengths: tf.Tensor) -> tf.Tensor:
        from tf_contextnet.losses import rnnt_loss  # written by another part of the project

        out = model({"features": features, "feature_lengths": lengths, "labels": labels,
                     "label_lengths": label_lengths}, training=True)
        return tf.reduce_mean(rnnt_loss(out["logits"], labels, out["logit_lengths"], out["label_lengths"]))

    return {"model": model, "encode": encode, "loss": loss,
            "info": f"tf_contextnet ContextNetTransducer contextnet_s (alpha 0.5, 23 Table-1 blocks, 'same' "
                    f"padding, masked BN folded at inference, LSTM 640, joint 640), {model.count_params():,} params"}
