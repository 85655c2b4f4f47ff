"""Decoding constraints against degenerate output: n-gram repeat blocking, coverage penalty.

- `no_repeat_ngram_fn(n)`: an `adjust_fn` for the decoders that gives probability 0 to any
  token that would complete an n-gram the hypothesis already holds (`… ein Programm, das ein
  Programm, das …` cannot happen with `n = 3`).
- `coverage_penalty(coverage, beta)`: the GNMT coverage penalty (Wu et al. 2016, eq. 14),
  `beta * Σ_j log(min(Σ_i p_ij, 1))` over the source positions `j`, which beam search adds to
  the length-normalized score: hypotheses that leave source words unattended rank lower.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_seq2seq.decoding.loop import LogProbsFn


def blocked_tokens(ids: tf.Tensor, n: int, vocabulary_size: tf.Tensor) -> tf.Tensor:
    """Which tokens would repeat an n-gram of each row's history.

    Args:
        ids: int32 `[rows, steps]`. The tokens generated so far.
        n: int >= 1. The n-gram length (1 blocks every token already generated).
        vocabulary_size: int32 scalar.

    Returns:
        bool `[rows, vocabulary_size]`.

    Example:
    >>> blocked_tokens(tf.constant([[5, 6, 5]]), 2, 8).numpy()[0].nonzero()[0]
    array([6])
    """
    rows, steps = tf.shape(ids)[0], tf.shape(ids)[1]
    starts = tf.maximum(steps - n + 1, 0)  # n-grams that end inside the history
    # The current (n-1)-token prefix, read from a copy padded in front so every index is valid
    # (a short history has no earlier n-gram, so the padding never matches anything).
    padded = tf.concat([tf.fill([rows, n - 1], -1), ids], axis=1)
    match = tf.ones([rows, starts], tf.bool)
    for k in range(n - 1):
        # Token k of each earlier n-gram against token k of the current prefix.
        earlier = ids[:, k : k + starts]
        match &= tf.equal(earlier, padded[:, steps + k][:, tf.newaxis])
    following = ids[:, n - 1 : n - 1 + starts]  # the token each earlier n-gram ended with
    row_index = tf.broadcast_to(tf.range(rows)[:, tf.newaxis], tf.shape(following))
    indices = tf.stack([tf.reshape(row_index, [-1]), tf.reshape(following, [-1])], axis=1)
    updates = tf.reshape(tf.cast(match, tf.int32), [-1])
    counts = tf.scatter_nd(indices, updates, tf.stack([rows, vocabulary_size]))
    return counts > 0


def no_repeat_ngram_fn(n: int) -> LogProbsFn:
    """An `adjust_fn` that blocks tokens completing an n-gram seen before in the hypothesis.

    Args:
        n: int >= 1.

    Returns:
        `adjust_fn(log_probs [batch, width, V], loop_vars) -> log_probs`.
    """

    def adjust(log_probs: tf.Tensor, loop_vars: dict[str, Any]) -> tf.Tensor:
        shape = tf.shape(log_probs)
        blocked = blocked_tokens(loop_vars["ids"], n, shape[2])
        return tf.where(tf.reshape(blocked, shape), float("-inf"), log_probs)

    adjust.row_local = True  # reads each row's own history only (see `shrinking.can_shrink`)
    return adjust


def coverage_penalty(coverage: tf.Tensor, beta: float) -> tf.Tensor:
    """GNMT coverage penalty of `[..., source_length]` summed attention.

    Source positions with no attention at all (padding) are left out: attention is exactly 0
    there.

    Example:
    >>> float(coverage_penalty(tf.constant([[0.5, 1.5, 0.0]]), 1.0)[0])  # log(0.5) + log(1)
    -0.6931471824645996
    """
    capped = tf.minimum(coverage, 1.0)
    terms = tf.where(coverage > 0, tf.math.log(tf.maximum(capped, 1e-30)), 0.0)
    return beta * tf.reduce_sum(terms, axis=-1)
