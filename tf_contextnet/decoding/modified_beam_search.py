"""Batched modified beam search for RNN-T (at most one symbol per frame), with optional LM shallow fusion.

Shapes: B batch, T' encoder frames, K beam, V vocabulary (blank 0 included), J joint width, L tokens.

The search (the "modified beam search" of k2/icefall, Kang et al. 2022, §3): at frame t every
hypothesis y of the beam is extended by exactly one output of ``p(· | f_t, g(y))``: blank (y
stays) or one label v (y + v); then the search moves to frame t+1. So a hypothesis' probability is

    P(y) = Σ over alignments a ∈ {0..V-1}^{T'} whose non-blank outputs spell y of Π_t p(a_t | f_t, g(prefix_t))

— the same rule as greedy search with ``max_symbols_per_frame=1``. Of the K·V extensions the K
best survive; **before** pruning, extensions that spell the same sequence merge (the blank
extension of y + v and the label extension of y by v) with ``logaddexp``, so when K is at least
the number of distinct sequences the scores are exact sums over alignments. The beam's
hypotheses are always distinct sequences, which is why only that one kind of collision exists.

Shallow fusion (``language_model``): a label v adds ``lm_weight · log p_lm(v | y) + length_bonus``
to the extension's score; at the end every hypothesis adds ``lm_weight · log p_lm(</s> | y)``. So
``score(y) = log P_rnnt(y) + λ·log P_lm(y </s>) + β·|y|``; merging stays exact because the LM and
length terms of merged alignments are equal. With ``lm_weight = 0`` and ``length_bonus = 0`` the
scores are the RNN-T log-probabilities.

Everything runs inside one ``tf.function``: frames advance in a ``tf.while_loop``; the prediction
network's output (projected) and state are cached per hypothesis and only recomputed, for all
B·K hypotheses at once, when some hypothesis emitted a label; blank extensions reuse the cache.

Language-model contract (``tf_contextnet.models.LstmLanguageModel``): ``initial_state(n)``
(nested tensors, any batch axis), ``step(tokens [n] int32, state) -> (log_probs [n, V + 1], state)``
over the acoustic model's ids, blank 0 as the start symbol and id V as end of sentence.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import keras
import tensorflow as tf

from tf_contextnet.decoding.greedy import state_batch_axes
from tf_contextnet.models.transducer import transducer_parts

BLANK = 0


class NBest(NamedTuple):
    """``tokens [B, K, L]`` (0-padded), ``lengths [B, K]``, ``scores [B, K]``, best first per utterance.

    Slots of an utterance with fewer than K hypotheses have score ``-inf`` and length 0.
    """

    tokens: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor


def _gather(state, index: tf.Tensor, axes):
    return tf.nest.map_structure(lambda s, a: tf.gather(s, index, axis=a), state, axes)


def _select(mask: tf.Tensor, new, old, axes):
    def pick(n, o, axis):
        shape = [1] * n.shape.rank
        shape[axis] = -1
        return tf.where(tf.reshape(mask, shape), n, o)

    return tf.nest.map_structure(pick, new, old, axes)


def _logaddexp(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_logsumexp(tf.stack([a, b], -1), axis=-1)


def _merge_duplicates(candidates: tf.Tensor, tokens: tf.Tensor, lengths: tf.Tensor, alive: tf.Tensor) -> tf.Tensor:
    """Fold label extensions that spell the same sequence as a blank extension into it.

    ``candidates [B, K, V]`` scores; ``tokens [B, K, T']``, ``lengths [B, K]``, ``alive [B, K]``.
    Hypothesis k1 = hypothesis k2 + v exactly when |y_k1| = |y_k2| + 1, y_k2 is a prefix of y_k1
    and v is y_k1's last label; then candidate (k1, blank) gets ``logaddexp`` of both and (k2, v)
    becomes ``-inf``.
    """
    vocabulary = tf.shape(candidates)[2]
    frames = tf.shape(tokens)[2]
    positions = tf.range(frames)
    # same[b, k1, k2, l]: y_k1[l] == y_k2[l] or l is past y_k2's end
    same = tf.logical_or(tf.equal(tokens[:, :, None, :], tokens[:, None, :, :]),
                         positions[None, None, None, :] >= lengths[:, None, :, None])
    match = tf.logical_and(tf.reduce_all(same, axis=-1), tf.equal(lengths[:, :, None], lengths[:, None, :] + 1))
    match = tf.logical_and(match, tf.logical_and(alive[:, :, None], alive[:, None, :]))  # [B, K1, K2]
    last = tf.gather(tokens, tf.maximum(lengths - 1, 0), batch_dims=2)  # [B, K1]
    # other[b, k1, k2] = candidates[b, k2, last[b, k1]]
    other = tf.gather(tf.transpose(candidates, [0, 2, 1]), last, batch_dims=1)
    folded = tf.reduce_logsumexp(tf.where(match, other, -float("inf")), axis=2)  # [B, K1]
    blank = _logaddexp(candidates[:, :, 0], folded)
    last_one_hot = tf.one_hot(last, vocabulary, on_value=True, off_value=False, dtype=tf.bool)  # [B, K1, V]
    removed = tf.reduce_any(tf.logical_and(match[:, :, :, None], last_one_hot[:, :, None, :]), axis=1)  # [B, K2, V]
    candidates = tf.where(removed, -float("inf"), candidates)
    return tf.concat([blank[:, :, None], candidates[:, :, 1:]], axis=2)


@tf.function(reduce_retracing=True)
def modified_beam_search_encoded(encoded: tf.Tensor, encoded_lengths: tf.Tensor,
                                 prediction_network: keras.layers.Layer, joint_network: keras.layers.Layer,
                                 beam_size: int, language_model: Any = None, lm_weight: tf.Tensor | float = 0.0,
                                 length_bonus: tf.Tensor | float = 0.0) -> NBest:
    """Modified beam search over encoder outputs ``encoded [B, T', De]`` (valid frames ``encoded_lengths [B]``).

    ``prediction_network`` / ``joint_network``: the layer-level contract (``get_initial_state``,
    ``predict_step``; ``project_encoder``, ``project_prediction``, ``join``). Returns ``NBest``.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    k = beam_size
    lm_weight = tf.cast(lm_weight, tf.float32)
    length_bonus = tf.cast(length_bonus, tf.float32)
    encoded_lengths = tf.cast(encoded_lengths, tf.int32)
    batch = tf.shape(encoded)[0]
    frames = tf.shape(encoded)[1]
    flat_batch = batch * k
    enc_proj = joint_network.project_encoder(encoded)  # [B, T', J]
    axes = state_batch_axes(prediction_network.get_initial_state)
    start = tf.fill([flat_batch], BLANK)
    pred_out, state = prediction_network.predict_step(start, prediction_network.get_initial_state(flat_batch))
    pred_proj = joint_network.project_prediction(pred_out)  # [B*K, J]
    vocabulary = tf.shape(joint_network.join(enc_proj[:1, :1], pred_proj[:1, None]))[-1]
    if language_model is not None:
        lm_axes = state_batch_axes(language_model.initial_state)
        lm_logp, lm_state = language_model.step(start, language_model.initial_state(flat_batch))
    else:
        lm_axes, lm_logp, lm_state = (), tf.zeros([flat_batch, 1]), ()
    scores = tf.concat([tf.zeros([batch, 1]), tf.fill([batch, k - 1], -float("inf"))], axis=1)
    tokens = tf.zeros([batch, k, frames], tf.int32)
    lengths = tf.zeros([batch, k], tf.int32)
    batch_index = tf.range(batch)[:, None] * k
    is_label = tf.range(vocabulary) > 0

    def label_bonus(lm_logp: tf.Tensor) -> tf.Tensor:
        """``[B, K, V]``: λ·log p_lm(v) + β for labels v, 0 for blank."""
        bonus = tf.where(is_label, length_bonus, 0.0)[None, None]
        if language_model is None:
            return bonus
        fused = lm_weight * tf.reshape(lm_logp[:, :vocabulary], [batch, k, vocabulary])
        return bonus + tf.where(is_label[None, None], fused, 0.0)

    def body(t, scores, tokens, lengths, pred_proj, state, lm_logp, lm_state):
        active = t < encoded_lengths  # [B]
        logits = joint_network.join(enc_proj[:, t][:, None, :], tf.reshape(pred_proj, [batch, k, -1]))
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)  # [B, K, V]
        candidates = scores[:, :, None] + log_probs + label_bonus(lm_logp)
        candidates = _merge_duplicates(candidates, tokens, lengths, tf.math.is_finite(scores))
        best, index = tf.math.top_k(tf.reshape(candidates, [batch, k * vocabulary]), k=k)
        source, label = index // vocabulary, index % vocabulary  # [B, K]
        emit = label > 0
        new_lengths = tf.gather(lengths, source, batch_dims=1)
        written = tf.one_hot(new_lengths, frames, dtype=tf.int32) * tf.where(emit, label, 0)[:, :, None]
        new_tokens = tf.gather(tokens, source, batch_dims=1) + written
        new_lengths += tf.cast(emit, tf.int32)
        flat_source = tf.reshape(batch_index + source, [-1])
        flat_emit = tf.reshape(emit, [-1])
        flat_label = tf.reshape(label, [-1])
        new_proj, new_state = tf.gather(pred_proj, flat_source), _gather(state, flat_source, axes)
        new_lm_logp, new_lm_state = tf.gather(lm_logp, flat_source), _gather(lm_state, flat_source, lm_axes)

        def advance():
            out, stepped = prediction_network.predict_step(flat_label, new_state)
            proj = tf.cast(joint_network.project_prediction(out), new_proj.dtype)
            result = (tf.where(flat_emit[:, None], proj, new_proj), _select(flat_emit, stepped, new_state, axes))
            if language_model is not None:
                lm_out, lm_stepped = language_model.step(flat_label, new_lm_state)
                result += (tf.where(flat_emit[:, None], tf.cast(lm_out, new_lm_logp.dtype), new_lm_logp),
                           _select(flat_emit, lm_stepped, new_lm_state, lm_axes))
            else:
                result += (new_lm_logp, new_lm_state)
            return result

        new_proj, new_state, new_lm_logp, new_lm_state = tf.cond(
            tf.reduce_any(flat_emit), advance, lambda: (new_proj, new_state, new_lm_logp, new_lm_state))
        flat_active = tf.repeat(active, k)
        old = (t, scores, tokens, lengths, pred_proj, state, lm_logp, lm_state)
        new = (t + 1, tf.where(active[:, None], best, scores),
               tf.where(active[:, None, None], new_tokens, tokens), tf.where(active[:, None], new_lengths, lengths),
               tf.where(flat_active[:, None], new_proj, pred_proj), _select(flat_active, new_state, state, axes),
               tf.where(flat_active[:, None], new_lm_logp, lm_logp),
               _select(flat_active, new_lm_state, lm_state, lm_axes))
        # static batch sizes broadcast to None through top_k/reshape: keep the loop variables' shapes
        return tf.nest.map_structure(lambda n, o: tf.ensure_shape(n, o.shape), new, old)

    max_frames = tf.reduce_max(tf.concat([encoded_lengths, [0]], 0))
    _, scores, tokens, lengths, _, _, lm_logp, _ = tf.while_loop(
        lambda t, *_: t < max_frames, body, (tf.constant(0), scores, tokens, lengths, pred_proj, state, lm_logp,
                                              lm_state))
    if language_model is not None:  # end of sentence (id V) closes every hypothesis
        scores += lm_weight * tf.reshape(lm_logp[:, vocabulary], [batch, k])
    scores, order = tf.math.top_k(scores, k=k)
    alive = tf.math.is_finite(scores)
    lengths = tf.where(alive, tf.gather(lengths, order, batch_dims=1), 0)
    tokens = tf.where(alive[:, :, None], tf.gather(tokens, order, batch_dims=1), 0)
    longest = tf.reduce_max(tf.concat([tf.reshape(lengths, [-1]), [0]], 0))
    return NBest(tokens[:, :, :longest], lengths, scores)


def modified_beam_search(model: keras.Model, features: tf.Tensor, feature_lengths: tf.Tensor, beam_size: int = 4,
                         language_model: Any = None, lm_weight: float = 0.0, length_bonus: float = 0.0) -> NBest:
    """N-best transcriptions of log-mel ``features [B, T, F]`` (``feature_lengths [B]``) by a transducer
    (``tf_contextnet.models.Transducer``): the model's encoder, then ``modified_beam_search_encoded``."""
    parts = transducer_parts(model)
    encoded, encoded_lengths = model.transcribe(features, feature_lengths, training=False)
    return modified_beam_search_encoded(encoded, encoded_lengths, parts.prediction_network, parts.joint_network,
                                        beam_size, language_model, tf.constant(lm_weight, tf.float32),
                                        tf.constant(length_bonus, tf.float32))


def make_beam_search_decoder(model: keras.Model, beam_size: int = 4, language_model: Any = None,
                             lm_weight: float = 0.0, length_bonus: float = 0.0):
    """``decode(features [B, T, F], lengths [B]) -> (tokens [B, L], lengths [B])``: the best hypothesis of
    ``modified_beam_search``, encoder and search traced together in one ``tf.function``."""
    weight, bonus = tf.constant(lm_weight, tf.float32), tf.constant(length_bonus, tf.float32)
    parts = transducer_parts(model)

    @tf.function(reduce_retracing=True)
    def decode(features, feature_lengths):
        encoded, encoded_lengths = model.transcribe(features, feature_lengths, training=False)
        best = modified_beam_search_encoded(encoded, encoded_lengths, parts.prediction_network, parts.joint_network,
                                            beam_size, language_model, weight, bonus)
        return best.tokens[:, 0], best.lengths[:, 0]

    return decode
