"""The loop scaffold shared by greedy search, sampling and beam search.

Every decoder keeps `width` hypotheses per input (1 for greedy search and sampling), laid out
as `batch * width` rows: rows `b * width ... b * width + width - 1` belong to input `b`. One
`tf.while_loop` runs the step function, lets the decoder's `select_fn` pick each hypothesis's
next token (and, for beam search, the hypothesis it extends), then does the bookkeeping every
decoder shares: [PAD] after the end, lengths, caps, the finished flags, the token history and
the attention history. The loop stops when every hypothesis has finished or after
`max_length` steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import tensorflow as tf

from keras_seq2seq.decoding.common import (
    PAD_ID,
    ReorderFn,
    StepFn,
    call_step_fn,
    gather_rows,  # noqa: F401  (beam_reorder_fn's example)
    relaxed_shape,
)


class Selection(NamedTuple):
    """What a decoder's `select_fn` chose for the next step.

    Attributes:
        tokens: int32 `[batch, width]`. The next token of each hypothesis (replaced by [PAD]
            where the hypothesis had already finished).
        scores: float32 `[batch, width]`. Total log-probability after this step.
        parents: int32 `[batch, width]` or None. Index (within its input's `width`) of the
            hypothesis each new one extends; None when every hypothesis extends itself.
    """

    tokens: tf.Tensor
    scores: tf.Tensor
    parents: tf.Tensor | None


SelectFn = Callable[[tf.Tensor, dict[str, Any]], Selection]
"""`select_fn(log_probs [batch, width, V], loop_vars) -> Selection`.

`loop_vars` holds `step` (int32 scalar), `scores`, `finished` and `lengths` (`[batch, width]`),
`ids` (`[batch * width, steps so far]`), `attention` (the history, `[batch * width, steps so
far, source_length]`, 0 wide before the first step) and `step_attention` (this step's
weights `[batch * width, source_length]`, or None).
"""

LogProbsFn = Callable[[tf.Tensor, dict[str, Any]], tf.Tensor]
"""`adjust_fn(log_probs [batch, width, V], loop_vars) -> log_probs`, applied before select."""


class LoopResult(NamedTuple):
    """Final loop values, per hypothesis row (`[batch, width, ...]`)."""

    ids: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor
    attention: tf.Tensor | None


def initial_loop_vars(state, *, batch_size, width, start_id, caps, initial_scores):
    """The loop variables at step 0 and their shape invariants (`search_loop`'s; the
    shrinking loop adds its own)."""
    rows_total = batch_size * width
    loop_vars = {
        "step": tf.constant(0, tf.int32),
        "tokens": tf.fill([rows_total], start_id),
        "state": state,
        "scores": initial_scores,
        # An input whose cap is 0 has nothing to generate.
        "finished": tf.tile((caps <= 0)[:, tf.newaxis], [1, width]),
        "lengths": tf.zeros([batch_size, width], tf.int32),
        "ids": tf.zeros([rows_total, 0], tf.int32),
        # The source length is only known from the first step's weights: the history starts
        # 0 wide and is padded to it then.
        "attention": tf.zeros([rows_total, 0, 0], tf.float32),
    }
    pair = tf.TensorShape([None, None if tf.is_tensor(width) else width])
    invariants = {
        "step": tf.TensorShape([]),
        "tokens": tf.TensorShape([None]),
        "state": tf.nest.map_structure(relaxed_shape, state),
        "scores": pair,
        "finished": pair,
        "lengths": pair,
        "ids": tf.TensorShape([None, None]),
        "attention": tf.TensorShape([None, None, None]),
    }
    return loop_vars, invariants


def beam_reorder_fn(step_fn: Any, reorder_fn: ReorderFn) -> ReorderFn:
    """What moves the state with the beams: the step's own `reorder_beams` (a `ContextStep`
    may carry one), else `reorder_fn`.

    Example:
    >>> beam_reorder_fn(lambda tokens, state, time: None, gather_rows) is gather_rows
    True
    """
    return getattr(step_fn, "reorder_beams", None) or reorder_fn


def append_attention(history: tf.Tensor, weights: tf.Tensor, finished: tf.Tensor) -> tf.Tensor:
    """Adds one step's weights `[rows, S]` to the history `[rows, steps, S]` (0 once ended)."""
    alive = tf.logical_not(tf.reshape(finished, [-1]))
    weights = tf.where(alive[:, tf.newaxis], weights, 0.0)
    width_gap = tf.shape(weights)[1] - tf.shape(history)[2]
    history = tf.pad(history, [[0, 0], [0, 0], [0, width_gap]])
    return tf.concat([history, weights[:, tf.newaxis]], axis=1)


def search_loop(
    step_fn: StepFn,
    state: Any,
    *,
    batch_size: tf.Tensor,
    width: int | tf.Tensor,
    start_id: int,
    end_id: int,
    max_length: int,
    caps: tf.Tensor,
    initial_scores: tf.Tensor,
    select_fn: SelectFn,
    reorder_fn: ReorderFn,
    adjust_fn: LogProbsFn | None = None,
) -> LoopResult:
    """Runs the decoding loop. Arguments are expected to have been checked by the caller.

    Args:
        step_fn: the step protocol of `keras_seq2seq.decoding.common`.
        state: nest of tensors with `batch * width` rows (already tiled).
        batch_size: int32 scalar. Inputs.
        width: int or int32 scalar tensor. Hypotheses per input.
        start_id, end_id: ints. First token fed, token that ends a hypothesis.
        max_length: int. Most steps.
        caps: int32 `[batch]`. Most steps per input.
        initial_scores: float32 `[batch, width]`. Starting scores (`-inf` keeps a hypothesis
            out of the search).
        select_fn: picks the next tokens (see `SelectFn`).
        reorder_fn: `reorder_fn(state, rows)` for a `select_fn` that returns parents.
        adjust_fn: optional change to the log-probabilities before `select_fn` (see
            `LogProbsFn`). Defaults to `None`.

    Returns:
        LoopResult with `ids` int32 `[batch, width, steps]`, `lengths` int32 `[batch, width]`,
        `scores` float32 `[batch, width]` and `attention` float32
        `[batch, width, steps, source_length]` or None.
    """
    loop_vars, invariants = initial_loop_vars(
        state,
        batch_size=batch_size,
        width=width,
        start_id=start_id,
        caps=caps,
        initial_scores=initial_scores,
    )
    row_offsets = tf.range(batch_size)[:, tf.newaxis] * width
    beam_reorder = beam_reorder_fn(step_fn, reorder_fn)
    # Set while tracing the body: the static source length of the step's attention, or
    # False when the step gives none.
    collects_attention: list = []

    def cond(v):
        return tf.logical_and(v["step"] < max_length, tf.logical_not(tf.reduce_all(v["finished"])))

    def body(v):
        log_probs, new_state, attention = call_step_fn(step_fn, v["tokens"], v["state"], v["step"])
        log_probs = tf.reshape(log_probs, [batch_size, width, tf.shape(log_probs)[-1]])
        if adjust_fn is not None:
            log_probs = adjust_fn(log_probs, v)
        chosen = select_fn(log_probs, {**v, "step_attention": attention})
        finished, lengths, ids, history = v["finished"], v["lengths"], v["ids"], v["attention"]
        if chosen.parents is not None:
            rows = tf.reshape(chosen.parents + row_offsets, [-1])
            finished = tf.gather(finished, chosen.parents, batch_dims=1)
            lengths = tf.gather(lengths, chosen.parents, batch_dims=1)
            new_state = beam_reorder(new_state, rows)
            ids, history = tf.gather(ids, rows), tf.gather(history, rows)
            if attention is not None:
                attention = tf.gather(attention, rows)
        tokens = tf.where(finished, PAD_ID, chosen.tokens)
        flat_tokens = tf.reshape(tokens, [-1])
        collects_attention[:] = [False if attention is None else attention.shape[1]]
        if attention is not None:
            history = append_attention(history, attention, finished)
        ended = (
            tf.equal(tokens, end_id)
            | (v["step"] + 1 >= caps[:, tf.newaxis])
            # An impossible hypothesis (probability 0) must not keep the loop running.
            | tf.equal(chosen.scores, float("-inf"))
        )
        outputs = {
            "step": v["step"] + 1,
            "tokens": flat_tokens,
            "state": new_state,
            "scores": chosen.scores,
            "finished": finished | ended,
            "lengths": lengths + tf.cast(tf.logical_not(finished), tf.int32),
            "ids": tf.concat([ids, flat_tokens[:, tf.newaxis]], axis=1),
            "attention": history,
        }
        return (outputs,)

    (final,) = tf.while_loop(cond, body, (loop_vars,), shape_invariants=(invariants,))
    return loop_result(final, batch_size, width, collects_attention)


def loop_result(final: dict[str, Any], batch_size, width, collects_attention: list) -> LoopResult:
    """The final loop values per input and hypothesis."""
    attention = None
    if collects_attention and collects_attention[0] is not False:
        shape = tf.concat([[batch_size, width], tf.shape(final["attention"])[1:]], axis=0)
        attention = tf.reshape(final["attention"], shape)
        static_width = None if tf.is_tensor(width) else width
        attention.set_shape([None, static_width, None, collects_attention[0]])
    return LoopResult(
        ids=tf.reshape(final["ids"], tf.stack([batch_size, width, -1])),
        lengths=final["lengths"],
        scores=final["scores"],
        attention=attention,
    )
