"""Top-p (nucleus) sampling: draw only among the likeliest tokens that hold `top_p` of the mass.

Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration". At every step the tokens
are sorted by their tempered probability `softmax(log_probs / temperature)`; the nucleus is the
shortest run of them, from the likeliest, whose probabilities add up to at least `top_p`. The
others get probability 0 before the draw. Ties go to the lowest token id, so a tiny `top_p`
keeps only the token greedy search would take. With `top_k` too, the nucleus is computed over
the whole vocabulary and the draw then keeps at most `top_k` of it.

The filter is a log-probability processor (see `keras_seq2seq.decoding.strategies`): it only
masks tokens, so the score of a drawn token is still its untempered log-probability. It is
written in TensorFlow ops (sort, cumulative sum, mask) and runs inside the decoding graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from keras_seq2seq.decoding.loop import LogProbsFn
from keras_seq2seq.decoding.options import DecodeOptions


def nucleus_mask(logits: tf.Tensor, top_p: float) -> tf.Tensor:
    """Which tokens are in the top-p nucleus of each row of `logits`.

    Args:
        logits: float `[..., V]`. Unnormalized log-probabilities (already tempered).
        top_p: float in (0, 1]. The probability mass to keep.

    Returns:
        bool `[..., V]`: True for the tokens kept. At least one per row (the likeliest;
        the lowest id among equals); every token when `top_p >= 1`.

    Example:
    >>> nucleus_mask(tf.math.log([[0.1, 0.6, 0.3]]), 0.7).numpy()
    array([[False,  True,  True]])
    """
    if top_p >= 1.0:
        # Float rounding can take the running sum to 1 before the last token: keep them all.
        return tf.ones_like(logits, tf.bool)
    shape = tf.shape(logits)
    flat = tf.reshape(logits, [-1, shape[-1]])
    # top_k over the whole row: a sort whose ties go to the lowest index, as greedy search's.
    sorted_logits, order = tf.math.top_k(flat, k=shape[-1])
    probs = tf.nn.softmax(sorted_logits, axis=-1)
    before = tf.math.cumsum(probs, axis=-1, exclusive=True)
    keep_sorted = before < top_p  # the likeliest token always has 0 before it
    keep = tf.gather(keep_sorted, tf.argsort(order, axis=-1, stable=True), batch_dims=1)
    return tf.reshape(keep, shape)


def top_p_processor(options: DecodeOptions, inputs: Mapping[str, Any]) -> LogProbsFn | None:
    """The log-probability processor of `options.top_p`, or None when it does not apply.

    Args:
        options: DecodeOptions. Its `top_p` and `temperature` are used.
        inputs: per-batch decoding inputs (unused).

    Returns:
        `adjust_fn(log_probs [batch, width, V], loop_vars) -> log_probs` giving `-inf` to the
        tokens outside the nucleus, or None without `top_p` (or with `top_p=1`, which keeps
        every token).

    Example:
    >>> top_p_processor(DecodeOptions(), {}) is None
    True
    """
    del inputs
    if options.top_p is None or options.top_p >= 1.0 or options.temperature is None:
        return None
    top_p, temperature = options.top_p, options.temperature

    def adjust(log_probs: tf.Tensor, loop_vars: dict[str, Any]) -> tf.Tensor:
        del loop_vars
        keep = nucleus_mask(log_probs / temperature, top_p)
        return tf.where(keep, log_probs, float("-inf"))

    return adjust
