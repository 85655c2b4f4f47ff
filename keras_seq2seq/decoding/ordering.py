"""Length ordering: decode texts shortest first, hand results back in the caller's order.

A batch decodes for as long as its longest input and output, so texts of similar length
batched together waste fewer steps on padding and on finished rows. Every place that batches
texts for decoding (the in-process translator, the TF Serving client, evaluation, the teacher
pass of distillation) orders them with `length_order` and undoes it with `in_input_order`; a
caller of those (a stream translator) passes its texts as they come. No TensorFlow import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def length_order(texts: Sequence[str]) -> list[int]:
    """Indices of `texts`, shortest first (stable): the order to batch them in.

    Args:
        texts: sequence of str.

    Returns:
        list of int, a permutation of `range(len(texts))`.

    Example:
    >>> length_order(["abc", "a", "ab"])
    [1, 2, 0]
    """
    return sorted(range(len(texts)), key=lambda i: len(texts[i]))


def in_input_order(order: Sequence[int], results: Sequence[Any]) -> list[Any]:
    """Results computed for `[texts[i] for i in order]`, put back in the texts' own order.

    Args:
        order: sequence of int, a permutation (as `length_order` returns).
        results: sequence, one result per index of `order`, in that order.

    Returns:
        list: `out[order[k]] == results[k]` for every k.

    Raises:
        ValueError: `order` and `results` differ in length.

    Example:
    >>> in_input_order([1, 2, 0], ["a!", "ab!", "abc!"])
    ['abc!', 'a!', 'ab!']
    """
    if len(order) != len(results):
        raise ValueError(f"{len(results)} results for {len(order)} ordered texts.")
    out: list[Any] = [None] * len(order)
    for position, result in zip(order, results, strict=True):
        out[position] = result
    return out
