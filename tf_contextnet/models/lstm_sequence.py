"""LSTM pieces shared by the prediction network and the LM: a whole-sequence LSTM with a hand-written
backward pass (the CPU training path), one step of a stack of LSTM layers, and building that stack.

Shape letters: B batch, U steps, E input width, H units.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def lstm_sequence(x: tf.Tensor, kernel: tf.Tensor, recurrent_kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """Outputs ``h [B, U, H]`` of Keras' LSTM (zero initial state) on ``x [B, U, E]``.

    Gates as in ``keras.layers.LSTMCell`` (order i, f, g, o; sigmoid / tanh):
    ``z_t = x_t W + h_{t-1} R + b``, ``c_t = f ∘ c_{t-1} + i ∘ g``, ``h_t = o ∘ tanh(c_t)``, with
    ``kernel`` W ``[E, 4H]``, ``recurrent_kernel`` R ``[H, 4H]``, ``bias`` b ``[4H]``.

    Same values as Keras' LSTM layer; the speed comes from the gradient. Autodiff through a
    ``while_loop`` adds ``h_{t-1}^T dz_t`` into R's ``[H, 4H]`` gradient at every step (and
    likewise for W), a full-size read-modify-write per step; here the backward loop only carries
    ``(dh, dc)`` and emits ``dz_t``, and the weight gradients are three matmuls over all steps
    after the loop: ``dW = X^T dZ``, ``dR = H_prev^T dZ``, ``db = Σ dZ``, ``dX = dZ W^T``.
    """
    batch = tf.shape(x)[0]
    units = recurrent_kernel.shape[0]
    dtype = x.dtype

    @tf.custom_gradient
    def forward(x, kernel, recurrent_kernel, bias):
        width = x.shape[-1]
        steps = tf.shape(x)[1]
        projected = tf.reshape(tf.matmul(tf.reshape(x, [-1, width]), kernel) + bias, [batch, steps, 4 * units])
        projected = tf.transpose(projected, [1, 0, 2])  # [U, B, 4H]: the loop runs over the first axis
        zeros = tf.zeros([batch, units], dtype)
        gate_zeros = tf.zeros([batch, 4 * units], dtype)

        def step(carry, z_input):
            h, c = carry[0], carry[1]
            z = z_input + tf.matmul(h, recurrent_kernel)
            i, f, g, o = tf.split(z, 4, axis=-1)
            i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
            c = f * c + i * g
            h = o * tf.tanh(c)
            return tf.stack([h, c]), tf.concat([i, f, g, o], axis=-1)

        hc, gates = _scan_with_carries(step, projected, tf.stack([zeros, zeros]), gate_zeros)
        hs, cs = hc[:, 0], hc[:, 1]  # [U, B, H] each: h_t, c_t
        outputs = tf.transpose(hs, [1, 0, 2])

        def grad(d_outputs):
            d_hs = tf.transpose(tf.cast(d_outputs, dtype), [1, 0, 2])
            c_prev = tf.concat([zeros[None], cs[:-1]], axis=0)
            h_prev = tf.concat([zeros[None], hs[:-1]], axis=0)

            def back(carry, inputs):
                dh_next, dc_next = carry[0], carry[1]
                d_h, gate, c, c_before = inputs
                i, f, g, o = tf.split(gate, 4, axis=-1)
                tanh_c = tf.tanh(c)
                dh = d_h + dh_next
                dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
                dz = tf.concat([dc * g * i * (1.0 - i), dc * c_before * f * (1.0 - f), dc * i * (1.0 - g * g),
                                dh * tanh_c * o * (1.0 - o)], axis=-1)
                dh_prev = tf.matmul(dz, recurrent_kernel, transpose_b=True)
                return tf.stack([dh_prev, dc * f]), dz

            _, d_z = _scan_with_carries(back, (d_hs, gates, cs, c_prev), tf.stack([zeros, zeros]), gate_zeros,
                                        reverse=True)
            flat_dz = tf.reshape(tf.transpose(d_z, [1, 0, 2]), [-1, 4 * units])  # [B·U, 4H], x's row order
            flat_x = tf.reshape(x, [-1, width])
            d_x = tf.reshape(tf.matmul(flat_dz, kernel, transpose_b=True), tf.shape(x))
            d_kernel = tf.matmul(flat_x, flat_dz, transpose_a=True)
            d_recurrent = tf.matmul(tf.reshape(h_prev, [-1, units]), tf.reshape(d_z, [-1, 4 * units]),
                                    transpose_a=True)
            d_bias = tf.reduce_sum(flat_dz, axis=0)
            return d_x, d_kernel, d_recurrent, d_bias

        return outputs, grad

    return forward(x, tf.cast(kernel, dtype), tf.cast(recurrent_kernel, dtype), tf.cast(bias, dtype))


def _scan_with_carries(fn, elements, initial, output_zeros, reverse: bool = False):
    """``tf.scan`` returning the stacked carries ``[U, ...]`` and the stacked per-step outputs.

    ``fn(carry, element) -> (new_carry, output)``; ``output_zeros`` has one output's shape. With
    ``reverse`` the steps run from the last element to the first; results stay in element order.
    """
    return tf.scan(lambda accumulated, element: fn(accumulated[0], element), elements,
                   initializer=(initial, output_zeros), reverse=reverse)


def lstm_stack_step(x: tf.Tensor, lstms, state: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One step of stacked Keras LSTM layers: ``x [B, E]``, ``state [L, 2, B, H]`` (float32 (h, c) per
    layer) → ``(h_L [B, H] in x's dtype, new state [L, 2, B, H] float32)``.

    The state stays float32 under every precision policy so that decoders can keep it in loop
    variables of one dtype; each layer computes in its own dtype.
    """
    new_states = []
    for i, lstm in enumerate(lstms):
        h, c = tf.cast(state[i, 0], x.dtype), tf.cast(state[i, 1], x.dtype)
        x, (h, c) = lstm.cell(x, [h, c], training=False)
        new_states.append(tf.stack([tf.cast(h, tf.float32), tf.cast(c, tf.float32)]))
    return x, tf.stack(new_states)


def build_lstm_stack(units: int, num_layers: int, input_width: int, dtype, return_state: bool = False) -> list:
    """``num_layers`` built Keras LSTM layers ``lstm_0, lstm_1, ..`` of ``units`` returning sequences,
    the first reading ``input_width`` channels (the stack of the prediction network and of the LM)."""
    lstms = []
    for i in range(num_layers):
        lstm = keras.layers.LSTM(units, return_sequences=True, return_state=return_state, name=f"lstm_{i}",
                                 dtype=dtype)
        lstm.build((None, None, input_width if i == 0 else units))
        lstms.append(lstm)
    return lstms
