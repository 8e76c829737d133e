"""Modified beam search against greedy search and an exhaustive float64 enumeration of alignments."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_contextnet.decoding import greedy_decode_encoded
from tf_contextnet.decoding.modified_beam_search import modified_beam_search_encoded
from tf_contextnet.models.joint_network import JointNetwork
from tf_contextnet.models.prediction_network import PredictionNetwork


def tiny_decoder(vocabulary: int, seed: int, encoded_dim: int = 4):
    keras.utils.set_random_seed(seed)
    prediction = PredictionNetwork(vocabulary_size=vocabulary, embedding_dim=4, units=5, num_layers=2)
    joint = JointNetwork(vocabulary_size=vocabulary, joint_dim=6)
    prediction.build()
    joint.build(((None, None, encoded_dim), (None, None, 5)))
    return prediction, joint


class Reference:
    """Per-prefix prediction outputs (the model's own step, eagerly), the joint in float64 numpy."""

    def __init__(self, prediction, joint):
        self.prediction = prediction
        self.enc_w, self.enc_b = (np.float64(w.numpy()) for w in joint.encoder_projection.weights)
        self.pred_w = np.float64(joint.prediction_projection.kernel.numpy())
        self.out_w, self.out_b = (np.float64(w.numpy()) for w in joint.output_projection.weights)
        self.cache = {}

    def prediction_output(self, prefix: tuple) -> np.ndarray:
        if prefix not in self.cache:
            if prefix:
                _, state = self.prediction_output(prefix[:-1])
                token = prefix[-1]
            else:
                state, token = self.prediction.get_initial_state(1), 0
            out, state = self.prediction.predict_step(tf.constant([token]), state)
            self.cache[prefix] = (np.float64(out.numpy()[0]), state)
        return self.cache[prefix]

    def log_probs(self, frame: np.ndarray, prefix: tuple) -> np.ndarray:
        hidden = np.tanh(frame @ self.enc_w + self.enc_b + self.prediction_output(prefix)[0] @ self.pred_w)
        logits = hidden @ self.out_w + self.out_b
        return logits - np.logaddexp.reduce(logits)

    def enumerate(self, encoded: np.ndarray, length: int, vocabulary: int, lm=None, lm_weight=0.0, bonus=0.0):
        """log P(y) for every label sequence y: a sum over all {0..V-1}^T alignments, one output per frame."""
        totals = {}
        for alignment in itertools.product(range(vocabulary), repeat=length):
            prefix, logp = (), 0.0
            for t, a in enumerate(alignment):
                logp += self.log_probs(np.float64(encoded[t]), prefix)[a]
                if a:
                    prefix += (a,)
            totals[prefix] = np.logaddexp(totals.get(prefix, -np.inf), logp)
        if lm is not None:
            totals = {y: s + lm_weight * lm(y) + bonus * len(y) for y, s in totals.items()}
        return totals


def nbest_lists(nbest):
    tokens, lengths, scores = (x.numpy() for x in nbest)
    return [[(tuple(tokens[b, i, :lengths[b, i]]), scores[b, i]) for i in range(scores.shape[1])]
            for b in range(scores.shape[0])]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_one_equals_greedy_with_one_symbol_per_frame(seed):
    prediction, joint = tiny_decoder(6, seed)
    encoded = tf.random.normal([4, 9, 4], seed=seed) * 3.0
    lengths = tf.constant([9, 5, 0, 7])
    tokens, token_lengths = greedy_decode_encoded(encoded, lengths, prediction, joint, max_symbols_per_frame=1)
    greedy = [list(r[:n]) for r, n in zip(tokens.numpy(), token_lengths.numpy())]
    beam = modified_beam_search_encoded(encoded, lengths, prediction, joint, 1)
    assert [list(r[0, :n[0]]) for r, n in zip(beam.tokens.numpy(), beam.lengths.numpy())] == greedy
    assert sum(map(len, greedy)) > 0, "degenerate test: greedy emitted nothing"
    assert beam.scores.shape == (4, 1) and beam.scores.numpy()[2, 0] == 0.0


@pytest.mark.parametrize("seed", [0, 3])
def test_full_beam_equals_exhaustive_enumeration(seed):
    vocabulary, frames = 3, 4
    prediction, joint = tiny_decoder(vocabulary, seed)
    encoded = tf.random.normal([2, frames, 4], seed=seed) * 2.0
    lengths = [4, 3]
    beam_size = 32  # 31 = 1 + 2 + 4 + 8 + 16 distinct label sequences over 4 frames
    nbest = modified_beam_search_encoded(encoded, tf.constant(lengths), prediction, joint, beam_size)
    reference = Reference(prediction, joint)
    for b, got in enumerate(nbest_lists(nbest)):
        expected = reference.enumerate(encoded.numpy()[b], lengths[b], vocabulary)
        alive = [(y, s) for y, s in got if np.isfinite(s)]
        assert len(alive) == len(expected) == sum(2 ** n for n in range(lengths[b] + 1))
        assert {y for y, _ in alive} == set(expected)
        for y, s in alive:
            assert s == pytest.approx(expected[y], abs=2e-5), y
        assert [s for _, s in alive] == sorted((s for _, s in alive), reverse=True)
        assert np.logaddexp.reduce([s for _, s in alive]) == pytest.approx(0.0, abs=1e-4)  # probabilities sum to 1
        dead = [(y, s) for y, s in got if not np.isfinite(s)]
        assert all(y == () and s == -np.inf for y, s in dead)


def test_small_beam_keeps_the_best_merged_hypotheses():
    """K smaller than the hypothesis count: the top hypothesis and its merged score still match when
    it survives every pruning (checked against the enumeration's best)."""
    vocabulary = 3
    prediction, joint = tiny_decoder(vocabulary, 5)
    encoded = tf.random.normal([1, 4, 4], seed=5) * 2.0
    nbest = nbest_lists(modified_beam_search_encoded(encoded, tf.constant([4]), prediction, joint, 4))[0]
    expected = Reference(prediction, joint).enumerate(encoded.numpy()[0], 4, vocabulary)
    best = max(expected, key=expected.get)
    assert nbest[0][0] == best
    assert nbest[0][1] <= expected[best] + 1e-5  # a pruned alignment can only lower the score


def test_invalid_beam_raises():
    prediction, joint = tiny_decoder(3, 0)
    with pytest.raises(ValueError, match="beam_size"):
        modified_beam_search_encoded(tf.zeros([1, 2, 4]), tf.constant([2]), prediction, joint, 0)


def tiny_language_model(vocabulary: int, seed: int):
    from tf_contextnet.models import LstmLanguageModel

    keras.utils.set_random_seed(seed)
    lm = LstmLanguageModel(vocabulary, embedding_dim=3, units=4, num_layers=2)
    lm.build()
    lm.output_projection.kernel.assign(lm.output_projection.kernel * 4.0)  # a peaked, informative LM
    return lm


def test_lm_weight_zero_equals_no_lm():
    prediction, joint = tiny_decoder(5, 7)
    lm = tiny_language_model(5, 7)
    encoded = tf.random.normal([3, 8, 4], seed=7) * 2.0
    lengths = tf.constant([8, 3, 6])
    plain = modified_beam_search_encoded(encoded, lengths, prediction, joint, 4)
    fused = modified_beam_search_encoded(encoded, lengths, prediction, joint, 4, lm, 0.0, 0.0)
    for a, b in zip(plain, fused):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    weighted = modified_beam_search_encoded(encoded, lengths, prediction, joint, 4, lm, 1.5, 0.0)
    assert not np.allclose(weighted.scores.numpy(), plain.scores.numpy()), "degenerate test: the LM changed nothing"



def sentence_log_prob(lm, y) -> float:
    """log P_lm(y </s>) through the LM's own whole-sentence call (independent of the beam's step calls)."""
    tokens = tf.constant([list(y)], tf.int32) if y else tf.zeros([1, 0], tf.int32)
    return float(lm.sentence_log_probs(tokens, tf.constant([len(y)]))[0])

def test_full_beam_with_fusion_equals_exhaustive_enumeration():
    """score(y) = log P_rnnt(y) + λ log P_lm(y </s>) + β |y| for every sequence (LM by its sequence call)."""
    vocabulary, lm_weight, bonus = 3, 0.7, 0.4
    prediction, joint = tiny_decoder(vocabulary, 11)
    lm = tiny_language_model(vocabulary, 11)
    encoded = tf.random.normal([1, 4, 4], seed=11) * 2.0

    def lm_score(y):
        return sentence_log_prob(lm, y)

    nbest = modified_beam_search_encoded(encoded, tf.constant([4]), prediction, joint, 32, lm, lm_weight, bonus)
    expected = Reference(prediction, joint).enumerate(encoded.numpy()[0], 4, vocabulary, lm_score, lm_weight, bonus)
    alive = [(y, s) for y, s in nbest_lists(nbest)[0] if np.isfinite(s)]
    assert len(alive) == len(expected) == 31
    for y, s in alive:
        assert s == pytest.approx(expected[y], abs=5e-5), y


def frame_segments(vocabulary: int, cap: int) -> list[tuple]:
    """The outputs one frame allows under the cap: m < cap labels then blank, or cap labels (no blank)."""
    labels = range(1, vocabulary)
    segments = [w + (0,) for m in range(cap) for w in itertools.product(labels, repeat=m)]
    return segments + list(itertools.product(labels, repeat=cap))


def enumerate_capped(reference: Reference, encoded: np.ndarray, length: int, vocabulary: int, cap: int) -> dict:
    """log P(y) for every label sequence y: a sum over every alignment made of one allowed segment per frame."""
    log_probs = {}

    def lp(t, prefix):
        if (t, prefix) not in log_probs:
            log_probs[t, prefix] = reference.log_probs(np.float64(encoded[t]), prefix)
        return log_probs[t, prefix]

    totals = {}
    for alignment in itertools.product(frame_segments(vocabulary, cap), repeat=length):
        prefix, logp = (), 0.0
        for t, segment in enumerate(alignment):
            for a in segment:
                logp += lp(t, prefix)[a]
                if a:
                    prefix += (a,)
        totals[prefix] = np.logaddexp(totals.get(prefix, -np.inf), logp)
    return totals


def test_frame_segments_cover_greedys_rule():
    assert sorted(frame_segments(3, 2)) == sorted([(0,), (1, 0), (2, 0), (1, 1), (1, 2), (2, 1), (2, 2)])
    assert frame_segments(3, 1) == [(0,), (1,), (2,)]  # the one-symbol-per-frame rule


@pytest.mark.parametrize("seed,frames,cap", [(0, 3, 2), (3, 4, 2), (5, 2, 3)])
def test_multi_symbol_full_beam_equals_exhaustive_enumeration(seed, frames, cap):
    """With K above twice the number of sequences (open and finished slots of one step) nothing is pruned:
    every sequence of up to frames x cap labels, with log P_N(y) summed over all capped alignments."""
    vocabulary = 3
    prediction, joint = tiny_decoder(vocabulary, seed)
    encoded = tf.random.normal([2, frames, 4], seed=seed) * 2.0
    lengths = [frames, frames - 1]
    beam_size = 2 ** (frames * cap + 2)
    nbest = modified_beam_search_encoded(encoded, tf.constant(lengths), prediction, joint, beam_size,
                                         max_symbols_per_frame=cap)
    reference = Reference(prediction, joint)
    for b, got in enumerate(nbest_lists(nbest)):
        expected = enumerate_capped(reference, encoded.numpy()[b], lengths[b], vocabulary, cap)
        alive = [(y, s) for y, s in got if np.isfinite(s)]
        assert len(alive) == len(expected) == 2 ** (lengths[b] * cap + 1) - 1
        assert {y for y, _ in alive} == set(expected)
        assert max(map(len, expected)) == lengths[b] * cap
        for y, s in alive:
            assert s == pytest.approx(expected[y], abs=5e-5), y
        assert [s for _, s in alive] == sorted((s for _, s in alive), reverse=True)
        assert np.logaddexp.reduce([s for _, s in alive]) == pytest.approx(0.0, abs=1e-4)


def test_multi_symbol_full_beam_with_fusion_equals_exhaustive_enumeration():
    vocabulary, lm_weight, bonus, cap = 3, 0.7, 0.4, 2
    prediction, joint = tiny_decoder(vocabulary, 13)
    lm = tiny_language_model(vocabulary, 13)
    encoded = tf.random.normal([1, 3, 4], seed=13) * 2.0

    def lm_score(y):
        return sentence_log_prob(lm, y)

    nbest = modified_beam_search_encoded(encoded, tf.constant([3]), prediction, joint, 256, lm, lm_weight, bonus,
                                         max_symbols_per_frame=cap)
    acoustic = enumerate_capped(Reference(prediction, joint), encoded.numpy()[0], 3, vocabulary, cap)
    alive = [(y, s) for y, s in nbest_lists(nbest)[0] if np.isfinite(s)]
    assert len(alive) == len(acoustic) == 127
    for y, s in alive:
        assert s == pytest.approx(acoustic[y] + lm_weight * lm_score(y) + bonus * len(y), abs=1e-4), y


@pytest.mark.parametrize("seed,cap", [(0, 2), (1, 3), (2, 4)])
def test_beam_one_equals_greedy_with_the_same_symbol_cap(seed, cap):
    """K = 1: the single slot takes the best output each step, so the search is greedy search by construction."""
    prediction, joint = tiny_decoder(6, seed)
    encoded = tf.random.normal([4, 9, 4], seed=seed) * 3.0
    lengths = tf.constant([9, 5, 0, 7])

    def greedy(symbols):
        tokens, token_lengths = greedy_decode_encoded(encoded, lengths, prediction, joint,
                                                      max_symbols_per_frame=symbols)
        return [list(r[:n]) for r, n in zip(tokens.numpy(), token_lengths.numpy())]

    expected = greedy(cap)
    beam = modified_beam_search_encoded(encoded, lengths, prediction, joint, 1, max_symbols_per_frame=cap)
    assert [list(r[0, :n[0]]) for r, n in zip(beam.tokens.numpy(), beam.lengths.numpy())] == expected
    assert expected != greedy(cap - 1), "degenerate test: the cap never mattered"


def test_lm_weight_zero_equals_no_lm_with_several_symbols_per_frame():
    prediction, joint = tiny_decoder(5, 17)
    lm = tiny_language_model(5, 17)
    encoded = tf.random.normal([3, 8, 4], seed=17) * 2.0
    lengths = tf.constant([8, 3, 6])
    plain = modified_beam_search_encoded(encoded, lengths, prediction, joint, 4, max_symbols_per_frame=3)
    fused = modified_beam_search_encoded(encoded, lengths, prediction, joint, 4, lm, 0.0, 0.0,
                                         max_symbols_per_frame=3)
    for a, b in zip(plain, fused):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert plain.tokens.shape[2] > 8, "degenerate test: no frame emitted two symbols"
    weighted = modified_beam_search_encoded(encoded, lengths, prediction, joint, 4, lm, 1.5, 0.0,
                                            max_symbols_per_frame=3)
    assert not np.allclose(weighted.scores.numpy(), plain.scores.numpy()), "degenerate test: the LM changed nothing"


def test_invalid_symbol_cap_raises():
    prediction, joint = tiny_decoder(3, 0)
    with pytest.raises(ValueError, match="max_symbols_per_frame"):
        modified_beam_search_encoded(tf.zeros([1, 2, 4]), tf.constant([2]), prediction, joint, 2,
                                     max_symbols_per_frame=0)
