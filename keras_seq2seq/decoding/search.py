"""One entry point for decoding: the strategy and processors `DecodeOptions` ask for.

`decode` builds the strategy (`keras_seq2seq.decoding.strategies.make_strategy`) and the
log-probability processors once and runs them; callers that tile a model's context per beam
build the strategy themselves to read its `width` first (see `Translator.decode_graph`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from keras_seq2seq.decoding.beam import BeamResult
from keras_seq2seq.decoding.common import ReorderFn, StepFn, gather_rows
from keras_seq2seq.decoding.loop import LogProbsFn
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.strategies import log_prob_processors, make_strategy


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
    inputs: Mapping[str, Any] | None = None,
) -> BeamResult:
    """Decodes a batch as `options` says and returns n-best shaped results.

    Args:
        step_fn: the step protocol (see `keras_seq2seq.decoding.common`).
        initial_state: nest of tensors with leading dimension `batch`.
        options: DecodeOptions. Its `max_length` is ignored: pass the resolved `max_length`,
            and its `prefix` as `inputs["prefix_ids"]`. `no_repeat_ngram`, `top_p` and
            `coverage_penalty` apply (see `keras_seq2seq.decoding.strategies`).
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
        inputs: per-batch tensors for the log-probability processors (`prefix_ids`, see
            `keras_seq2seq.decoding.prefix`). Defaults to `None`.

    Returns:
        BeamResult with `ids` int32 `[batch, n_best, steps]`, `lengths`, `scores`,
        `normalized_scores` (`[batch, n_best]`) and `attention`
        (`[batch, n_best, steps, source_length]` or None). Greedy search and sampling give
        `n_best = 1` and `normalized_scores == scores`.

    Example:
    >>> result = decode(step_fn, state, DecodeOptions(beam_width=4), start_id=2, end_id=3,
    ...                 max_length=20)  # doctest: +SKIP
    """
    strategy = make_strategy(options, beam_width=beam_width, n_best=n_best)
    return strategy.decode(
        step_fn,
        initial_state,
        start_id=start_id,
        end_id=end_id,
        max_length=max_length,
        max_lengths=max_lengths,
        reorder_fn=reorder_fn,
        adjust_fn=log_prob_processors(options, inputs, first=adjust_fn),
    )
