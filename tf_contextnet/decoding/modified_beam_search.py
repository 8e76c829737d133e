"""Batched modified beam search for RNN-T (at most N symbols per frame), with optional LM shallow fusion.

Shapes: B batch, T' encoder frames, K beam, V vocabulary (blank 0 included), J joint width, L tokens,
N ``max_symbols_per_frame``.

**Alignments.** At frame t a hypothesis y makes up to N *expansions*, each one output of
``p(· | f_t, g(y))``: blank ends the frame (y stays); a label v extends y to y + v and, while fewer
than N labels were emitted at this frame, expands again at the same frame; after the N-th label
the frame ends without a blank (greedy search's ``max_symbols_per_frame`` rule). So a frame's
outputs are ``v_1 .. v_m ∅`` with m < N, or ``v_1 .. v_N``, and the scores are

    P_N(y) = Σ over alignments a (one such segment per frame t < T') whose labels spell y
             of Π over a's outputs o at frame t of p(o | f_t, g(labels before o))

— a proper distribution over label sequences. N = 1 is k2/icefall's modified beam search (Kang et
al. 2022, §3: exactly one output per frame, blank or one label).

**Search.** The beam is K *slots*. At the start of a frame every live slot is *open*. An expansion
step replaces each open slot by its V extensions: blank → a *finished* slot (done for this frame);
label → an open slot, or a finished one at the N-th step. Finished slots are carried as they are.
Of the K carried + K·V extensions the K best survive, so open and finished hypotheses share the K
slots (K = 1 is greedy search with the same cap). Steps repeat at the same frame while some slot
is open, at most N times; then the next frame starts from the finished slots.

**Merging, before every pruning.** Finished hypotheses depend only on their label sequence, so
entries that spell the same sequence when they finish merge with ``logaddexp``: a blank extension
of y into a carried finished y; at the N-th step also a label extension y + v into a carried
finished y + v or into the blank extension of an open y + v. Open hypotheses are never merged: an
open y has emitted n labels at this frame, and its future depends on n (the cap), which is why
the open slots of one step, all at the same n, are distinct sequences, as are the finished ones.
Hence **when K is at least the number of hypotheses alive at every step, nothing is pruned and
``scores`` are exactly log P_N(y)** for every y (tested against an exhaustive float64 enumeration).
With a smaller K it is a beam search: a pruned alignment's probability is lost from its sequence.

Shallow fusion (``language_model``): a label v adds ``lm_weight · log p_lm(v | y) + length_bonus``
to the extension's score; at the end every hypothesis adds ``lm_weight · log p_lm(</s> | y)``. So
``score(y) = log P_N(y) + λ·log P_lm(y </s>) + β·|y|``; merging stays exact because the LM and
length terms of merged alignments are equal. With ``lm_weight = 0`` and ``length_bonus = 0`` the
scores are the RNN-T log-probabilities.

Everything runs inside one ``tf.function``, one ``tf.while_loop`` whose iterations are expansion
steps: the frame advances as soon as no slot of the batch is open (so a frame where blank wins
costs one step) or after the N-th step. (A loop over steps nested in a loop over frames computes
the same and took about 3x longer at N = 2 on CPU.) The prediction network's output (projected)
and state are cached per slot and only recomputed, for all B·K slots at once, when some slot
emitted a label.

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


def _merge_duplicates(candidates: tf.Tensor, carried: tf.Tensor, tokens: tf.Tensor, lengths: tf.Tensor,
                      open_: tf.Tensor, finished: tf.Tensor, last: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Fold extensions that finish as the same sequence into one entry; returns ``(candidates, carried)``.

    ``candidates [B, K, V]``: extension scores of the open slots (``-inf`` elsewhere); ``carried [B, K]``:
    scores of the finished slots (``-inf`` elsewhere); ``tokens [B, K, L]``, ``lengths [B, K]``;
    ``open_``, ``finished [B, K]`` the live slots of each kind; ``last`` (scalar bool): label extensions
    finish too (the N-th step). For slots a, c: y_a = y_c + v exactly when |y_a| = |y_c| + 1, y_c is
    a prefix of y_a and v is y_a's last label. Folded:

    1. at the last step, label extension (open c, v) into the blank extension of an open a = y_c + v
       (this alone is the N = 1 search's merge);
    2. at the last step, a label extension left by 1 into a finished a = y_c + v;
    3. the blank extension of open c (with what 1 folded into it) into a finished a = y_c.

    Each extension folds at most once, so no alignment is counted twice.

    A folded entry becomes ``-inf``; the receiving one gets the ``logaddexp``.
    """
    vocabulary = tf.shape(candidates)[2]
    width = tf.reduce_max(tf.concat([tf.reshape(lengths, [-1]), [0]], 0))
    head = tokens[:, :, :width]  # past every y's end, tokens are never compared
    positions = tf.range(width)
    # prefix[b, a, c]: y_c is a prefix of y_a
    prefix = tf.reduce_all(tf.logical_or(tf.equal(head[:, :, None, :], head[:, None, :, :]),
                                         positions[None, None, None, :] >= lengths[:, None, :, None]), axis=-1)
    same = tf.logical_and(prefix, tf.equal(lengths[:, :, None], lengths[:, None, :]))
    plus = tf.logical_and(prefix, tf.equal(lengths[:, :, None], lengths[:, None, :] + 1))
    from_open = open_[:, None, :]
    into_open = tf.logical_and(tf.logical_and(plus, open_[:, :, None]), tf.logical_and(from_open, last))
    into_finished = tf.logical_and(tf.logical_and(plus, finished[:, :, None]), tf.logical_and(from_open, last))
    blank_into_finished = tf.logical_and(tf.logical_and(same, finished[:, :, None]), from_open)
    last_label = tf.gather(tokens, tf.maximum(lengths - 1, 0), batch_dims=2)  # [B, K]
    last_one_hot = tf.one_hot(last_label, vocabulary, on_value=True, off_value=False, dtype=tf.bool)  # [B, K, V]

    def label_fold(into: tf.Tensor, candidates: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``[B, K (a), K (c)]`` scores of the label extensions (c, last label of a) that ``into`` folds into a,
        and ``candidates`` without them."""
        # other[b, a, c] = candidates[b, c, last_label[b, a]]
        other = tf.gather(tf.transpose(candidates, [0, 2, 1]), last_label, batch_dims=1)
        removed = tf.reduce_any(tf.logical_and(into[:, :, :, None], last_one_hot[:, :, None, :]), axis=1)
        return tf.where(into, other, -float("inf")), tf.where(removed, -float("inf"), candidates)

    # one after the other, so that a label extension folds once (an open y + v then folds into a finished one)
    into_open_scores, candidates = label_fold(into_open, candidates)
    blank = _logaddexp(candidates[:, :, 0], tf.reduce_logsumexp(into_open_scores, axis=2))
    into_finished_scores, candidates = label_fold(into_finished, candidates)
    carried = tf.reduce_logsumexp(tf.concat([carried[:, :, None],
                                             tf.where(blank_into_finished, blank[:, None, :], -float("inf")),
                                             into_finished_scores], axis=2), axis=2)
    blank = tf.where(tf.reduce_any(blank_into_finished, axis=1), -float("inf"), blank)
    return tf.concat([blank[:, :, None], candidates[:, :, 1:]], axis=2), carried


@tf.function(reduce_retracing=True)
def modified_beam_search_encoded(encoded: tf.Tensor, encoded_lengths: tf.Tensor,
                                 prediction_network: keras.layers.Layer, joint_network: keras.layers.Layer,
                                 beam_size: int, language_model: Any = None, lm_weight: tf.Tensor | float = 0.0,
                                 length_bonus: tf.Tensor | float = 0.0, max_symbols_per_frame: int = 1) -> NBest:
    """Modified beam search over encoder outputs ``encoded [B, T', De]`` (valid frames ``encoded_lengths [B]``).

    ``prediction_network`` / ``joint_network``: the layer-level contract (``get_initial_state``,
    ``predict_step``; ``project_encoder``, ``project_prediction``, ``join``). ``max_symbols_per_frame``
    N >= 1: the per-frame label cap of the module docstring (1: the classic one-label-per-frame
    search). Returns ``NBest``.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if max_symbols_per_frame < 1:
        raise ValueError(f"max_symbols_per_frame must be >= 1, got {max_symbols_per_frame}")
    k = beam_size
    lm_weight = tf.cast(lm_weight, tf.float32)
    length_bonus = tf.cast(length_bonus, tf.float32)
    encoded_lengths = tf.cast(encoded_lengths, tf.int32)
    batch = tf.shape(encoded)[0]
    frames = tf.shape(encoded)[1]
    capacity = frames * max_symbols_per_frame
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
    tokens = tf.zeros([batch, k, capacity], tf.int32)
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

    def expand(n, enc_t, open_, scores, tokens, lengths, pred_proj, state, lm_logp, lm_state):
        """One expansion step of the open slots at frame ``enc_t [B, 1, J]`` (step n of the frame)."""
        last = tf.equal(n, max_symbols_per_frame - 1)
        logits = joint_network.join(enc_t, tf.reshape(pred_proj, [batch, k, -1]))
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)  # [B, K, V]
        candidates = tf.where(open_[:, :, None], scores[:, :, None] + log_probs + label_bonus(lm_logp),
                              -float("inf"))
        finished = tf.logical_and(tf.math.is_finite(scores), tf.logical_not(open_))
        carried = tf.where(finished, scores, -float("inf"))
        candidates, carried = _merge_duplicates(candidates, carried, tokens, lengths, open_, finished, last)
        pool = tf.concat([carried, tf.reshape(candidates, [batch, k * vocabulary])], axis=1)
        best, index = tf.math.top_k(pool, k=k)
        kept = index < k  # a carried finished slot
        source = tf.where(kept, index, (index - k) // vocabulary)  # [B, K]
        label = tf.where(kept, 0, (index - k) % vocabulary)
        emit = label > 0
        new_lengths = tf.gather(lengths, source, batch_dims=1)
        written = tf.one_hot(new_lengths, capacity, dtype=tf.int32) * label[:, :, None]
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
        new_open = tf.logical_and(tf.logical_and(emit, tf.logical_not(last)), tf.math.is_finite(best))
        old = (n, enc_t, open_, scores, tokens, lengths, pred_proj, state, lm_logp, lm_state)
        new = (n + 1, enc_t, new_open, best, new_tokens, new_lengths, new_proj, new_state, new_lm_logp, new_lm_state)
        # static batch sizes broadcast to None through top_k/reshape: keep the loop variables' shapes
        return tf.nest.map_structure(lambda a, b: tf.ensure_shape(a, b.shape), new, old)

    def step(t, n, open_, scores, tokens, lengths, pred_proj, state, lm_logp, lm_state):
        """Expansion step n at frame t; the frame ends when no slot of the batch is open or at n = N."""
        n, _, open_, *beam = expand(n, enc_proj[:, t][:, None, :], open_, scores, tokens, lengths, pred_proj, state,
                                    lm_logp, lm_state)
        frame_done = tf.logical_or(n >= max_symbols_per_frame, tf.logical_not(tf.reduce_any(open_)))
        t = tf.where(frame_done, t + 1, t)
        open_ = tf.where(frame_done, frame_start(t, beam[0]), open_)
        return (t, tf.where(frame_done, 0, n), open_, *beam)

    def frame_start(t, scores):
        """Every live slot opens; utterances past their end open none, so their slots stay as they are
        (sorted: the top-K of carried scores is the identity)."""
        return tf.logical_and(tf.math.is_finite(scores), (t < encoded_lengths)[:, None])

    # one flat loop over (frame, step) rather than a loop per frame inside a loop over frames: cheaper in graph
    max_frames = tf.reduce_max(tf.concat([encoded_lengths, [0]], 0))
    _, _, _, scores, tokens, lengths, _, _, lm_logp, _ = tf.while_loop(
        lambda t, *_: t < max_frames, step,
        (tf.constant(0), tf.constant(0), frame_start(0, scores), scores, tokens, lengths, pred_proj, state, lm_logp,
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
                         language_model: Any = None, lm_weight: float = 0.0, length_bonus: float = 0.0,
                         max_symbols_per_frame: int = 1) -> NBest:
    """N-best transcriptions of log-mel ``features [B, T, F]`` (``feature_lengths [B]``) by a transducer
    (``tf_contextnet.models.Transducer``): the model's encoder, then ``modified_beam_search_encoded``."""
    parts = transducer_parts(model)
    encoded, encoded_lengths = model.transcribe(features, feature_lengths, training=False)
    return modified_beam_search_encoded(encoded, encoded_lengths, parts.prediction_network, parts.joint_network,
                                        beam_size, language_model, tf.constant(lm_weight, tf.float32),
                                        tf.constant(length_bonus, tf.float32), max_symbols_per_frame)


def make_beam_search_decoder(model: keras.Model, beam_size: int = 4, language_model: Any = None,
                             lm_weight: float = 0.0, length_bonus: float = 0.0, max_symbols_per_frame: int = 1):
    """``decode(features [B, T, F], lengths [B]) -> (tokens [B, L], lengths [B])``: the best hypothesis of
    ``modified_beam_search``, encoder and search traced together in one ``tf.function``."""
    weight, bonus = tf.constant(lm_weight, tf.float32), tf.constant(length_bonus, tf.float32)
    parts = transducer_parts(model)

    @tf.function(reduce_retracing=True)
    def decode(features, feature_lengths):
        encoded, encoded_lengths = model.transcribe(features, feature_lengths, training=False)
        best = modified_beam_search_encoded(encoded, encoded_lengths, parts.prediction_network, parts.joint_network,
                                            beam_size, language_model, weight, bonus, max_symbols_per_frame)
        return best.tokens[:, 0], best.lengths[:, 0]

    return decode
