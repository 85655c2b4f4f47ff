"""One entry point for decoding: greedy search, sampling or beam search from `DecodeOptions`."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_seq2seq.decoding.beam import BeamResult, beam_search
from keras_seq2seq.decoding.common import ReorderFn, StepFn, gather_rows
from keras_seq2seq.decoding.constraints import no_repeat_ngram_fn
from keras_seq2seq.decoding.greedy import greedy_search
from keras_seq2seq.decoding.loop import LogProbsFn
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.sampling import sample_search


def _chain(first: LogProbsFn | None, second: LogProbsFn) -> LogProbsFn:
    if first is None:
        return second
    return lambda log_probs, loop_vars: second(first(log_probs, loop_vars), loop_vars)


def decode(
    step_fn: StepFn,
    initial_state: Any,
    options: DecodeOptions,
    *,
    start_id: int,
    end_id: int,
    max_length: int,
    max_lengths: tf.Tensor | None = None,
    reorder_fn: ReorderFn = gather_rows,
    adjust_fn: LogProbsFn | None = None,
    beam_width: tf.Tensor | None = None,
    n_best: tf.Tensor | None = None,
) -> BeamResult:
    """Decodes a batch as `options` says and returns n-best shaped results.

    Args:
        step_fn: the step protocol (see `keras_seq2seq.decoding.common`).
        initial_state: nest of tensors with leading dimension `batch`.
        options: DecodeOptions. Its `max_length` is ignored: pass the resolved `max_length`.
            `no_repeat_ngram` and `coverage_penalty` apply (see
            `keras_seq2seq.decoding.constraints`).
        start_id: int. Token fed to the first step.
        end_id: int. Token that ends an output.
        max_length: int. Most output tokens, [END] included.
        max_lengths: optional int32 `[batch]` per-input caps. Defaults to `None`.
        reorder_fn: how beam search reorders the state rows. Defaults to `tf.gather`.
        adjust_fn: optional change to the log-probabilities before each choice.
        beam_width: optional int32 scalar tensor that replaces `options.beam_width` (an
            exported signature's input); beam search then always runs (width 1 equals greedy
            search). Defaults to `None`.
        n_best: optional int32 scalar tensor that replaces `options.n_best`. Defaults to `None`.

    Returns:
        BeamResult with `ids` int32 `[batch, n_best, steps]`, `lengths`, `scores`,
        `normalized_scores` (`[batch, n_best]`) and `attention`
        (`[batch, n_best, steps, source_length]` or None). Greedy search and sampling give
        `n_best = 1` and `normalized_scores == scores`.

    Example:
    >>> result = decode(step_fn, state, DecodeOptions(beam_width=4), start_id=2, end_id=3,
    ...                 max_length=20)  # doctest: +SKIP
    """
    if options.no_repeat_ngram:
        adjust_fn = _chain(adjust_fn, no_repeat_ngram_fn(options.no_repeat_ngram))
    common = {
        "start_id": start_id,
        "end_id": end_id,
        "max_length": max_length,
        "max_lengths": max_lengths,
        "adjust_fn": adjust_fn,
    }
    if beam_width is not None or n_best is not None or options.search == "beam":
        return beam_search(
            step_fn,
            initial_state,
            beam_width=options.beam_width if beam_width is None else beam_width,
            n_best=options.n_best if n_best is None else n_best,
            length_penalty=options.length_penalty,
            coverage_penalty=options.coverage_penalty,
            reorder_fn=reorder_fn,
            **common,
        )
    if options.search == "sampling":
        result = sample_search(
            step_fn,
            initial_state,
            temperature=options.temperature,
            top_k=options.top_k,
            seed=options.seed,
            **common,
        )
    else:
        result = greedy_search(step_fn, initial_state, **common)
    return BeamResult(
        ids=result.ids[:, tf.newaxis],
        lengths=result.lengths[:, tf.newaxis],
        scores=result.scores[:, tf.newaxis],
        normalized_scores=result.scores[:, tf.newaxis],
        attention=None if result.attention is None else result.attention[:, tf.newaxis],
    )
