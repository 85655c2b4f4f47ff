"""Output constraints a model carries: a pattern its outputs must match, a calendar check.

A model's target `TextConfig` may hold an `output_pattern` (an RE2 regular expression that the
whole output must match, checked with `tf.strings.regex_full_match`) and an `output_check`
(`"calendar"`: the output is an ISO 8601 date `YYYY-MM-DD` that exists, with month 1-12, the
day within its month and 29 February only in leap years). Both are TensorFlow ops, so they
run in graph in `Translator.decode_graph` and in every signature of an exported SavedModel.
An output that fails them is left empty and marked `accepted=False`, as an output scoring
below `min_score` is. An empty output, the model's own refusal, always passes. The source
side's `input_pattern` is in `keras_seq2seq.decoding.input_check`.

The pattern is checked here, without TensorFlow, when a config is made: it must compile as a
Python regular expression and use none of the constructs RE2 lacks (lookaround,
backreferences, atomic groups, possessive quantifiers, `\\Z`).
"""

from __future__ import annotations

import re
from typing import Any

OUTPUT_CHECKS = ("calendar",)
"""The named checks an `output_check` may ask for."""

_RE2_UNSUPPORTED = (
    (r"\(\?<?[=!]", "lookaround ((?=, (?!, (?<=, (?<!)"),
    (r"\\[1-9]|\(\?P=", "backreferences (\\1, (?P=name))"),
    (r"\(\?>", "atomic groups ((?>...))"),
    (r"[*+?}]\+", "possessive quantifiers (*+, ++, ?+)"),
    (r"\\Z", "\\Z (RE2 writes \\z; a full match needs no anchor)"),
)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def check_output_pattern(pattern: object, name: str = "output_pattern") -> str | None:
    """Checks that `pattern` is None or a regular expression RE2 can run.

    Args:
        pattern: the pattern, or None for no pattern.
        name: str. What to call it in an error (a field or a flag). Defaults to
            `"output_pattern"`.

    Returns:
        The pattern, unchanged.

    Raises:
        TypeError: `pattern` is neither None nor a str.
        ValueError: `pattern` is empty, does not compile, or uses a construct RE2 lacks.

    Example:
    >>> check_output_pattern("[0-9]{4}-[0-9]{2}-[0-9]{2}")
    '[0-9]{4}-[0-9]{2}-[0-9]{2}'
    """
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise TypeError(
            f"`{name}` must be a regular expression (str) or None. "
            f"Received: {name}={pattern!r} of type {type(pattern).__name__}"
        )
    if not pattern:
        raise ValueError(f"`{name}` must not be empty; leave it out for no output pattern.")
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"`{name}` is not a valid regular expression ({error}). Received: {name}={pattern!r}"
        ) from error
    for construct, what in _RE2_UNSUPPORTED:
        if re.search(construct, pattern):
            raise ValueError(
                f"`{name}` uses {what}, which RE2 (the regular expressions of TensorFlow and "
                f"TF Serving) does not support. Received: {name}={pattern!r}"
            )
    return pattern


def calendar_dates(outputs: Any) -> Any:
    """True where a string is an existing date `YYYY-MM-DD` (year 0001-9999), in TF ops.

    Args:
        outputs: tf.string tensor of any shape.

    Returns:
        A bool tensor of the same shape.

    Example:
    >>> calendar_dates(tf.constant(["2024-02-29", "2023-02-29", "2021-13-01"])).numpy()
    array([ True, False, False])
    """
    import tensorflow as tf

    shaped = tf.strings.regex_full_match(outputs, r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
    # Strings of another shape are parsed as a harmless stand-in, then rejected by `shaped`.
    safe = tf.where(shaped, outputs, tf.fill(tf.shape(outputs), "0001-01-01"))

    def number(start: int, length: int) -> Any:
        return tf.strings.to_number(tf.strings.substr(safe, start, length), tf.int32)

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = tf.gather(tf.constant(_DAYS_IN_MONTH, tf.int32), tf.clip_by_value(month - 1, 0, 11))
    last += tf.cast((month == 2) & leap, tf.int32)
    return shaped & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)


def passes_output_check(outputs: Any, text: Any) -> Any | None:
    """Where outputs pass the target side's output constraints, in TF ops.

    Args:
        outputs: tf.string tensor of any shape.
        text: the target `TextConfig` (its `output_pattern` and `output_check`).

    Returns:
        A bool tensor shaped like `outputs` (True for empty outputs, the model's own
        refusals), or None when the model has no output constraint.

    Example:
    >>> text = TextConfig(output_pattern="[0-9]+")  # from keras_seq2seq.config
    >>> passes_output_check(tf.constant(["12", "1a", ""]), text).numpy()
    array([ True, False,  True])
    """
    if text.output_pattern is None and text.output_check is None:
        return None
    import tensorflow as tf

    passes = tf.ones_like(outputs, tf.bool) if text.output_pattern is None else (
        tf.strings.regex_full_match(outputs, text.output_pattern)
    )  # fmt: skip
    if text.output_check == "calendar":
        passes &= calendar_dates(outputs)
    return passes | tf.equal(outputs, "")


def describe_output_check(text: Any) -> str | None:
    """The output constraints in words, for messages and the model card (None: none).

    Example:
    >>> describe_output_check(TextConfig(output_pattern="[0-9]+", output_check="calendar"))
    'must match [0-9]+ and be a calendar date YYYY-MM-DD, or be empty'
    """
    parts = []
    if text.output_pattern is not None:
        parts.append(f"match {text.output_pattern}")
    if text.output_check == "calendar":
        parts.append("be a calendar date YYYY-MM-DD")
    return f"must {' and '.join(parts)}, or be empty" if parts else None
