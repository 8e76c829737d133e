"""Batched greedy RNN-T decoding in one ``tf.function``.

Shapes: B batch, T' encoder frames, J joint width, H prediction-network width, V vocabulary
(blank 0 included), L decoded tokens.

Greedy search (Graves, 2012, §2 with the usual per-frame symbol cap): for each frame t < T'_b,
repeat at most ``max_symbols_per_frame`` times: ``k = argmax_v join(f_t, g_u)``; if k is blank,
go to the next frame; else emit k and advance the prediction network with k (g_u ← P(k, state)).
All utterances advance through frames in lock-step inside one ``tf.while_loop`` (an inner
``tf.while_loop`` runs the symbols of a frame while any utterance is still emitting); the
prediction network only steps when some utterance emitted, and its state is kept per utterance
with ``tf.where``. No Python loop runs per frame.

Contract used (docs/interfaces.md): ``prediction_network.get_initial_state(batch_size)``,
``prediction_network.predict_step(tokens [B], state) -> (out [B, H], state)``;
``joint_network.project_encoder``, ``project_prediction``, ``join`` (broadcasting) → logits.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_contextnet.models.transducer import transducer_parts

BLANK = 0


def state_batch_axes(initial_state):
    """The batch axis of each tensor of the (opaque, nested) state that ``initial_state(n)`` returns
    (a prediction network's ``get_initial_state``, a language model's ``initial_state``).

    Found by comparing the static shapes for n = 1 and n = 2, so any layout works (e.g.
    ``[L, 2, B, H]`` or a list of ``[B, H]``).
    """
    def axis(one, two):
        differ = [i for i, (a, b) in enumerate(zip(one.shape, two.shape)) if a != b]
        if len(differ) != 1:
            raise ValueError(f"cannot find the batch axis of a state tensor: shapes {one.shape} (batch 1) and "
                             f"{two.shape} (batch 2)")
        return differ[0]

    return tf.nest.map_structure(axis, initial_state(1), initial_state(2))


def _select(mask: tf.Tensor, new, old, axes=None):
    """Per-utterance choice between nested tensors: ``new`` where ``mask`` [B] else ``old``.

    ``axes`` gives each tensor's batch axis (default 0).
    """
    def pick(n, o, axis=0):
        shape = [1] * n.shape.rank
        shape[axis] = -1
        return tf.where(tf.reshape(mask, shape), n, o)

    if axes is None:
        return tf.nest.map_structure(pick, new, old)
    return tf.nest.map_structure(pick, new, old, axes)


@tf.function(reduce_retracing=True)
def greedy_decode_encoded(encoded: tf.Tensor, encoded_lengths: tf.Tensor,
                          prediction_network: keras.layers.Layer, joint_network: keras.layers.Layer,
                          max_symbols_per_frame: int = 4) -> tuple[tf.Tensor, tf.Tensor]:
    """Greedy transcription of encoder outputs.

    Args:
        encoded: ``[B, T', De]`` encoder outputs.
        encoded_lengths: ``[B]`` valid encoder frames.
        prediction_network, joint_network: the transducer's decoder parts (contract above).
        max_symbols_per_frame: at most this many non-blank symbols are emitted per frame (>= 1).

    Returns:
        ``(tokens [B, L] int32, 0-padded, token_lengths [B] int32)``.
    """
    if max_symbols_per_frame < 1:
        raise ValueError(f"max_symbols_per_frame must be >= 1, got {max_symbols_per_frame}")
    encoded_lengths = tf.cast(encoded_lengths, tf.int32)
    batch = tf.shape(encoded)[0]
    enc_proj = joint_network.project_encoder(encoded)
    state = prediction_network.get_initial_state(batch)
    axes = state_batch_axes(prediction_network.get_initial_state)
    pred_out, state = prediction_network.predict_step(tf.fill([batch], BLANK), state)
    pred_proj = joint_network.project_prediction(pred_out)
    emitted = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=tf.TensorShape([None]))

    def frame_body(t, pred_proj, state, emitted, n_written):
        enc_t = tf.gather(enc_proj, t, axis=1)
        active0 = t < encoded_lengths

        def symbol_cond(n, active, pred_proj, state, emitted, n_written):
            return tf.logical_and(n < max_symbols_per_frame, tf.reduce_any(active))

        def symbol_body(n, active, pred_proj, state, emitted, n_written):
            logits = joint_network.join(enc_t, pred_proj)
            k = tf.argmax(logits, axis=-1, output_type=tf.int32)
            emit = tf.logical_and(active, tf.not_equal(k, BLANK))
            tokens = tf.where(emit, k, tf.zeros_like(k))
            emitted = emitted.write(n_written, tokens)

            def advance():
                out, new_state = prediction_network.predict_step(tokens, state)
                new_proj = joint_network.project_prediction(out)
                return _select(emit, new_proj, pred_proj), _select(emit, new_state, state, axes)

            pred_proj, state = tf.cond(tf.reduce_any(emit), advance, lambda: (pred_proj, state))
            return n + 1, emit, pred_proj, state, emitted, n_written + 1

        _, _, pred_proj, state, emitted, n_written = tf.while_loop(
            symbol_cond, symbol_body, (tf.constant(0), active0, pred_proj, state, emitted, n_written))
        return t + 1, pred_proj, state, emitted, n_written

    max_t = tf.reduce_max(tf.concat([encoded_lengths, [0]], 0))
    _, _, _, emitted, _ = tf.while_loop(
        lambda t, *_: t < max_t, frame_body, (tf.constant(0), pred_proj, state, emitted, tf.constant(0)))
    steps = tf.transpose(tf.reshape(emitted.stack(), [-1, batch]))  # [B, steps]
    hyps = tf.ragged.boolean_mask(steps, steps > 0)
    return hyps.to_tensor(), tf.cast(hyps.row_lengths(), tf.int32)


def greedy_decode(model: keras.Model, features: tf.Tensor, feature_lengths: tf.Tensor,
                  max_symbols_per_frame: int = 4) -> tuple[tf.Tensor, tf.Tensor]:
    """Greedy transcription of log-mel features ``[B, T, F]`` (``feature_lengths`` ``[B]``) by a transducer.

    ``model`` declares the transducer contract (``tf_contextnet.models.transducer``). The
    encoder runs as the caller runs it (eagerly here, traced inside ``make_greedy_decoder``); the
    search is the graph function ``greedy_decode_encoded``. Returns ``(tokens [B, L] int32
    0-padded, token_lengths [B])``.
    """
    parts = transducer_parts(model)  # checks the contract before any work
    encoded, encoded_lengths = model.transcribe(features, feature_lengths, training=False)
    return greedy_decode_encoded(encoded, encoded_lengths, parts.prediction_network, parts.joint_network,
                                 max_symbols_per_frame=max_symbols_per_frame)


def make_greedy_decoder(model: keras.Model, max_symbols_per_frame: int = 4):
    """``decode(features [B, T, F], feature_lengths [B]) -> (tokens, token_lengths)``: encoder and search
    in one ``tf.function`` (traced once per input signature; worth it for many batches)."""
    @tf.function(reduce_retracing=True)
    def decode(features, feature_lengths):
        return greedy_decode(model, features, feature_lengths, max_symbols_per_frame)

    return decode
