"""A `keras.layers.LSTM` with a faster training kernel on CPU.

`LSTM` is `keras.layers.LSTM` with the same weights, configuration and results; only its
TensorFlow CPU kernel differs. On GPU (cuDNN eligible) and on other backends it defers to
Keras. Keras's generic CPU loop computes `x_t @ W + h @ U` at every step and lets automatic
differentiation accumulate `dW`, `dU` step by step, so each time step costs two matrix
products forward and four backward. This kernel follows the layout of the fused GPU kernels:

- the input projection `X @ W + b` of all time steps is done up front in large matrix products;
- the recurrence runs in a `tf.while_loop` with one `h @ U` per step, split in two independent
  halves (gates [i, f] and [g, o]) that run side by side on two cores;
- a hand-written backward pass (`tf.custom_gradient`) runs one `dz @ Uᵀ` per step (in the same
  two halves) and computes `dU = Hᵀ dZ` for all steps at once, then `dW` and `dX` through the
  input projection.

Sequences must be right-padded (as for cuDNN); padded steps output zeros (as the cuDNN kernel
does) and the returned states are those of each sequence's last real step.

Example:
>>> layer = LSTM(8, return_sequences=True, return_state=True)
>>> outputs, h, c = layer(keras.ops.ones((2, 5, 3)))
>>> tuple(outputs.shape), tuple(h.shape)
((2, 5, 8), (2, 8))
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _cell(z_if: tf.Tensor, z_go: tf.Tensor, c: tf.Tensor) -> dict[str, tf.Tensor]:
    """One LSTM step from the gate pre-activations, in two halves [i, f] and [g, o].

    Returns:
        dict of `[B, U]` tensors: the new `h` and `c`, the gates `i`, `f`, `g`, `o`,
        `i_g` = i * g and `tanh_c`, and `s_if` = sigmoid([i, f]) `[B, 2U]`.
    """
    s_if = tf.sigmoid(z_if)
    i, f = tf.split(s_if, 2, axis=1)
    z_g, z_o = tf.split(z_go, 2, axis=1)
    g, o = tf.tanh(z_g), tf.sigmoid(z_o)
    i_g = i * g
    c = f * c + i_g
    tanh_c = tf.tanh(c)
    h = o * tanh_c
    return {
        "h": h,
        "c": c,
        "i": i,
        "f": f,
        "g": g,
        "o": o,
        "i_g": i_g,
        "tanh_c": tanh_c,
        "s_if": s_if,
    }


def _projection(x_flat, kernel, bias, steps, batch):
    """`x @ W + b` for all steps at once, as the time-major halves [i, f] and [g, o].

    Args:
        x_flat: float `[T * B, D]`, time-major rows. kernel: `[D, 4U]`. bias: `[4U]`.
        steps, batch: int scalars T and B.

    Returns:
        pair of float `[T, B, 2U]`.
    """
    halves = []
    for k, b in zip(tf.split(kernel, 2, axis=1), tf.split(bias, 2), strict=True):
        halves.append(tf.reshape(tf.nn.bias_add(tf.matmul(x_flat, k), b), [steps, batch, -1]))
    return tuple(halves)


def _plain_recurrence(projected, h0, c0, recurrent_kernel):
    """The recurrence left to automatic differentiation (inference graphs, SavedModels).

    Args:
        projected: pair of float `[T, B, 2U]` from `_projection`.
        h0, c0: float `[B, U]`. recurrent_kernel: `[U, 4U]`.

    Returns:
        (h of every step `[T, B, U]`, c of every step `[T, B, U]`).
    """
    steps = tf.shape(projected[0])[0]
    k_if, k_go = tf.split(recurrent_kernel, 2, axis=1)
    p_if, p_go = projected

    def step(t, h, c, hs, cs):
        cell = _cell(p_if[t] + tf.matmul(h, k_if), p_go[t] + tf.matmul(h, k_go), c)
        h, c = cell["h"], cell["c"]
        return t + 1, h, c, hs.write(t, h), cs.write(t, c)

    hs, cs = (tf.TensorArray(h0.dtype, size=steps) for _ in range(2))
    _, _, _, hs, cs = tf.while_loop(lambda t, *_: t < steps, step, (0, h0, c0, hs, cs))
    return hs.stack(), cs.stack()


def _readable_arrays(dtype, count, size):
    """`count` TensorArrays of `size` elements that may be read more than once."""
    return [tf.TensorArray(dtype, size=size, clear_after_read=False) for _ in range(count)]


def _saving_recurrence(projected, h0, c0, recurrent_halves, lengths):
    """The forward recurrence, saving per step what the hand-written backward pass needs.

    Args:
        projected: pair of float `[T, B, 2U]` from `_projection`.
        h0, c0: float `[B, U]`. Initial states.
        recurrent_halves: pair of `[U, 2U]`, the recurrent kernel's [i, f] and [g, o] columns.
        lengths: int32 `[B]`. Real steps per sequence (the final c is taken there).

    Returns:
        (h `[T + 1, B, U]`: h0, then the h of every step; c of each sequence's last real step
        `[B, U]`; list of four `TensorArray`s of `T` `[B, ·]` elements: `factors_if`,
        `factors_go`, `output_factor`, `forget`, as `_backward_recurrence` reads them).
    """
    p_if, p_go = projected
    k_if, k_go = recurrent_halves
    steps = tf.shape(p_if)[0]
    # live[t, b]: step t is a real step of sequence b; the final states follow it.
    live = (tf.range(steps)[:, None] < lengths[None, :])[:, :, None]

    def step(t, h, c, c_last, saved, hs):
        c_prev = c
        z_if = p_if[t] + tf.matmul(h, k_if)
        z_go = p_go[t] + tf.matmul(h, k_go)
        cell = _cell(z_if, z_go, c)
        h, c, s_if, g, o = (cell[k] for k in ("h", "c", "s_if", "g", "o"))
        # The backward pass needs, per step, dz = [dc, dc] * factors_if and
        # [dc, dh] * factors_go, and dc += dh * o * (1 - tanh(c)^2). The factors are
        # computed here, beside the recurrence (they do not hold up the next step),
        # which leaves the backward loop a short chain of ops per step. Written with
        # the fewest ops: i (1 - g^2) = i - (i g) g, tanh(c) o (1 - o) = h - h o,
        # o (1 - tanh(c)^2) = o - h tanh(c).
        factors_if = (s_if - s_if * s_if) * tf.concat([g, c_prev], axis=1)
        factors_go = tf.concat([cell["i"] - cell["i_g"] * g, h - h * o], axis=1)
        output_factor = o - h * cell["tanh_c"]
        # TensorArray writes keep references, not copied values.
        values = (factors_if, factors_go, output_factor, cell["f"])
        saved = [ta.write(t, v) for ta, v in zip(saved, values, strict=True)]
        c_last = tf.where(live[t], c, c_last)
        return t + 1, h, c, c_last, saved, hs.write(t + 1, h)

    hs = _readable_arrays(h0.dtype, 1, steps + 1)[0].write(0, h0)  # h_{t-1} per step, then h_T
    _, _, _, c_last, saved, hs = tf.while_loop(
        lambda t, *_: t < steps,
        step,
        (0, h0, c0, c0, _readable_arrays(h0.dtype, 4, steps), hs),
    )
    return hs.stack(), c_last, saved


def _backward_recurrence(saved, recurrent_halves, d_h_steps, d_c_steps):
    """The backward loop: one `dz @ Uᵀ` per step (in two halves), from the last step back.

    Args:
        saved: the four `TensorArray`s of `_saving_recurrence`.
        recurrent_halves: pair of `[U, 2U]`, the recurrent kernel's [i, f] and [g, o] columns.
        d_h_steps, d_c_steps: float `[T, B, U]`. Gradients entering each step's h and c from
            outside the recurrence (outputs and final states).

    Returns:
        (dh0 `[B, U]`, dc0 `[B, U]`, dz_if `[T * B, 2U]`, dz_go `[T * B, 2U]`): the gradients
        of the initial states through the recurrence and of the gate pre-activations of
        every step, time-major rows.
    """
    factors_if, factors_go, output_factor, forget = saved
    steps, batch, units = tf.unstack(tf.shape(d_h_steps))
    k_if_t, k_go_t = (tf.transpose(k) for k in recurrent_halves)

    def back(t, dh, dc, dz_if, dz_go):
        dh = dh + d_h_steps[t]
        dc = dc + d_c_steps[t] + dh * output_factor.read(t)
        z_if = tf.concat([dc, dc], axis=1) * factors_if.read(t)
        z_go = tf.concat([dc, dh], axis=1) * factors_go.read(t)
        dh = tf.matmul(z_if, k_if_t) + tf.matmul(z_go, k_go_t)
        return t - 1, dh, dc * forget.read(t), dz_if.write(t, z_if), dz_go.write(t, z_go)

    zeros = tf.zeros([batch, units], d_h_steps.dtype)
    dz_arrays = _readable_arrays(d_h_steps.dtype, 2, steps)
    _, dh0, dc0, dz_if, dz_go = tf.while_loop(
        lambda t, *_: t >= 0, back, (steps - 1, zeros, zeros, *dz_arrays)
    )
    dz_if = tf.reshape(dz_if.stack(), [-1, 2 * units])
    dz_go = tf.reshape(dz_go.stack(), [-1, 2 * units])
    return dh0, dc0, dz_if, dz_go


def _projection_gradients(dz_if, dz_go, x_flat, h_prev_flat, kernel):
    """Gradients of the inputs and of all weights from those of the gate pre-activations.

    Args:
        dz_if, dz_go: float `[T * B, 2U]`, from `_backward_recurrence`.
        x_flat: float `[T * B, D]`. h_prev_flat: float `[T * B, U]`, h_{t-1} of every step.
            Both time-major rows. kernel: `[D, 4U]`.

    Returns:
        (d_x `[T * B, D]`, d_kernel `[D, 4U]`, d_recurrent_kernel `[U, 4U]`, d_bias `[4U]`).
    """
    x_kernel_if, x_kernel_go = tf.split(kernel, 2, axis=1)
    d_x = tf.matmul(dz_if, x_kernel_if, transpose_b=True) + tf.matmul(
        dz_go, x_kernel_go, transpose_b=True
    )
    # Weight gradients: sums over all steps, one product per half.
    d_kernel, d_recurrent, d_bias = (
        tf.concat([op(dz_if), op(dz_go)], axis=-1)
        for op in (
            lambda dz: tf.matmul(x_flat, dz, transpose_a=True),
            lambda dz: tf.matmul(h_prev_flat, dz, transpose_a=True),
            lambda dz: tf.reduce_sum(dz, axis=0),
        )
    )
    return d_x, d_kernel, d_recurrent, d_bias


def _sequence_gradients(upstream, saved, lengths, x_flat, h_prev, kernel, recurrent_halves):
    """The hand-written backward pass of `_trained_sequence`.

    Args:
        upstream: (d h of every step `[T, B, U]`, d final h `[B, U]`, d final c `[B, U]`).
        saved: the four `TensorArray`s of `_saving_recurrence`. lengths: int32 `[B]`.
        x_flat: float `[T * B, D]`, time-major rows. h_prev: float `[T, B, U]`, h_{t-1} of
            every step. kernel: `[D, 4U]`. recurrent_halves: pair of `[U, 2U]`.

    Returns:
        The gradients of `_trained_sequence`'s `run` inputs: (x_flat, h0, c0, kernel,
        recurrent_kernel, bias).
    """
    d_h_seq, d_h_last, d_c_last = upstream
    dtype = h_prev.dtype
    steps, _, units = tf.unstack(tf.shape(h_prev))
    # The final states' gradients enter at each sequence's last real step (or go straight to
    # the initial states for empty sequences).
    at_last = tf.cast(tf.equal(tf.range(steps)[:, None], lengths[None, :] - 1), dtype)
    d_h_steps = d_h_seq + at_last[:, :, None] * d_h_last[None]
    d_c_steps = at_last[:, :, None] * d_c_last[None]
    dh0, dc0, dz_if, dz_go = _backward_recurrence(saved, recurrent_halves, d_h_steps, d_c_steps)
    h_prev_flat = tf.reshape(h_prev, [-1, units])
    d_x, d_kernel, d_recurrent, d_bias = _projection_gradients(
        dz_if, dz_go, x_flat, h_prev_flat, kernel
    )
    empty = tf.cast(tf.equal(lengths, 0), dtype)[:, None]
    dh0 = dh0 + empty * d_h_last
    dc0 = dc0 + empty * d_c_last
    return d_x, dh0, dc0, d_kernel, d_recurrent, d_bias


def _trained_sequence(x_flat, lengths, h0, c0, kernel, recurrent_kernel, bias):
    """Input projection and recurrence with a hand-written backward pass (training).

    The gates are kept in two halves, [i, f] and [g, o], each with its own half of the
    kernels: the two matrix products of a step (and of a backward step) are independent
    ops, so TensorFlow runs them side by side on two cores. The weight gradients are
    whole-sequence products, computed once after the backward loop.

    Args:
        x_flat: float `[T * B, D]`, time-major rows.
        lengths: int32 `[B]`. Real steps per sequence (the final states are taken there).
        h0, c0: float `[B, U]`. kernel: `[D, 4U]`. recurrent_kernel: `[U, 4U]`.
        bias: `[4U]`.

    Returns:
        (h of every step `[T, B, U]`, final h `[B, U]`, final c `[B, U]`).
    """
    batch = tf.shape(h0)[0]
    steps = tf.shape(x_flat)[0] // batch

    @tf.custom_gradient
    def run(x_flat, h0, c0, kernel, recurrent_kernel, bias):
        projected = _projection(x_flat, kernel, bias, steps, batch)
        recurrent_halves = tf.split(recurrent_kernel, 2, axis=1)
        h_all, c_last, saved = _saving_recurrence(projected, h0, c0, recurrent_halves, lengths)
        h_prev, _ = tf.split(h_all, [steps, 1])
        _, h_seq = tf.split(h_all, [1, steps])
        h_last = tf.gather_nd(h_all, tf.stack([lengths, tf.range(batch)], axis=1))

        def grad(d_h_seq, d_h_last, d_c_last):
            upstream = (d_h_seq, d_h_last, d_c_last)
            return _sequence_gradients(
                upstream, saved, lengths, x_flat, h_prev, kernel, recurrent_halves
            )

        return (h_seq, h_last, c_last), grad

    return run(x_flat, h0, c0, kernel, recurrent_kernel, bias)


def lstm_sequence(
    inputs: tf.Tensor,
    h0: tf.Tensor,
    c0: tf.Tensor,
    kernel: tf.Tensor,
    recurrent_kernel: tf.Tensor,
    bias: tf.Tensor | None,
    mask: tf.Tensor | None = None,
    go_backwards: bool = False,
    fast_gradient: bool = True,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Runs an LSTM (Keras gate order i, f, g, o; sigmoid/tanh) over right-padded sequences.

    The recurrence runs over all `T` steps without masking; each sequence's final states are
    then taken at its own length and padded outputs are set to zero. Steps after a sequence's
    end influence nothing, so results and gradients equal those of a masked loop.

    Args:
        inputs: float `[B, T, D]`.
        h0, c0: float `[B, U]`. Initial states.
        kernel: `[D, 4U]`; recurrent_kernel: `[U, 4U]`; bias: `[4U]` or None.
        mask: bool `[B, T]` or None. Must be right-padded (True steps first).
        go_backwards: bool. Process each sequence from its last real step to its first;
            outputs come in processing order over the whole padded length (the Keras
            convention, as in its cuDNN kernel).
        fast_gradient: bool. Use the hand-written backward pass; `False` leaves the loop to
            automatic differentiation and keeps gradient functions out of the graph (for
            inference graphs and SavedModels). Defaults to `True`.

    Returns:
        (outputs `[B, T, U]`, h `[B, U]`, c `[B, U]`).

    Raises:
        tf.errors.InvalidArgumentError: `mask` has a False step before a True one.

    Example:
    >>> x = tf.ones([2, 4, 3]); h0 = tf.zeros([2, 5])
    >>> out, h, c = lstm_sequence(x, h0, h0, tf.ones([3, 20]), tf.ones([5, 20]), None)
    >>> out.shape.as_list()
    [2, 4, 5]
    """
    batch, steps = tf.shape(inputs)[0], tf.shape(inputs)[1]
    if mask is None:
        lengths = tf.fill([batch], steps)
    else:
        mask = tf.cast(mask, tf.bool)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        tf.debugging.assert_equal(
            mask,
            tf.sequence_mask(lengths, steps),
            message=(
                "keras_seq2seq.models.lstm.LSTM needs right-padded sequences (padding after the "
                "tokens, as keras_seq2seq's data pipeline makes them); pad on the right."
            ),
        )
    if go_backwards:
        inputs = tf.reverse_sequence(inputs, lengths, seq_axis=1, batch_axis=0)
    x_flat = tf.reshape(tf.transpose(inputs, [1, 0, 2]), [-1, tf.shape(inputs)[2]])
    if bias is None:
        bias = tf.zeros(tf.shape(kernel)[1:], kernel.dtype)
    if fast_gradient:
        h_seq, h, c = _trained_sequence(x_flat, lengths, h0, c0, kernel, recurrent_kernel, bias)
    else:
        projected = _projection(x_flat, kernel, bias, steps, batch)
        h_seq, c_seq = _plain_recurrence(projected, h0, c0, recurrent_kernel)
        # Final states at each sequence's length (index 0 = the initial state, if empty).
        at_length = tf.stack([lengths, tf.range(batch)], axis=1)
        h = tf.gather_nd(tf.concat([h0[None], h_seq], axis=0), at_length)
        c = tf.gather_nd(tf.concat([c0[None], c_seq], axis=0), at_length)
    outputs = tf.transpose(h_seq, [1, 0, 2])
    if mask is not None:
        outputs = outputs * tf.cast(mask, outputs.dtype)[:, :, None]
    if go_backwards:
        outputs = tf.reverse(tf.reverse_sequence(outputs, lengths, seq_axis=1, batch_axis=0), [1])
    # Keep the static shapes the dynamic reshapes lost (a decoder step needs T = 1 known).
    outputs = tf.ensure_shape(outputs, inputs.shape[:2].concatenate(h0.shape[-1:]))
    return outputs, tf.ensure_shape(h, h0.shape), tf.ensure_shape(c, c0.shape)


def _uses_fast_kernel(layer: keras.layers.LSTM) -> bool:
    cell = layer.cell
    return (
        keras.backend.backend() == "tensorflow"
        and not tf.config.list_logical_devices("GPU")  # Keras picks cuDNN there
        and not layer.unroll
        and not cell.recurrent_dropout
        # implementation=1 draws one input dropout mask per gate, which this kernel does not.
        and not (getattr(cell, "implementation", 2) == 1 and cell.dropout)
        and cell.activation is keras.activations.tanh
        and cell.recurrent_activation is keras.activations.sigmoid
    )


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class LSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with a faster TensorFlow CPU training kernel (see the module).

    Takes the same arguments as `keras.layers.LSTM` and has the same weights; a model saved
    with it loads with `keras_seq2seq` imported. The fast kernel is used on the TensorFlow
    backend without a GPU, with the default activations, `recurrent_dropout=0`,
    `unroll=False` and `stateful=False`; otherwise the layer runs exactly as
    `keras.layers.LSTM`. It hooks in through the public `call` and does there what Keras's
    `RNN.call` does for this layer: default (zero) initial states, input dropout, the
    output format of `return_sequences` and `return_state`.

    Example:
    >>> layer = LSTM(4, return_sequences=True)
    >>> layer(keras.ops.ones((1, 3, 2))).shape
    TensorShape([1, 3, 4])
    """

    def call(self, sequences, initial_state=None, mask=None, training=False):
        """Runs the layer as `keras.layers.LSTM.call` does, with the fast kernel if it applies.

        Args:
            sequences: float `[B, T, D]`.
            initial_state: list of two float `[B, U]` (h, c), or None for zeros.
            mask: bool `[B, T]` (or a list whose first element is), or None. The fast kernel
                needs right-padded sequences.
            training: bool. Applies input dropout and uses the hand-written backward pass.

        Returns:
            as `keras.layers.LSTM`: the outputs (`[B, T, U]` with `return_sequences`, else
            `[B, U]`), followed by the final h and c with `return_state`.
        """
        # Stateful layers keep their states in variables that Keras reads and assigns.
        if self.stateful or not _uses_fast_kernel(self):
            return super().call(
                sequences, initial_state=initial_state, mask=mask, training=training
            )
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if initial_state is None:
            initial_state = self.get_initial_state(keras.ops.shape(sequences)[0])
        dtype = sequences.dtype
        h0, c0 = (
            tf.cast(keras.ops.convert_to_tensor(state, self.cell.compute_dtype), dtype)
            for state in initial_state
        )
        # Keras draws the input dropout mask on every call, training or not (so the layer's
        # random stream stays that of keras.layers.LSTM), and uses one mask per sequence
        # for all its steps.
        keep = self.cell.get_dropout_mask(sequences[:, 0, :])
        self.cell.reset_dropout_mask()
        if training and self.dropout:
            sequences = sequences * tf.expand_dims(keep, 1)
        bias = tf.cast(self.cell.bias, dtype) if self.cell.use_bias else None
        outputs, h, c = lstm_sequence(
            sequences,
            h0,
            c0,
            tf.cast(self.cell.kernel, dtype),
            tf.cast(self.cell.recurrent_kernel, dtype),
            bias,
            mask=mask,
            go_backwards=self.go_backwards,
            # Only training needs the backward pass; inference graphs (and SavedModels made
            # from them) then hold no gradient function.
            fast_gradient=training is True,
        )
        output = outputs if self.return_sequences else h
        output, h, c = (tf.cast(x, self.compute_dtype) for x in (output, h, c))
        if self.return_state:
            return output, h, c
        return output
