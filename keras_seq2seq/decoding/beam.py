"""Beam search with frozen finished hypotheses, GNMT length penalty and n-best output."""

from __future__ import annotations

from typing import Any, NamedTuple

import tensorflow as tf

from keras_seq2seq.decoding.common import (
    PAD_ID,
    ReorderFn,
    StepFn,
    check_common_args,
    check_int,
    check_number,
    gather_rows,
    prepare_state,
    sequence_caps,
)
from keras_seq2seq.decoding.constraints import coverage_penalty as _coverage_penalty
from keras_seq2seq.decoding.loop import LogProbsFn, Selection, search_loop
from keras_seq2seq.decoding.shrinking import all_finished, can_shrink, shrinking_loop


class BeamResult(NamedTuple):
    """Output of `beam_search`, best hypothesis first.

    Attributes:
        ids: int32 tensor of shape `[batch, n_best, steps]`. Generated tokens, [END] included
            where it was emitted, `0` ([PAD]) after it. `steps` is the number of decoding steps
            actually run (at most `max_length`).
        lengths: int32 tensor of shape `[batch, n_best]`. Generated tokens, [END] included.
        scores: float32 tensor of shape `[batch, n_best]`. Total log-probability.
        normalized_scores: float32 tensor of shape `[batch, n_best]`. `scores` divided by the
            length penalty: the value hypotheses are ranked by.
        attention: float32 tensor of shape `[batch, n_best, steps, source_length]` (zeros after
            the end), or `None` when the step function returns no attention.
    """

    ids: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor
    normalized_scores: tf.Tensor
    attention: tf.Tensor | None


def _check_width(name: str, value: Any, description: str) -> int | tf.Tensor:
    """Returns a Python int checked to be >= 1, or a scalar integer tensor cast to int32.

    A tensor is only known when the graph runs, so its range is checked by `beam_search` with
    assertion ops instead.
    """
    if tf.is_tensor(value):
        if not value.dtype.is_integer:
            raise TypeError(
                f"`{name}` must be {description}. Received a tensor of dtype {value.dtype.name}."
            )
        if value.shape.rank is not None and value.shape.rank != 0:
            raise ValueError(
                f"`{name}` must be {description}: a Python int or a scalar tensor. Received a "
                f"tensor of shape {value.shape}."
            )
        return tf.cast(value, tf.int32)
    return check_int(name, value, description=description)


def tile_beams(state: Any, beam_width: int | tf.Tensor, reorder_fn: ReorderFn = gather_rows) -> Any:
    """Repeats every tensor of a state `beam_width` times along the batch axis.

    Rows `b * beam_width` to `b * beam_width + beam_width - 1` of the result repeat
    row `b`, which is the layout `beam_search` gives to `step_fn`.

    Args:
        state: nest of tensors, each of shape `[batch, ...]`.
        beam_width: int, or a scalar integer tensor (its value is not checked). Copies of
            each row.
        reorder_fn: `reorder_fn(state, rows)` that takes the state rows in the order `rows`.
            Defaults to `tf.gather` of every tensor.

    Returns:
        The same nest with tensors of shape `[batch * beam_width, ...]`.

    Raises:
        TypeError: if `beam_width` is not an integer.
        ValueError: if `beam_width < 1`, or it is a tensor that is not a scalar.

    Example:

    ```python
    tile_beams({"h": tf.constant([[1.0], [2.0]])}, beam_width=2)
    # {"h": [[1.0], [1.0], [2.0], [2.0]]}
    ```
    """
    beam_width = _check_width("beam_width", beam_width, "a positive integer")
    return _tile(state, beam_width, reorder_fn)


def _tile(state: Any, beam_width: int | tf.Tensor, reorder_fn: ReorderFn) -> Any:
    """`tile_beams` without the argument check."""
    state = tf.nest.map_structure(tf.convert_to_tensor, state)
    flat = tf.nest.flatten(state)
    if not flat:
        return state
    batch_size = tf.shape(flat[0], out_type=tf.int32)[0]
    return reorder_fn(state, tf.repeat(tf.range(batch_size), beam_width))


def length_penalty_factor(lengths: tf.Tensor, alpha: float) -> tf.Tensor:
    """GNMT length penalty `((5 + length) / 6) ** alpha` as float32."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def _normalize(log_probs: tf.Tensor, lengths: tf.Tensor, alpha: float) -> tf.Tensor:
    if alpha == 0.0:
        # Skipping the division keeps the scores bit-identical to greedy search.
        return log_probs
    return log_probs / length_penalty_factor(lengths, alpha)


def check_widths(beam_width: Any, n_best: Any) -> tuple[Any, Any]:
    """Checks `beam_width` and `n_best`; tensor values get assertion ops run with the graph.

    Returns:
        `(beam_width, n_best)`: Python ints, or int32 scalar tensors that carry the checks.

    Raises:
        TypeError, ValueError: as `beam_search`.

    Example:
    >>> check_widths(4, 2)
    (4, 2)
    """
    beam_width = _check_width("beam_width", beam_width, "a positive integer")
    dynamic = tf.is_tensor(beam_width)
    width_text = "" if dynamic else f" ({beam_width})"
    n_best_description = f"an integer between 1 and `beam_width`{width_text}"
    n_best = _check_width("n_best", n_best, n_best_description)
    if not (tf.is_tensor(n_best) or dynamic):
        if n_best > beam_width:
            raise ValueError(f"`n_best` must be {n_best_description}. Received: n_best={n_best}.")
        return beam_width, n_best
    # Values only known when the graph runs: check them there, before any decoding.
    checks = [
        tf.debugging.assert_greater_equal(
            beam_width, 1, message="`beam_width` must be a positive integer."
        ),
        tf.debugging.assert_greater_equal(
            n_best, 1, message=f"`n_best` must be {n_best_description}."
        ),
        tf.debugging.assert_less_equal(
            n_best, beam_width, message=f"`n_best` must be {n_best_description}."
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(beam_width), tf.identity(tf.cast(n_best, tf.int32))


def _first_beam_only(batch_size: tf.Tensor, beam_width: Any) -> tf.Tensor:
    """Initial scores `[batch, beam_width]`: only beam 0 is alive (the others would repeat it)."""
    if tf.is_tensor(beam_width):
        first = tf.where(tf.range(beam_width) == 0, 0.0, float("-inf"))[tf.newaxis]
    else:
        first = tf.constant([[0.0] + [float("-inf")] * (beam_width - 1)])
    return tf.tile(first, [batch_size, 1])


def _coverage(v: dict[str, Any], beam_width: Any) -> tf.Tensor:
    """Summed attention of each hypothesis after this step, `[batch, beam, source_length]`."""
    step = v["step_attention"]
    if step is None:
        raise ValueError(
            "`coverage_penalty` needs the model's attention weights, and this model's step "
            "gives none (e.g. an rnn model trained with --attention none)."
        )
    finished = tf.reshape(v["finished"], [-1])
    step = tf.where(finished[:, tf.newaxis], 0.0, step)
    history = v["attention"]
    history = tf.pad(history, [[0, 0], [0, 0], [0, tf.shape(step)[1] - tf.shape(history)[2]]])
    total = tf.reduce_sum(history, axis=1) + step
    return tf.reshape(total, [-1, beam_width, tf.shape(total)[-1]])


def _select_by_rows(beam_width: Any):
    """`_beam_select` ranking by plain log-probability: each hypothesis's best `beam_width`
    extensions first, then the best `beam_width` of those `beam_width ** 2` candidates.

    The same selection, ties included, as one `top_k` over all `beam_width * V` extensions:
    an input's best `beam_width` extensions hold at most `beam_width` of any one hypothesis,
    and those are its own best (`top_k` puts the lowest index first among equal values, and
    the candidates keep the hypothesis-major order). It spares a pass over `[rows, V]` and
    leaves a finished hypothesis's single candidate ([PAD] at no cost) to small tensors.
    """

    def select(log_probs: tf.Tensor, v: dict[str, Any]) -> Selection:
        per_row = tf.minimum(beam_width, tf.shape(log_probs)[-1])
        totals, tokens = tf.math.top_k(v["scores"][:, :, tf.newaxis] + log_probs, k=per_row)
        # A finished hypothesis may only be extended by [PAD] (id 0) at no cost; its other
        # candidates are impossible (the lowest ids, as `top_k` would rank -inf ties).
        frozen = tf.where(tf.range(per_row) == PAD_ID, 0.0, float("-inf"))
        finished = v["finished"][:, :, tf.newaxis]
        totals = tf.where(finished, v["scores"][:, :, tf.newaxis] + frozen, totals)
        tokens = tf.where(finished, tf.range(per_row), tokens)
        flat_size = beam_width * per_row
        scores, top = tf.math.top_k(tf.reshape(totals, [-1, flat_size]), k=beam_width)
        return Selection(
            tokens=tf.gather(tf.reshape(tokens, [-1, flat_size]), top, batch_dims=1),
            scores=scores,
            parents=top // per_row,
        )

    return select


def _beam_select(alpha: float, beta: float, beam_width: Any):
    """The `select_fn` of beam search: the best `beam_width` extensions of all hypotheses.

    It reads the batch size from `log_probs` `[batch, beam_width, V]`, so it also serves
    `shrinking_loop`, whose batch shrinks.
    """
    if not (alpha or beta):
        return _select_by_rows(beam_width)
    return _select_all(alpha, beta, beam_width)


def _select_all(alpha: float, beta: float, beam_width: Any):
    """`_beam_select` with one `top_k` over every extension of an input's hypotheses (a
    length or coverage penalty can rank a hypothesis's extensions against another's
    differently than their log-probabilities do)."""

    def select(log_probs: tf.Tensor, v: dict[str, Any]) -> Selection:
        vocabulary_size = tf.shape(log_probs)[-1]
        finished = v["finished"]
        # A finished hypothesis may only be extended by [PAD] at no cost: it keeps its score
        # and stays in the beam as one candidate among the extensions of the open ones.
        frozen = tf.one_hot(PAD_ID, vocabulary_size, on_value=0.0, off_value=float("-inf"))
        log_probs = tf.where(finished[:, :, tf.newaxis], frozen, log_probs)
        totals = v["scores"][:, :, tf.newaxis] + log_probs
        new_lengths = v["lengths"] + tf.cast(tf.logical_not(finished), tf.int32)
        ranking = _normalize(totals, new_lengths[:, :, tf.newaxis], alpha)
        if beta:
            coverage = _coverage(v, beam_width)
            ranking += _coverage_penalty(coverage, beta)[:, :, tf.newaxis]
        # Flattening beam-major makes top_k's lowest-index tie-break prefer the lowest beam,
        # then the lowest token.
        flat_size = beam_width * vocabulary_size
        _, top = tf.math.top_k(tf.reshape(ranking, [-1, flat_size]), k=beam_width)
        scores = tf.gather(tf.reshape(totals, [-1, flat_size]), top, batch_dims=1)
        return Selection(
            tokens=top % vocabulary_size, scores=scores, parents=top // vocabulary_size
        )

    return select


def _done_fn(alpha: float, beta: float, n_best: Any):
    """When an input's `n_best` result is settled, from its hypotheses' finished flags in
    ranked order (`shrinking_loop`'s `done_fn`).

    Ranked by plain log-probability (no length or coverage penalty), a hypothesis can only
    lose score as it grows, while a finished one keeps its score: once the `n_best` best
    hypotheses have all finished, no open one can pass them, and the input's result is
    settled. With a penalty an open hypothesis's rank can still rise, so the input waits for
    all its hypotheses to finish.
    """
    if alpha or beta:
        return all_finished
    return lambda finished: tf.reduce_all(finished[:, :n_best], axis=1)


def _best(result: Any, alpha: float, beta: float, n_best: Any) -> BeamResult:
    """The `n_best` hypotheses of each input, best first."""
    normalized = _normalize(result.scores, result.lengths, alpha)
    ranking = normalized
    if beta and result.attention is not None:
        coverage = tf.reduce_sum(result.attention, axis=2)
        ranking = normalized + _coverage_penalty(coverage, beta)
    # The beams already come out sorted; sorting again is cheap and covers a loop of 0 steps.
    _, order = tf.math.top_k(ranking, k=n_best)

    def pick(tensor: tf.Tensor) -> tf.Tensor:
        return tf.gather(tensor, order, batch_dims=1)

    return BeamResult(
        ids=pick(result.ids),
        lengths=pick(result.lengths),
        scores=pick(result.scores),
        normalized_scores=pick(normalized),
        attention=None if result.attention is None else pick(result.attention),
    )


def beam_search(
    step_fn: StepFn,
    initial_state: Any,
    *,
    start_id: int,
    end_id: int,
    beam_width: int | tf.Tensor,
    max_length: int,
    length_penalty: float = 0.0,
    n_best: int | tf.Tensor = 1,
    max_lengths: tf.Tensor | None = None,
    reorder_fn: ReorderFn = gather_rows,
    adjust_fn: LogProbsFn | None = None,
    coverage_penalty: float = 0.0,
) -> BeamResult:
    """Decodes a batch with beam search and returns the `n_best` hypotheses of each input.

    The initial state is tiled with `tile_beams`, so `step_fn` sees `batch * beam_width` rows
    (rows `b * beam_width ...` belong to input `b`). At the first step only beam 0 of each
    input is alive, so no hypothesis appears twice. A hypothesis that emitted `end_id` is
    frozen: it keeps its score, generates no more tokens and competes with the open ones.
    Candidates are ranked by `log_prob / ((5 + length) / 6) ** length_penalty` with `length`
    the number of generated tokens, [END] included; ties go to the lowest beam, then the lowest
    token id. Decoding stops when every beam of every input has ended, or after `max_length`
    steps (hypotheses stopped by the cap have no [END]). With `beam_width=1` the result equals
    `greedy_search`. When `step_fn` is a `keras_seq2seq.decoding.shrinking.ContextStep` (and
    `adjust_fn`, if any, is `row_local`: `can_shrink`), an input leaves the batch once its
    result is settled (same results, less work): when its hypotheses have all ended or, with
    no length or coverage penalty, its `n_best` best ones have.

    Pure TensorFlow (`tf.while_loop`): it runs eagerly and inside `tf.function`, also with an
    unknown batch size. `beam_width` and `n_best` may be scalar integer tensors, so one traced
    graph serves every width (an exported SavedModel takes them as inputs); their ranges are
    then checked by assertion ops when the graph runs (`tf.errors.InvalidArgumentError`).

    Args:
        step_fn: callable `step_fn(tokens, state, time) -> (log_probs, new_state,
            attention)`; see `greedy_search` for the protocol.
        initial_state: nest of tensors, each of shape `[batch, ...]` (not tiled).
        start_id: int. Token fed to the first step.
        end_id: int. Token that ends a hypothesis. Must not be `0` ([PAD]).
        beam_width: int or scalar integer tensor. Hypotheses kept per input.
        max_length: int. Most tokens generated per hypothesis, [END] included.
        length_penalty: float. GNMT exponent `alpha`; `0` ranks by plain log-probability,
            larger values favour longer hypotheses. Defaults to `0.0`.
        n_best: int or scalar integer tensor. Hypotheses returned per input, between 1 and
            `beam_width`. Defaults to `1`.
        max_lengths: optional int tensor of shape `[batch]` with per-input caps;
            the cap is `min(max_length, max_lengths[b])`. Defaults to `None`.
        reorder_fn: `reorder_fn(state, rows)`: the state with its rows taken in the order
            `rows` (int32 `[batch * beam_width]`), to follow the beams. Defaults to
            `tf.gather` of every tensor along axis 0.
        adjust_fn: optional change to the log-probabilities before the candidates are ranked
            (`adjust_fn(log_probs [batch, beam_width, V], loop_vars) -> log_probs`).
            Defaults to `None`.
        coverage_penalty: float >= 0. GNMT coverage penalty weight `beta`: hypotheses are
            ranked by the normalized score plus `beta * Σ_j log(min(coverage_j, 1))` (see
            `keras_seq2seq.decoding.constraints`); needs a step that returns attention.
            Defaults to `0.0`.

    Returns:
        A `BeamResult`, best first, with `ids` int32 `[batch, n_best, steps]`, `lengths` int32
        `[batch, n_best]`, `scores` float32 `[batch, n_best]` (total log-probability),
        `normalized_scores` float32 `[batch, n_best]` and `attention` float32
        `[batch, n_best, steps, source_length]` or `None`.

    Raises:
        TypeError: if `step_fn` is not callable or an argument has the wrong type.
        ValueError: if `beam_width < 1`, `n_best` is not in `[1, beam_width]`,
            `max_length < 1`, `length_penalty < 0`, an id is negative or `end_id == 0`, or
            `beam_width`/`n_best` is a tensor that is not a scalar.
        tf.errors.InvalidArgumentError: when the graph runs, if a tensor `beam_width` is below
            1 or a tensor `n_best` is not in `[1, beam_width]`.

    Example:

    ```python
    table = tf.math.log([[0.1, 0.1, 0.7, 0.1],
                         [0.1, 0.1, 0.2, 0.6],
                         [0.1, 0.1, 0.7, 0.1],
                         [0.1, 0.1, 0.6, 0.2]])

    def step_fn(tokens, state, time):
        return tf.gather(table, tokens), state, None

    result = beam_search(step_fn, {"step": tf.zeros([2])}, start_id=1, end_id=2,
                         beam_width=3, max_length=5, n_best=2)
    result.ids[:, 0]  # [[3, 2, 0], [3, 2, 0]]: "a" [END], probability 0.36
    result.scores  # log([[0.36, 0.2], [0.36, 0.2]])
    ```
    """
    start_id, end_id, max_length = check_common_args(step_fn, start_id, end_id, max_length)
    beam_width, n_best = check_widths(beam_width, n_best)
    return run_beam_search(
        step_fn,
        initial_state,
        start_id=start_id,
        end_id=end_id,
        beam_width=beam_width,
        max_length=max_length,
        length_penalty=check_number("length_penalty", length_penalty),
        n_best=n_best,
        max_lengths=max_lengths,
        reorder_fn=reorder_fn,
        adjust_fn=adjust_fn,
        coverage_penalty=check_number("coverage_penalty", coverage_penalty),
    )


def run_beam_search(
    step_fn: StepFn,
    initial_state: Any,
    *,
    start_id: int,
    end_id: int,
    beam_width: int | tf.Tensor,
    max_length: int,
    length_penalty: float,
    n_best: int | tf.Tensor,
    max_lengths: tf.Tensor | None,
    reorder_fn: ReorderFn,
    adjust_fn: LogProbsFn | None,
    coverage_penalty: float,
) -> BeamResult:
    """`beam_search` on arguments its caller has checked (see `check_widths`)."""
    alpha, beta = length_penalty, coverage_penalty
    state, batch_size = prepare_state(initial_state)
    arguments = {
        "batch_size": batch_size,
        "width": beam_width,
        "start_id": start_id,
        "end_id": end_id,
        "max_length": max_length,
        "caps": sequence_caps(max_length, max_lengths, batch_size),
        "initial_scores": _first_beam_only(batch_size, beam_width),
        "select_fn": _beam_select(alpha, beta, beam_width),
        "reorder_fn": reorder_fn,
    }
    tiled = _tile(state, beam_width, reorder_fn)
    if can_shrink(step_fn, adjust_fn):
        # Inputs that are done leave the batch (same results, less work).
        result = shrinking_loop(step_fn, tiled, adjust_fn=adjust_fn,
                                done_fn=_done_fn(alpha, beta, n_best), **arguments)  # fmt: skip
    else:
        result = search_loop(step_fn, tiled, adjust_fn=adjust_fn, **arguments)
    return _best(result, alpha, beta, n_best)
