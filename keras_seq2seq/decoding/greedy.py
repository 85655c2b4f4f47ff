"""Greedy search: the most probable next token at every step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from keras_seq2seq.decoding.common import (
    DecodeResult,
    StepFn,
    check_common_args,
    gather_rows,
    prepare_state,
    sequence_caps,
)
from keras_seq2seq.decoding.loop import LogProbsFn, LoopResult, Selection, search_loop
from keras_seq2seq.decoding.shrinking import can_shrink, shrinking_loop

ChooseFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
"""`choose_fn(log_probs [batch, V], step) -> tokens int32 [batch]`."""


def greedy_choice(log_probs: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
    """Returns the int32 [batch] index of the highest log-probability in each row."""
    del step
    # `top_k` documents that ties go to the lowest index (`argmax` does not), which keeps
    # greedy search identical to beam search with `beam_width=1`.
    return tf.math.top_k(log_probs, k=1).indices[:, 0]


def greedy_search(
    step_fn: StepFn,
    initial_state: Any,
    *,
    start_id: int,
    end_id: int,
    max_length: int,
    max_lengths: tf.Tensor | None = None,
    adjust_fn: LogProbsFn | None = None,
) -> DecodeResult:
    """Decodes a batch by taking the most probable token at every step.

    Pure TensorFlow (`tf.while_loop`): it runs eagerly and inside `tf.function`, also with an
    unknown batch size. Decoding stops as soon as every sequence has emitted `end_id`, or after
    `max_length` steps. Ties go to the lowest token id. When `step_fn` is a
    `keras_seq2seq.decoding.shrinking.ContextStep` (and `adjust_fn`, if any, is `row_local`:
    `can_shrink`), the rows of finished sequences are dropped from later steps (same
    outputs, less work).

    Args:
        step_fn: callable `step_fn(tokens, state, time) -> (log_probs, new_state, attention)`
            (see `keras_seq2seq.decoding.common`): `tokens` int32 `[batch]`, `state` a nest of
            tensors with leading dimension `batch`, `time` the int32 step index, `log_probs`
            float32 `[batch, vocabulary_size]` (already log-softmaxed), `new_state` with the
            structure of `state`, and `attention` float32 `[batch, source_length]` or None
            (collected at every step when given).
        initial_state: nest of tensors, each of shape `[batch, ...]`, given to the first step.
        start_id: int. Token fed to the first step.
        end_id: int. Token that ends a sequence. Must not be `0` ([PAD]).
        max_length: int. Most tokens generated per sequence, [END] included.
        max_lengths: optional int tensor of shape `[batch]` with per-sequence caps (e.g. derived
            from the source lengths); the cap is `min(max_length, max_lengths[b])`. Defaults to
            `None` (`max_length` for all).
        adjust_fn: optional `adjust_fn(log_probs [batch, 1, V], loop_vars) -> log_probs`
            applied before the choice (e.g. n-gram blocking). Defaults to `None`.

    Returns:
        A `DecodeResult` with `ids` int32 `[batch, steps]` (`steps <= max_length`, [END]
        included, `0` after the end), `lengths` int32 `[batch]` ([END] included), `scores`
        float32 `[batch]` (sum of the log-probabilities of the generated tokens) and
        `attention` float32 `[batch, steps, source_length]` (zeros after the end) or `None`.

    Raises:
        TypeError: if `step_fn` is not callable or an integer argument is not an integer.
        ValueError: if `max_length < 1`, an id is negative, `end_id == 0`, or
            `initial_state` holds no tensor with a batch dimension.

    Example:

    ```python
    # Vocabulary: 0 [PAD], 1 [START], 2 [END], 3 "a". A bigram table indexed by the previous
    # token: after [START] "a" is likely, after "a" [END] is.
    table = tf.math.log([[0.1, 0.1, 0.7, 0.1],
                         [0.1, 0.1, 0.2, 0.6],
                         [0.1, 0.1, 0.7, 0.1],
                         [0.1, 0.1, 0.6, 0.2]])

    def step_fn(tokens, state, time):
        return tf.gather(table, tokens), state, None

    result = greedy_search(step_fn, {"step": tf.zeros([2])}, start_id=1, end_id=2,
                           max_length=5)
    result.ids  # [[3, 2], [3, 2]]
    result.lengths  # [2, 2]
    ```
    """
    start_id, end_id, max_length = check_common_args(step_fn, start_id, end_id, max_length)
    return one_hypothesis_search(
        step_fn,
        initial_state,
        start_id=start_id,
        end_id=end_id,
        max_length=max_length,
        max_lengths=max_lengths,
        choose_fn=greedy_choice,
        adjust_fn=adjust_fn,
        drop_finished=True,
    )


def one_hypothesis_search(
    step_fn: StepFn,
    initial_state: Any,
    *,
    start_id: int,
    end_id: int,
    max_length: int,
    max_lengths: Any,
    choose_fn: ChooseFn,
    adjust_fn: LogProbsFn | None = None,
    drop_finished: bool = False,
) -> DecodeResult:
    """One hypothesis per input, its next token picked by `choose_fn` (greedy or sampled).

    Arguments are expected to have been checked by the caller; see `greedy_search`.
    """
    result = one_hypothesis_loop(
        step_fn,
        initial_state,
        start_id=start_id,
        end_id=end_id,
        max_length=max_length,
        max_lengths=max_lengths,
        choose_fn=choose_fn,
        adjust_fn=adjust_fn,
        drop_finished=drop_finished,
    )
    return DecodeResult(
        ids=result.ids[:, 0],
        lengths=result.lengths[:, 0],
        scores=result.scores[:, 0],
        attention=None if result.attention is None else result.attention[:, 0],
    )


def one_hypothesis_loop(
    step_fn: StepFn,
    initial_state: Any,
    *,
    start_id: int,
    end_id: int,
    max_length: int,
    max_lengths: Any,
    choose_fn: ChooseFn,
    adjust_fn: LogProbsFn | None = None,
    drop_finished: bool = False,
) -> LoopResult:
    """The loop of `one_hypothesis_search`, its result shaped `[batch, 1, ...]`.

    Arguments are expected to have been checked by the caller; see `greedy_search`. With
    `drop_finished` and `can_shrink(step_fn, adjust_fn)`, finished rows leave the batch
    (`keras_seq2seq.decoding.shrinking`): for a deterministic `choose_fn` only (a sampled
    token would depend on which rows are left).
    """
    state, batch_size = prepare_state(initial_state)

    def select(log_probs: tf.Tensor, v: dict[str, Any]) -> Selection:
        tokens = tf.cast(choose_fn(log_probs[:, 0], v["step"]), tf.int32)[:, tf.newaxis]
        token_log_probs = tf.gather(log_probs, tokens, batch_dims=2)
        gained = tf.where(v["finished"], 0.0, token_log_probs)
        return Selection(tokens=tokens, scores=v["scores"] + gained, parents=None)

    caps = sequence_caps(max_length, max_lengths, batch_size)
    if drop_finished and can_shrink(step_fn, adjust_fn):
        return shrinking_loop(step_fn, state, batch_size=batch_size, width=1,
                              start_id=start_id, end_id=end_id, max_length=max_length,
                              caps=caps, initial_scores=tf.zeros([batch_size, 1], tf.float32),
                              select_fn=select, reorder_fn=gather_rows,
                              adjust_fn=adjust_fn)  # fmt: skip
    return search_loop(
        step_fn,
        state,
        batch_size=batch_size,
        width=1,
        start_id=start_id,
        end_id=end_id,
        max_length=max_length,
        caps=caps,
        initial_scores=tf.zeros([batch_size, 1], tf.float32),
        select_fn=select,
        reorder_fn=gather_rows,
        adjust_fn=adjust_fn,
    )
