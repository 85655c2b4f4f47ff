"""Attention in the Transformer's decoding step, and its self-attention cache with ancestry.

A decoding step runs `N = B * width` hypotheses of `B` inputs (rows `b * width ...` belong to
input `b`). Two things here let beam search do less copying than keeping one private copy of
everything per hypothesis:

- **Memory read per input** (`attend_inputs`): an input's hypotheses become `width` query
  positions of one attention over that input's encoder memory, so the memory is neither
  repeated per beam nor read once per hypothesis (CTranslate2 folds beams into the query axis
  the same way).
- **A cache that beams do not copy** (`attend_cache`, `follow_beams`, `reorder_cache`): each
  row of the self-attention cache keeps the keys and values computed in that row at every
  step, whichever hypothesis was there, and never moves when beams are reordered. An int32
  `ancestry` `[N, steps]` says, for each hypothesis and step, which row computed its token
  (always a row of the same input), as an offset from the hypothesis's own row. Reordering
  beams gathers that small matrix only (`follow_beams`); attention reads each input's
  `width` cache rows once and masks, for each hypothesis, every position that is not its
  own ancestor's. Without it, every beam step copies the whole cache twice: once to append,
  once to reorder.

Offsets stay true when whole inputs move together (a plain gather of rows: tiling for beams,
dropping finished inputs, greedy search where every offset is 0). `reorder_cache` is correct
for any rows: it first writes each hypothesis's own history into its row (a plain gather
when every offset is already 0). With one row per input the attention is the ordinary one,
number for number.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf
from keras import layers, ops

ANCESTRY = "ancestry"
"""The state key of the cache's ancestry: int32 `[N, steps so far]`, the row that computed
each hypothesis's token at each step, less the hypothesis's own row."""


def project(x: tf.Tensor, dense: layers.EinsumDense, heads_in: bool = False) -> tf.Tensor:
    """`x` through one of `MultiHeadAttention`'s `EinsumDense` projections as one 2-D matmul.

    The same arithmetic as calling the layer (its kernel and bias, in `x`'s dtype), as one
    `[N * T, D] x [D, H * K]` product instead of the layer's batched matmul.

    Args:
        x: `[N, T, D]` (a query, key or value projection) or `[N, T, H, K]` (`heads_in`, the
            output projection).
        dense: the layer (`query_dense`, `key_dense`, `value_dense` or `output_dense`).
        heads_in: bool. `x` has heads (the output projection). Defaults to `False`.

    Returns:
        `[N, T, H, K]`, or `[N, T, D]` when `heads_in`.

    Example:
    >>> project(h, attention.query_dense).shape  # doctest: +SKIP
    TensorShape([8, 1, 4, 64])
    """
    kernel = ops.cast(dense.kernel, x.dtype)
    shape = tf.shape(x)
    if heads_in:
        flat = tf.reshape(x, [-1, kernel.shape[0] * kernel.shape[1]])
        kernel = tf.reshape(kernel, [-1, kernel.shape[-1]])
        out_shape = [shape[0], shape[1], kernel.shape[-1]]
    else:
        flat = tf.reshape(x, [-1, kernel.shape[0]])
        out_shape = [shape[0], shape[1], kernel.shape[1], kernel.shape[2]]
        kernel = tf.reshape(kernel, [kernel.shape[0], -1])
    projected = tf.matmul(flat, kernel)
    if dense.bias is not None:
        projected = projected + tf.reshape(ops.cast(dense.bias, x.dtype), [-1])
    return tf.reshape(projected, out_shape)


def heads_first(projected: tf.Tensor) -> tf.Tensor:
    """`[N, T, H, K]` (a `MultiHeadAttention` projection) -> `[N, H, T, K]`."""
    return tf.transpose(projected, [0, 2, 1, 3])


def _scaled_query(query: tf.Tensor, attention: layers.MultiHeadAttention) -> tf.Tensor:
    """`[B, width, H, K]` -> heads first `[B, H, width, K]`, scaled by `1 / sqrt(K)`."""
    return heads_first(query) * ops.cast(1.0 / math.sqrt(attention.key_dim), query.dtype)


def _by_input(query: tf.Tensor, inputs: tf.Tensor) -> tf.Tensor:
    """This step's query `[B * width, 1, H, K]` as `[B, width, H, K]`."""
    shape = tf.shape(query)
    return tf.reshape(query, [inputs, -1, shape[2], shape[3]])


def _output(combined: tf.Tensor, rows: tf.Tensor, attention) -> tf.Tensor:
    """Heads-first `[B, H, width, K]` -> `[B * width, 1, units]` through the output projection."""
    merged = project(tf.transpose(combined, [0, 2, 1, 3]), attention.output_dense, heads_in=True)
    return tf.reshape(merged, [rows, 1, tf.shape(merged)[-1]])


def attend_inputs(query, keys, values, mask, attention: layers.MultiHeadAttention):
    """Cross-attention of `N = B * width` hypotheses over the memory of their `B` inputs.

    Args:
        query: `[B * width, 1, H, K]`, this step's query projection.
        keys, values: `[B, H, S, K]`, the memory's projections, heads first.
        mask: bool, broadcastable to `[B, H, 1, S]`: the positions that may be attended.
        attention: the cross-attention `MultiHeadAttention` layer.

    Returns:
        (output `[B * width, 1, units]` through the layer's output projection, weights
        `[B, H, width, S]`).

    Example:
    >>> out, weights = attend_inputs(query, keys, values, mask, layer)  # doctest: +SKIP
    """
    rows = tf.shape(query)[0]
    folded = _scaled_query(_by_input(query, tf.shape(keys)[0]), attention)
    scores = tf.matmul(folded, keys, transpose_b=True)
    scores = tf.where(mask, scores, tf.cast(-1e9, scores.dtype))
    weights = tf.nn.softmax(scores, axis=-1)
    return _output(tf.matmul(weights, values), rows, attention), weights


def empty_ancestry(rows: tf.Tensor) -> tf.Tensor:
    """The ancestry of `rows` hypotheses before the first step: int32 `[rows, 0]`."""
    return tf.zeros([rows, 0], tf.int32)


def attend_cache(query, keys, values, ancestry, inputs, attention: layers.MultiHeadAttention):
    """Self-attention of `N = B * width` hypotheses over their inputs' cache rows.

    Hypothesis `n` attends, at step `s`, the keys and values in row `n + ancestry[n, s]` (a
    row of its own input). Each input's `width` cache rows are read once for all its hypotheses,
    and every position outside a hypothesis's own history is masked out, so no cache row has
    to move with the beams.

    Args:
        query: `[N, 1, H, K]`, this step's query projection.
        keys, values: `[N, H, T, K]`, the cache with this step's keys and values appended.
        ancestry: int32 `[N, T]`, the offset of the row that computed each position (this
            step's: 0).
        inputs: int32 scalar `B`.
        attention: the self-attention `MultiHeadAttention` layer.

    Returns:
        Output `[N, 1, units]` through the layer's output projection.

    Example:
    >>> out = attend_cache(query, keys, values, ancestry, batch, layer)  # doctest: +SKIP
    """
    rows = tf.shape(query)[0]
    width = rows // inputs
    shape = tf.shape(keys)
    by_input = [inputs, width, shape[1], shape[2], shape[3]]  # [B, width rows, H, T, K]
    folded = _scaled_query(_by_input(query, inputs), attention)[:, tf.newaxis]
    scores = tf.matmul(folded, tf.reshape(keys, by_input), transpose_b=True)
    # scores [B, row, H, hypothesis, T]; row r holds position t of hypothesis h when
    # ancestry[h, t] is r (rows counted within the input).
    within_input = tf.range(rows) % width
    own = tf.reshape(ancestry + within_input[:, tf.newaxis], [inputs, width, -1])
    mask = tf.equal(own[:, tf.newaxis], tf.range(width)[tf.newaxis, :, tf.newaxis, tf.newaxis])
    scores = tf.where(mask[:, :, tf.newaxis], scores, tf.cast(-1e9, scores.dtype))
    # One softmax per hypothesis over all (row, position) pairs.
    ordered = tf.transpose(scores, [0, 2, 3, 1, 4])  # [B, H, hypothesis, row, T]
    weights = tf.nn.softmax(tf.reshape(ordered, [inputs, shape[1], width, -1]), axis=-1)
    weights = tf.transpose(tf.reshape(weights, tf.shape(ordered)), [0, 3, 1, 2, 4])
    combined = tf.reduce_sum(tf.matmul(weights, tf.reshape(values, by_input)), axis=1)
    return _output(combined, rows, attention)


def append_step(cache: tf.Tensor, new: tf.Tensor) -> tf.Tensor:
    """The cache `[N, H, T, K]` with this step's `new` `[N, 1, H, K]` appended: `[N, H, T+1, K]`."""
    return tf.concat([cache, heads_first(new)], axis=2)


def append_ancestry(ancestry: tf.Tensor) -> tf.Tensor:
    """`ancestry` `[N, T]` with this step's column: each row computed its own token."""
    return tf.concat([ancestry, tf.zeros([tf.shape(ancestry)[0], 1], ancestry.dtype)], axis=1)


def follow_beams(state: dict[str, Any], rows: tf.Tensor) -> dict[str, Any]:
    """The state after beam search's reordering: only the ancestry moves.

    Args:
        state: the step's state (caches and `ancestry`).
        rows: int32 `[N]`, the hypothesis each new one extends, a row of the same input.

    Returns:
        The state with the ancestry's rows taken in the order `rows` (their offsets moved
        with them); the caches as they are.

    Example:
    >>> follow_beams(state, parents)[ANCESTRY].shape  # doctest: +SKIP
    TensorShape([8, 5])
    """
    moved = rows - tf.range(tf.shape(rows)[0])
    return {**state, ANCESTRY: tf.gather(state[ANCESTRY], rows) + moved[:, tf.newaxis]}


def _own_histories(cache: tf.Tensor, ancestry: tf.Tensor) -> tf.Tensor:
    """The cache with each row holding its own hypothesis's keys or values at every step."""
    shape = tf.shape(cache)  # [N, H, T, K]
    heads, steps = shape[1], shape[2]
    source = ancestry + tf.range(shape[0])[:, tf.newaxis]  # the row that computed (n, t)
    # Row-major index of (source[n, t], h, t) in the cache flattened to [N * H * T, K].
    rows = source[:, tf.newaxis, :] * heads + tf.range(heads)[tf.newaxis, :, tf.newaxis]
    index = rows * steps + tf.range(steps)[tf.newaxis, tf.newaxis, :]
    return tf.gather(tf.reshape(cache, [-1, shape[3]]), index)


def reorder_cache(state: dict[str, Any], rows: tf.Tensor) -> dict[str, Any]:
    """The state with its rows taken in the order `rows`, for any `rows`.

    Where an offset is not 0 (after beam reorders), each row's own history is gathered
    first; every offset is then 0.

    Args:
        state: the step's state (caches and `ancestry`).
        rows: int32 `[M]`, the old row of each new row.

    Returns:
        The state with `M` rows.

    Example:
    >>> reorder_cache(state, tf.constant([0, 0, 1, 1]))[ANCESTRY].shape  # doctest: +SKIP
    TensorShape([4, 5])
    """
    ancestry = state[ANCESTRY]
    settled = tf.reduce_all(tf.equal(ancestry, 0))
    caches = {name: value for name, value in state.items() if name != ANCESTRY}

    def gathered(source):
        return {name: tf.gather(value, rows) for name, value in source.items()}

    moved = tf.cond(
        settled,
        lambda: gathered(caches),
        lambda: gathered({name: _own_histories(value, ancestry) for name, value in caches.items()}),
    )
    own = tf.zeros([tf.shape(rows)[0], tf.shape(ancestry)[1]], tf.int32)
    return {**moved, ANCESTRY: own}
