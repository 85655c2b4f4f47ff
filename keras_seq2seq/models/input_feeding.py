"""Luong input feeding: an RNN decoder whose every step reads the previous attentional vector.

Luong et al. 2015 (section 3.3): the attentional vector `h~_t = tanh(W [c_t; h_t])` of step
`t` joins the token embedding as the input of step `t + 1`, so the decoder knows what it has
attended to so far. The decoder can no longer run its recurrent layers over the whole target
at once and attend afterwards: each step needs the previous step's attention. So
`InputFeedingDecoder` holds the decoder's recurrent cells, the attention and the attentional
projection, and runs one step at a time with `tf.scan` (in training over the whole
target, in decoding over one token). The fed vector is part of the decoder state: it starts
at zero and comes after the recurrent states.

Dropout applies to the decoder's inputs and outputs (outside this layer), not between its
cells inside the step loop.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class InputFeedingDecoder(keras.layers.Layer):
    """Recurrent cells + attention + attentional projection, stepped with input feeding.

    Args:
        units: int. Width of the recurrent cells and of the attentional vector.
        num_layers: int. Stacked recurrent cells.
        cell: str. `"lstm"` or `"gru"`. Defaults to `"lstm"`.
        attention: str. `"dot"` (`keras.layers.Attention`) or `"additive"`
            (`keras.layers.AdditiveAttention`). Defaults to `"dot"`.
        **kwargs: Layer arguments (`name`, `dtype`).

    Call args:
        inputs: list of
            `embedded` float `[B, T, E]` (target token embeddings),
            `memory` float `[B, S, units]` (encoder outputs),
            `memory_mask` bool `[B, S]` (real source positions),
            `feed` float `[B, units]` (the previous attentional vector; zeros at the start),
            then the recurrent states (LSTM `h, c` per layer, GRU `h`), each `[B, units]`.

    Returns:
        list: `attentional [B, T, units]`, `attention [B, T, S]`, `context [B, T, units]`,
        `top [B, T, units]` (the last cell's outputs), the new `feed [B, units]`, then the
        new recurrent states.

    Raises:
        ValueError: `cell` or `attention` is not one of the choices above.

    Example:
    >>> layer = InputFeedingDecoder(8, 1)
    >>> outputs = layer([ops.zeros((2, 3, 4)), ops.zeros((2, 5, 8)), ops.ones((2, 5), "bool"),
    ...                  ops.zeros((2, 8)), ops.zeros((2, 8)), ops.zeros((2, 8))])
    >>> [tuple(o.shape) for o in outputs[:2]]
    [(2, 3, 8), (2, 3, 5)]
    """

    def __init__(self, units: int, num_layers: int, cell: str = "lstm",
                 attention: str = "dot", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if cell not in ("lstm", "gru"):
            raise ValueError(f"cell must be 'lstm' or 'gru'. Received: cell={cell!r}")
        if attention not in ("dot", "additive"):
            raise ValueError(
                "Input feeding feeds the attentional vector, so it needs attention: "
                f"'dot' or 'additive'. Received: attention={attention!r}"
            )
        self.units, self.num_layers = int(units), int(num_layers)
        self.cell_type, self.attention_type = cell, attention
        cell_class = layers.LSTMCell if cell == "lstm" else layers.GRUCell
        policy = self.dtype_policy
        self.cells = [
            cell_class(self.units, name=f"decoder_{i}_cell", dtype=policy)
            for i in range(self.num_layers)
        ]
        attention_class = layers.Attention if attention == "dot" else layers.AdditiveAttention
        self.attention = attention_class(name="attention", dtype=policy)
        self.projection = layers.Dense(
            self.units, activation="tanh", name="attention_projection", dtype=policy
        )

    @property
    def states_per_cell(self) -> int:
        """State tensors one cell carries (LSTM 2, GRU 1)."""
        return 2 if self.cell_type == "lstm" else 1

    def build(self, input_shape):
        embedding_dim = input_shape[0][-1]
        for i, cell in enumerate(self.cells):
            cell.build((None, (embedding_dim + self.units) if i == 0 else self.units))
        self.attention.build([(None, 1, self.units), (None, None, self.units)])
        self.projection.build((None, 2 * self.units))

    def _step(self, memory, memory_mask, carry, embedded_t):
        """One decoder step. `carry` is `(feed, states, attention, context, top)`; `tf.scan`
        stacks every step's carry, so the step's outputs are part of it."""
        feed, states = carry[0], carry[1]
        x = ops.concatenate([embedded_t, feed], axis=-1)
        n = self.states_per_cell
        new_states = []
        for i, cell in enumerate(self.cells):
            x, cell_states = cell(x, list(states[i * n : (i + 1) * n]))
            # A GRUCell given a list of states returns a list, like an LSTMCell.
            new_states.extend(cell_states)
        context, scores = self.attention(
            [x[:, None], memory], mask=[None, memory_mask], return_attention_scores=True
        )
        context, scores = context[:, 0], scores[:, 0]
        attentional = self.projection(ops.concatenate([context, x], axis=-1))
        return attentional, new_states, scores, context, x

    def call(self, inputs, mask=None):
        del mask  # padding sits at the end of the target; the loss masks it by the labels
        embedded, memory, memory_mask, feed, *states = inputs
        # tf.scan, not keras.ops.scan: the TensorFlow backend of keras.ops.scan (Keras 3.15)
        # packs the per-step outputs in the structure of the carry.
        start = (
            feed,
            list(states),
            ops.zeros_like(memory[:, :, 0]),  # attention [B, S]
            ops.zeros_like(feed),  # context
            ops.zeros_like(feed),  # top
        )
        steps = tf.scan(
            lambda carry, x: self._step(memory, memory_mask, carry, x),
            ops.transpose(embedded, (1, 0, 2)),
            initializer=start,
        )
        feeds, stacked_states, scores, contexts, tops = steps
        batch_major = [ops.transpose(o, (1, 0, 2)) for o in (feeds, scores, contexts, tops)]
        return [*batch_major, feeds[-1], *[s[-1] for s in stacked_states]]

    def compute_mask(self, inputs, mask=None):
        del inputs, mask  # the outputs carry no mask (see `call`)
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_layers": self.num_layers,
            "cell": self.cell_type,
            "attention": self.attention_type,
        }
