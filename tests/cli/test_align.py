"""``contextnet align``: the forced alignment's log P(y|x) equals minus the library's RNN-T loss."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from tf_contextnet.cli.align import lattice_log_probs
from tf_contextnet.cli.main import main
from tf_contextnet.decoding.lattice_alignment import lattice_alignment
from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization
from tf_contextnet.inference import load_model_directory, save_model_directory
from tf_contextnet.losses import rnnt_loss
from tf_contextnet.models.contextnet_transducer import ContextNetTransducer
from tf_contextnet.text import CharacterTokenizer


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    tf.keras.utils.set_random_seed(1)
    root = tmp_path_factory.mktemp("align")
    tokenizer = CharacterTokenizer.train(["one two three"])
    model = ContextNetTransducer.from_preset("contextnet_s", tokenizer.vocabulary_size, alpha=0.05,
                                             prediction_embedding_dim=8, prediction_units=8, joint_dim=8)
    model.parts().joint_network.output_projection.bias.assign(
        np.where(np.arange(tokenizer.vocabulary_size) == 0, -1.0, 0.0).astype("float32"))
    save_model_directory(root / "model", model, tokenizer, feature_extractor=LogMelSpectrogram(),
                         normalization=PerUtteranceNormalization())
    audio = 0.2 * np.sin(2 * np.pi * 300 * np.arange(12000) / 16000) + 0.02 * np.random.default_rng(0).normal(size=12000)
    soundfile.write(root / "a.wav", audio.astype("float32"), 16000, subtype="PCM_16")
    return root


def test_forced_alignment_likelihood_equals_minus_rnnt_loss(recording, tmp_path, capsys):
    loaded = load_model_directory(recording / "model")
    log_probs, tokens, _ = lattice_log_probs(loaded, str(recording / "a.wav"), "two one")
    assert tokens == loaded.tokenizer.encode(["two one"]).to_list()[0]
    result = lattice_alignment(log_probs, tokens)
    loss = rnnt_loss(tf.constant(log_probs[None], tf.float32), tf.constant([tokens]),
                     tf.constant([log_probs.shape[0]]), tf.constant([len(tokens)]))
    assert result.log_likelihood == pytest.approx(-float(loss[0]), abs=1e-3)
    out = tmp_path / "a.png"
    assert main(["align", "--model", str(recording / "model"), str(recording / "a.wav"), "--text", "two one",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.stat().st_size > 1000 and f"{result.log_likelihood:.3f}" in printed
    assert main(["align", "--model", str(recording / "model"), str(recording / "a.wav"), "--out",
                 str(tmp_path / "b.png")]) == 0  # the greedy hypothesis' lattice
    assert (tmp_path / "b.png").is_file()


def test_unrepresentable_text(recording, capsys):
    assert main(["align", "--model", str(recording / "model"), str(recording / "a.wav"), "--text", "xyz"]) == 2
    assert "cannot represent" in capsys.readouterr().err
