"""Sampling: draw every next token from the model's (tempered, optionally top-k) distribution."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_seq2seq.decoding.common import (
    DecodeResult,
    StepFn,
    check_common_args,
    check_int,
    check_number,
)
from keras_seq2seq.decoding.greedy import ChooseFn, one_hypothesis_search
from keras_seq2seq.decoding.loop import LogProbsFn

_INT64_MAX = 2**63 - 1


def _draw(logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Draws one int32 index per row of `logits` with a stateless op."""
    return tf.random.stateless_categorical(logits, 1, seed=seed, dtype=tf.int32)[:, 0]


def sample_search(
    step_fn: StepFn,
    initial_state: Any,
    *,
    start_id: int,
    end_id: int,
    max_length: int,
    temperature: float = 1.0,
    top_k: int = 0,
    seed: int | None = None,
    max_lengths: tf.Tensor | None = None,
    adjust_fn: LogProbsFn | None = None,
) -> DecodeResult:
    """Decodes a batch by sampling every next token.

    Same loop as `greedy_search`, but the token of each step is drawn from
    `softmax(log_probs / temperature)`, restricted to the `top_k` most probable tokens when
    `top_k > 0`. The draws use stateless random ops seeded with the pair `(seed, step)`, so
    a given `seed` always gives the same output for the same inputs, eagerly and in a graph.

    Args:
        step_fn: callable `step_fn(tokens, state, time) -> (log_probs, new_state,
            attention)`; see `greedy_search` for the protocol.
        initial_state: nest of tensors, each of shape `[batch, ...]`, given to the first step.
        start_id: int. Token fed to the first step.
        end_id: int. Token that ends a sequence. Must not be `0` ([PAD]).
        max_length: int. Most tokens generated per sequence, [END] included.
        temperature: float. Divides the log-probabilities before sampling: below `1` sharpens
            the distribution (towards greedy), above `1` flattens it. Defaults to `1.0`.
        top_k: int. If positive, sample only among the `top_k` most probable tokens (ties to
            the lowest id); `0` samples from the whole vocabulary. Defaults to `0`.
        seed: optional int. Makes the draws reproducible. Defaults to `None` (a fresh random
            seed on every call, or every execution of a traced graph).
        max_lengths: optional int tensor of shape `[batch]` with per-sequence caps;
            the cap is `min(max_length, max_lengths[b])`. Defaults to `None`.
        adjust_fn: optional change to the log-probabilities before the draw (see
            `greedy_search`). Defaults to `None`.

    Returns:
        A `DecodeResult` with `ids` int32 `[batch, steps]`, `lengths` int32 `[batch]`,
        `scores` float32 `[batch]` and `attention` float32 `[batch, steps, source_length]` or
        `None`. `scores` sums the untempered log-probabilities of the drawn tokens.

    Raises:
        TypeError: if `step_fn` is not callable or an argument has the wrong type.
        ValueError: if `max_length < 1`, `temperature <= 0`, `top_k < 0`, an id is negative
            or `end_id == 0`.

    Example:

    ```python
    table = tf.math.log([[0.1, 0.1, 0.7, 0.1],
                         [0.1, 0.1, 0.2, 0.6],
                         [0.1, 0.1, 0.7, 0.1],
                         [0.1, 0.1, 0.6, 0.2]])

    def step_fn(tokens, state, time):
        return tf.gather(table, tokens), state, None

    result = sample_search(step_fn, {"step": tf.zeros([4])}, start_id=1, end_id=2,
                           max_length=5, temperature=0.8, top_k=2, seed=7)
    result.ids.shape  # (4, steps)
    ```
    """
    start_id, end_id, max_length = check_common_args(step_fn, start_id, end_id, max_length)
    temperature = check_number("temperature", temperature, positive=True)
    top_k = check_int("top_k", top_k, minimum=0, description="a non-negative integer")
    if seed is not None:
        seed = check_int(
            "seed",
            seed,
            minimum=0,
            maximum=_INT64_MAX,
            description="a non-negative integer or None",
        )
    return one_hypothesis_search(
        step_fn,
        initial_state,
        start_id=start_id,
        end_id=end_id,
        max_length=max_length,
        max_lengths=max_lengths,
        choose_fn=sampling_choice(temperature, top_k, seed),
        adjust_fn=adjust_fn,
    )


def sampling_choice(temperature: float, top_k: int, seed: int | None) -> ChooseFn:
    """The `choose_fn` of sampling: a seeded draw from the tempered, top-k distribution.

    Arguments are expected to have been checked by the caller; see `sample_search`.

    Args:
        temperature: float > 0.
        top_k: int >= 0 (0 = the whole vocabulary).
        seed: int or None (a fresh seed per call or graph execution).

    Returns:
        `choose_fn(log_probs [batch, V], step) -> tokens int32 [batch]`.

    Example:
    >>> choose = sampling_choice(1.0, 1, seed=3)
    >>> choose(tf.math.log([[0.2, 0.8]]), tf.constant(0)).numpy()
    array([1], dtype=int32)
    """
    if seed is not None:
        seed_tensor = tf.constant(seed, tf.int64)
    else:
        # One draw per call (or per graph execution); the steps then derive from it.
        seed_tensor = tf.random.uniform([], maxval=_INT64_MAX, dtype=tf.int64)

    def choose(log_probs: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        step_seed = tf.stack([seed_tensor, tf.cast(step, tf.int64)])
        logits = log_probs / temperature
        if top_k == 0:
            return _draw(logits, step_seed)
        # Sampling among the top_k values (not masking below a threshold) keeps exactly top_k
        # candidates even with ties, so top_k=1 is greedy search.
        values, indices = tf.math.top_k(logits, k=tf.minimum(top_k, tf.shape(logits)[-1]))
        return tf.gather(indices, _draw(values, step_seed), batch_dims=1)

    return choose
