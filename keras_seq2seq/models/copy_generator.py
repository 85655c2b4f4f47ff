"""Copy attention (pointer-generator, See et al. 2017): one Keras layer both architectures use.

`CopyGenerator` mixes the decoder's softmax over the target vocabulary with its attention over
the source. A generation probability `p_gen = sigmoid(w · features + b)` from the decoder's
output, the attention context and the input embedding weighs the two:

```
p(w) = p_gen · softmax(logits)[w] + (1 − p_gen) · Σ_{j : copy_id[j] = w} attention[j]
```

over the extended vocabulary of `V + S` ids (`keras_seq2seq.copying`): id `V + j` is the
source token at position `j`, for tokens outside the target vocabulary. The layer returns
float32 log-probabilities; the training loss reads them as logits (a log-softmax of
normalized log-probabilities leaves them unchanged).

With `coverage_weight > 0` it also adds See et al.'s coverage loss,
`Σ_t Σ_j min(attention[t, j], Σ_{t' < t} attention[t', j])` per target token, times the weight
(`layer.add_loss`, so `fit` minimizes it with the cross-entropy).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

_FLOOR = 1e-30
"""Smallest probability taken to the log in training (a saturated gate must not give -inf)."""


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class CopyGenerator(keras.layers.Layer):
    """Mixes generating from the vocabulary with copying source tokens.

    Args:
        vocabulary_size: int. `V`, the size of the target vocabulary.
        coverage_weight: float. Weight of the coverage loss (0 turns it off). Defaults to `0.0`.
        **kwargs: Layer arguments (`name`, `dtype`).

    Call args:
        inputs: list of
            `logits` float `[B, T, V]`,
            `attention` float `[B, T, S]` (each row sums to 1 over the real source positions),
            `features` float `[B, T, F]` (what the generation probability reads),
            `copy_ids` int32 `[B, S]` (`CopyVocabulary.copy_ids`),
            `target_mask` bool `[B, T]` (real target positions, for the coverage loss).
        training: bool. In inference, extended ids no source position maps to get
            log-probability `-inf` exactly (they can never be chosen).

    Returns:
        float32 `[B, T, V + S]` log-probabilities.

    Example:
    >>> layer = CopyGenerator(6)
    >>> out = layer([ops.zeros((1, 2, 6)), ops.ones((1, 2, 3)) / 3, ops.zeros((1, 2, 4)),
    ...              ops.array([[7, 4, 3]], "int32"), ops.ones((1, 2), "bool")])
    >>> tuple(out.shape)
    (1, 2, 9)
    """

    def __init__(self, vocabulary_size: int, coverage_weight: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
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
        p_gen = ops.sigmoid(self.gate(ops.cast(features, "float32")))  # [B, T, 1]
        generated = ops.softmax(ops.cast(logits, "float32"), axis=-1) * p_gen
        source_length = tf.shape(attention)[2]
        probs = tf.pad(generated, [[0, 0], [0, 0], [0, source_length]])
        probs = tf.tensor_scatter_nd_add(
            probs, _scatter_indices(attention, copy_ids), attention * (1.0 - p_gen)
        )
        log_probs = ops.log(ops.maximum(probs, _FLOOR))
        if self.coverage_weight and training:
            self.add_loss(self.coverage_weight * coverage_loss(attention, target_mask))
        if not training:
            extended = tf.range(tf.shape(probs)[2]) >= self.vocabulary_size
            log_probs = tf.where(extended & (probs <= 0.0), float("-inf"), log_probs)
        return log_probs

    def compute_output_shape(self, input_shape):
        logits, attention = input_shape[0], input_shape[1]
        extended = None if attention[2] is None else logits[2] + attention[2]
        return (*logits[:2], extended)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "coverage_weight": self.coverage_weight,
        }


def _scatter_indices(attention: tf.Tensor, copy_ids: tf.Tensor) -> tf.Tensor:
    """Indices `[B, T, S, 3]` of `(row, step, copy id)` for every attention weight."""
    shape = tf.shape(attention)
    batch, steps, length = shape[0], shape[1], shape[2]
    rows = tf.broadcast_to(tf.range(batch)[:, None, None], [batch, steps, length])
    times = tf.broadcast_to(tf.range(steps)[None, :, None], [batch, steps, length])
    ids = tf.broadcast_to(tf.cast(copy_ids, tf.int32)[:, None, :], [batch, steps, length])
    return tf.stack([rows, times, ids], axis=-1)


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
