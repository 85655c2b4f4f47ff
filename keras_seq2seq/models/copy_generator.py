"""Copy attention (pointer-generator, See et al. 2017): one Keras layer both architectures use.

`CopyGenerator` mixes the decoder's softmax over the target vocabulary with its attention over
the source. A generation probability `p_gen = sigmoid(w · features + b)` from the decoder's
output, the attention context and the input embedding weighs the two:

```
p(w) = p_gen · softmax(logits)[w] + (1 − p_gen) · Σ_{j : copy_id[j] = w} attention[j]
```

over the extended vocabulary of `V + S` ids (`keras_seq2seq.models.copying`): id `V + j` is the
source token first seen at position `j`, for tokens outside the target vocabulary. The layer
works in log space and returns float32 log-probabilities (the training loss takes them with
`from_log_probs=True`): the generated part is `log_softmax(logits) + log p_gen`, the copy mass
of each distinct copy id is summed over its positions with one small matmul, added into the
vocabulary (and extended) columns with one scatter. Extended ids that no source position
maps to have log-probability `-inf` exactly: they can never be chosen.

With `coverage_weight > 0` it also adds See et al.'s coverage loss,
`Σ_t Σ_j min(attention[t, j], Σ_{t' < t} attention[t', j])` per target token, times the weight
(`layer.add_loss`, so `fit` minimizes it with the cross-entropy).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from keras_seq2seq.text.vocabulary import END_ID, PAD_ID

_FLOOR = 1e-30
"""Smallest copy mass taken to the log (a log of 0 would have an infinite gradient)."""


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class CopyGenerator(keras.layers.Layer):
    """Mixes generating from the vocabulary with copying source tokens.

    Args:
        coverage_weight: float. Weight of the coverage loss (0 turns it off). Defaults to `0.0`.
        **kwargs: Layer arguments (`name`, `dtype`).

    Call args:
        inputs: list of
            `logits` float `[B, T, V]`,
            `attention` float `[B, T, S]` (each row sums to 1 over the real source positions),
            `features` float `[B, T, F]` (what the generation probability reads),
            `copy_ids` int32 `[B, S]` (`CopyVocabulary.copy_ids`),
            `target_mask` bool `[B, T]` (real target positions, for the coverage loss).
        training: bool. Adds the coverage loss when True.

    Returns:
        float32 `[B, T, V + S]` log-probabilities.

    Example:
    >>> layer = CopyGenerator()
    >>> out = layer([ops.zeros((1, 2, 6)), ops.ones((1, 2, 3)) / 3, ops.zeros((1, 2, 4)),
    ...              ops.array([[7, 4, 3]], "int32"), ops.ones((1, 2), "bool")])
    >>> tuple(out.shape)
    (1, 2, 9)
    """

    def __init__(self, coverage_weight: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.coverage_weight = float(coverage_weight)
        self.gate = keras.layers.Dense(1, name="copy_gate", dtype="float32")
        self.supports_masking = True

    def compute_mask(self, inputs, previous_mask=None):
        # The target positions' mask (on the logits) carries over to the log-probabilities.
        if previous_mask is None:
            return None
        return previous_mask[0]

    def build(self, input_shape):
        self.gate.build(input_shape[2])

    def call(self, inputs, training=None):
        logits, attention, features, copy_ids, target_mask = inputs
        attention = ops.cast(attention, "float32")
        copy_ids = tf.cast(copy_ids, tf.int32)
        gate = self.gate(ops.cast(features, "float32"))  # [B, T, 1], p_gen = sigmoid(gate)
        # Generation over the extended vocabulary: the S extended ids generate nothing.
        source_length = tf.shape(copy_ids)[1]
        padded = tf.pad(
            ops.cast(logits, "float32"), [[0, 0], [0, 0], [0, source_length]],
            constant_values=float("-inf"),
        )  # fmt: skip
        log_generate = tf.nn.log_softmax(padded) + tf.math.log_sigmoid(gate)
        # The copy mass of every distinct copy id, at the first position that holds it.
        first = _first_positions(copy_ids)  # [B, S]
        mass = tf.einsum("bts,bsj->btj", attention, tf.one_hot(first, source_length))
        log_copy = tf.math.log_sigmoid(-gate) + tf.math.log(tf.maximum(mass, _FLOOR))
        if self.coverage_weight and training:
            self.add_loss(self.coverage_weight * coverage_loss(attention, target_mask))
        return _add_copy_mass(log_generate, log_copy, copy_ids, first)

    def compute_output_shape(self, input_shape):
        logits, attention = input_shape[0], input_shape[1]
        extended = None if attention[2] is None else logits[2] + attention[2]
        return (*logits[:2], extended)

    def get_config(self):
        return {
            **super().get_config(),
            "coverage_weight": self.coverage_weight,
        }


def _first_positions(copy_ids: tf.Tensor) -> tf.Tensor:
    """`[B, S]`: for each source position, the first position with the same copy id."""
    same = tf.equal(copy_ids[:, :, tf.newaxis], copy_ids[:, tf.newaxis, :])
    return tf.argmax(tf.cast(same, tf.int32), axis=-1, output_type=tf.int32)


def _add_copy_mass(log_generate, log_copy, copy_ids, first) -> tf.Tensor:
    """`log_generate` `[B, T, V + S]` with the copy mass of each copy id added in log space.

    Each distinct copy id `c` (first at position `j`) becomes
    `logaddexp(log_generate[c], log_copy[j])`, written with one scatter. Every position
    writes: a repeated id writes its first position's value, and padding writes the value of
    the [END] position (every source ends with [END]).
    """
    positions = tf.range(tf.shape(copy_ids)[1])
    end = tf.argmax(tf.cast(tf.equal(copy_ids, END_ID), tf.int32), axis=-1, output_type=tf.int32)
    padding = tf.equal(copy_ids, PAD_ID)
    source = tf.where(padding, tf.gather(first, end, batch_dims=1)[:, tf.newaxis], first)
    shape = tf.concat([tf.shape(log_generate)[:2], tf.shape(copy_ids)[1:]], axis=0)  # [B, T, S]
    columns = tf.broadcast_to(tf.gather(copy_ids, source, batch_dims=1)[:, tf.newaxis], shape)
    rows = tf.broadcast_to(tf.range(shape[0])[:, None, None], shape)
    times = tf.broadcast_to(tf.range(shape[1])[None, :, None], shape)
    indices = tf.stack([rows, times, columns], axis=-1)
    sources = tf.broadcast_to(source[:, tf.newaxis], shape)
    owns = tf.cast(tf.equal(source, positions), tf.float32)[:, tf.newaxis]  # [B, 1, S]
    return _log_mix(log_generate, log_copy, indices, sources, owns)


def _log_mix(log_generate, log_copy, indices, sources, owns):
    """The scatter of `_add_copy_mass`, with a gradient that never builds another full tensor.

    Autodiff would turn each gather from the `[B, T, V + S]` tensor into a dense
    `[B, T, V + S]` gradient; here the gradient of the written columns is the upstream one
    scaled in place by each column's share of generation.
    """

    @tf.custom_gradient
    def mix(log_generate, log_copy):
        generated = tf.gather_nd(log_generate, indices)  # [B, T, S]
        copied = tf.gather(log_copy, sources, batch_dims=2)
        values = tf.maximum(generated, copied) + tf.math.log1p(tf.exp(-tf.abs(generated - copied)))
        share = tf.exp(generated - values)  # d values / d generated; 1 - share for copied

        def grad(upstream):
            upstream_values = tf.gather_nd(upstream, indices)
            d_generate = tf.tensor_scatter_nd_update(upstream, indices, upstream_values * share)
            # Only the first position of a copy id wrote its own value.
            d_copy = upstream_values * (1.0 - share) * owns
            return d_generate, d_copy

        return tf.tensor_scatter_nd_update(log_generate, indices, values), grad

    return mix(log_generate, log_copy)


def coverage_loss(attention: tf.Tensor, target_mask: tf.Tensor) -> tf.Tensor:
    """See et al.'s coverage loss, averaged over the real target tokens.

    Args:
        attention: float32 `[B, T, S]`.
        target_mask: bool `[B, T]`.

    Returns:
        float32 scalar.

    Example:
    >>> float(coverage_loss(tf.constant([[[1.0, 0.0], [1.0, 0.0]]]), tf.constant([[True, True]])))
    0.5
    """
    coverage = tf.cumsum(attention, axis=1, exclusive=True)
    per_step = tf.reduce_sum(tf.minimum(attention, coverage), axis=-1)
    mask = tf.cast(target_mask, tf.float32)
    return tf.reduce_sum(per_step * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
