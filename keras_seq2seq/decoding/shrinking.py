"""Search that drops finished inputs: later steps run on the inputs still decoding.

`search_loop` keeps every input in the batch until the last one ends, so an input whose
output ended at step 10 still pays for steps 11 to the longest output's end: its decoder
step, its cache append, its output projection over the whole vocabulary. Long outputs make
this the main cost of a batch (in a batch where one output runs to the length cap, every
other row runs to it too). CTranslate2 drops finished inputs from its batch; greedy and beam
search do the same here (`shrinking_loop`) when the step's context (encoder outputs, masks) is
data rather than captured by the step function, so that its rows can be dropped along with
the state's: a `ContextStep` carries both.

After each step where some input ended (every hypothesis of it, for beam search), that
input's rows are removed from the decoder state, the context and the next tokens (one
`tf.gather` per tensor); the tokens, lengths, scores and attention weights of the remaining
rows are written to their inputs' places in the batch-sized results. The outputs equal
`search_loop`'s token for token: a row's computation does not depend on the other rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from keras_seq2seq.decoding.common import PAD_ID, ReorderFn, call_step_fn, relaxed_shape
from keras_seq2seq.decoding.loop import (
    LogProbsFn,
    LoopResult,
    SelectFn,
    append_attention,
    beam_reorder_fn,
    initial_loop_vars,
    loop_result,
)

ModelStep = Callable[[tf.Tensor, Any, Any, tf.Tensor], Any]
"""`model_step(tokens, state, context, time) -> StepOutput` (a model's `step`)."""


class ContextStep:
    """A step function whose context is data that the decoding loop may shrink.

    Called as `step_fn(tokens, state, time)` it is an ordinary step function (the step
    protocol of `keras_seq2seq.decoding.common`) over its `context`; greedy and beam search
    see the context and drop the rows of finished inputs from it and from the state.

    Args:
        model_step: `model_step(tokens, state, context, time) -> StepOutput`.
        context: nest of tensors, each with one row per decoding row (leading dimension),
            or one row per input (`per_input`).
        per_input: bool. `context` has one row per input, shared by that input's `width`
            hypotheses (a model whose `context_per_input` is true); the loop then drops
            an input's one context row with its hypotheses' rows. Defaults to `False`.
        reorder_beams: optional `reorder_beams(state, rows)` that beam search uses, instead
            of its `reorder_fn`, to move the state with the beams (rows within each input;
            a model's `reorder_beams`). Defaults to `None`.

    Raises:
        TypeError: if `model_step` is not callable.

    Example:
    >>> step_fn = ContextStep(model.step, context)  # doctest: +SKIP
    >>> greedy_search(step_fn, state, start_id=1, end_id=2, max_length=50)  # doctest: +SKIP
    """

    def __init__(
        self,
        model_step: ModelStep,
        context: Any,
        per_input: bool = False,
        reorder_beams: ReorderFn | None = None,
    ):
        if not callable(model_step):
            raise TypeError(
                "`model_step` must be a callable `model_step(tokens, state, context, time)`. "
                f"Received: {model_step!r}."
            )
        self.model_step = model_step
        self.context = context
        self.per_input = bool(per_input)
        self.reorder_beams = reorder_beams

    def __call__(self, tokens: tf.Tensor, state: Any, time: tf.Tensor) -> Any:
        return self.model_step(tokens, state, self.context, time)


def can_shrink(step_fn: Any, adjust_fn: LogProbsFn | None) -> bool:
    """Whether a search may drop finished inputs: a `ContextStep`, and no log-probability
    processor, or only processors marked `row_local` (they read each row's own loop
    variables, such as its token history, and no batch-sized inputs such as forced
    prefixes).

    Example:
    >>> can_shrink(ContextStep(lambda *a: None, {}), None)
    True
    """
    if not isinstance(step_fn, ContextStep):
        return False
    return adjust_fn is None or bool(getattr(adjust_fn, "row_local", False))


def _rows(nest: Any, rows: tf.Tensor) -> Any:
    return tf.nest.map_structure(lambda tensor: tf.gather(tensor, rows), nest)


def _input_rows(inputs: tf.Tensor, width: int | tf.Tensor) -> tf.Tensor:
    """The decoding rows `[len(inputs) * width]` of `inputs`' hypotheses, in order."""
    return tf.reshape(inputs[:, tf.newaxis] * width + tf.range(width)[tf.newaxis], [-1])


def _scatter(full: tf.Tensor, places: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
    return tf.tensor_scatter_nd_update(full, places[:, tf.newaxis], values)


def _initial_vars(step_fn, state, *, batch_size, width, start_id, caps, initial_scores):
    """`search_loop`'s loop variables plus the `alive` inputs; the tokens, state and context
    hold the alive inputs' rows only, the rest stays batch-sized."""
    context = tf.nest.map_structure(tf.convert_to_tensor, step_fn.context)
    # An input whose cap is 0 has nothing to generate: it starts finished and dropped.
    alive = tf.cast(tf.where(caps > 0)[:, 0], tf.int32)
    rows = _input_rows(alive, width)
    loop_vars, invariants = initial_loop_vars(
        _rows(state, rows), batch_size=batch_size, width=width, start_id=start_id, caps=caps,
        initial_scores=initial_scores,
    )  # fmt: skip
    loop_vars.update(
        alive=alive,
        tokens=tf.fill([tf.size(rows)], start_id),
        context=_rows(context, alive if step_fn.per_input else rows),
    )
    invariants.update(
        alive=tf.TensorShape([None]),
        context=tf.nest.map_structure(relaxed_shape, loop_vars["context"]),
    )
    return loop_vars, invariants


def _write_back(full: tf.Tensor, rows: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
    """The history `full` [B * width, steps, ...] grown to `values`' width, `rows` replaced."""
    gap = tf.shape(values)[1:] - tf.shape(full)[1:]
    full = tf.pad(full, tf.stack([tf.zeros_like(tf.shape(full)), tf.concat([[0], gap], 0)], 1))
    return _scatter(full, rows, values)


def _follow_beams(parents, running, new_state, attention, width, reorder_fn):
    """The running rows' flags, lengths, histories, state and attention moved with `parents`
    (beam search), or as they are (`parents` None)."""
    finished, lengths = running["finished"], running["lengths"]
    ids, history = running["ids"], running["attention"]
    if parents is None:
        return finished, lengths, ids, history, new_state, attention
    offsets = tf.range(tf.shape(parents)[0])[:, tf.newaxis] * width
    moved = tf.reshape(parents + offsets, [-1])
    finished = tf.gather(finished, parents, batch_dims=1)
    lengths = tf.gather(lengths, parents, batch_dims=1)
    if attention is not None:
        attention = tf.gather(attention, moved)
    return (finished, lengths, tf.gather(ids, moved), tf.gather(history, moved),
            reorder_fn(new_state, moved), attention)  # fmt: skip


def all_finished(finished: tf.Tensor) -> tf.Tensor:
    """The default `done_fn`: an input is done when every one of its hypotheses has ended."""
    return tf.reduce_all(finished, axis=1)


def _drop_ended(alive, done, tokens, state, context, width, reorder_fn, per_input):
    """`alive`, next tokens, state and context without the inputs that are `done`
    (gathered only at a step where some input is; a `per_input` context by input)."""
    keep = tf.cast(tf.where(tf.logical_not(done))[:, 0], tf.int32)
    kept = _input_rows(keep, width)

    def shrink():
        return (tf.gather(alive, keep), tf.gather(tokens, kept), reorder_fn(state, kept),
                _rows(context, keep if per_input else kept))  # fmt: skip

    return tf.cond(tf.size(keep) < tf.size(alive), shrink, lambda: (alive, tokens, state, context))


def shrinking_loop(
    step_fn: ContextStep,
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
    done_fn: Callable[[tf.Tensor], tf.Tensor] = all_finished,
) -> LoopResult:
    """`search_loop` with the inputs whose hypotheses have all ended dropped from each step.

    Arguments are expected to have been checked by the caller (see `search_loop`); `state`
    and `step_fn.context` have `batch * width` rows. `select_fn` sees the loop variables of
    the inputs still decoding only (`[alive, width]`, their rows' histories), so it must not
    depend on the batch size; so does `adjust_fn`, which must be `row_local` (`can_shrink`).
    `done_fn(finished [alive, width]) -> bool [alive]` says which inputs may leave after a
    step, their hypotheses in the order `select_fn` ranked them (default `all_finished`; beam
    search without penalties leaves as soon as its best hypotheses have ended, since open
    ones can only lose log-probability).

    Returns:
        LoopResult with `ids` int32 `[batch, width, steps]`, `lengths` and `scores`
        `[batch, width]`, and `attention` `[batch, width, steps, source_length]` or None.
    """
    loop_vars, invariants = _initial_vars(
        step_fn, state, batch_size=batch_size, width=width, start_id=start_id, caps=caps,
        initial_scores=initial_scores,
    )  # fmt: skip
    collects_attention: list = []

    def cond(v):
        return tf.logical_and(v["step"] < max_length, tf.size(v["alive"]) > 0)

    def body(v):
        alive = v["alive"]
        rows = _input_rows(alive, width)

        def step(tokens, state, time):
            return step_fn.model_step(tokens, state, v["context"], time)

        log_probs, new_state, attention = call_step_fn(step, v["tokens"], v["state"], v["step"])
        log_probs = tf.reshape(log_probs, [tf.size(alive), width, tf.shape(log_probs)[-1]])
        running = {name: tf.gather(v[name], alive) for name in ("scores", "finished", "lengths")}
        running.update(ids=tf.gather(v["ids"], rows), attention=tf.gather(v["attention"], rows))
        if adjust_fn is not None:
            log_probs = adjust_fn(log_probs, {**v, **running})
        chosen = select_fn(log_probs, {**v, **running, "step_attention": attention})
        finished, lengths, ids, history, new_state, attention = _follow_beams(
            chosen.parents, running, new_state, attention, width,
            beam_reorder_fn(step_fn, reorder_fn),
        )  # fmt: skip
        tokens = tf.where(finished, PAD_ID, chosen.tokens)
        flat_tokens = tf.reshape(tokens, [-1])
        collects_attention[:] = [False if attention is None else attention.shape[1]]
        if attention is not None:
            history = append_attention(history, attention, finished)
        ended = (
            tf.equal(tokens, end_id)
            | (v["step"] + 1 >= tf.gather(caps, alive)[:, tf.newaxis])
            | tf.equal(chosen.scores, float("-inf"))
        )
        now_finished = finished | ended
        next_alive, next_tokens, next_state, next_context = _drop_ended(
            alive, done_fn(now_finished), flat_tokens, new_state, v["context"], width,
            reorder_fn, step_fn.per_input,
        )  # fmt: skip
        outputs = {
            "step": v["step"] + 1,
            "alive": next_alive,
            "tokens": next_tokens,
            "state": next_state,
            "context": next_context,
            "scores": _scatter(v["scores"], alive, chosen.scores),
            "finished": _scatter(v["finished"], alive, now_finished),
            "lengths": _scatter(v["lengths"], alive,
                                lengths + tf.cast(tf.logical_not(finished), tf.int32)),
            "ids": _write_back(v["ids"], rows, tf.concat([ids, flat_tokens[:, tf.newaxis]], 1)),
            "attention": v["attention"] if attention is None else _write_back(
                v["attention"], rows, history
            ),
        }  # fmt: skip
        return (outputs,)

    (final,) = tf.while_loop(cond, body, (loop_vars,), shape_invariants=(invariants,))
    return loop_result(final, batch_size, width, collects_attention)
