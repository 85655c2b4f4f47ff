"""The input pattern a model may carry: the inputs it reads, the others left unanswered.

A model's source `TextConfig` may hold an `input_pattern`, an RE2 regular expression (checked
like an output pattern, `keras_seq2seq.decoding.output_check.check_output_pattern`). An input
that does not match it in full, as the source tokenizer sees it (normalized, lower-cased when
the side is), is not answered: `Translator.decode_graph` leaves its outputs empty and
`accepted=False`, in process and in every signature of an export, instead of giving an output
the model was never trained to give.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_seq2seq.text.tokenizers import normalize_text


def passes_input_pattern(texts: Any, text: Any) -> Any | None:
    """Where inputs match the source side's `input_pattern`, in TF ops.

    The pattern must match the whole input after the tokenizer's normalization
    (`keras_seq2seq.text.tokenizers.normalize_text`: NFKC, lower-cased when `text.lowercase`,
    whitespace runs collapsed and stripped).

    Args:
        texts: tf.string tensor `[B]`, the raw inputs.
        text: the source `TextConfig` (its `input_pattern` and `lowercase`).

    Returns:
        A bool tensor `[B]`, or None when the model has no input pattern.

    Example:
    >>> text = TextConfig(input_pattern="[a-z']+", lowercase=True)  # keras_seq2seq.config
    >>> passes_input_pattern(tf.constant(["Hello", " it's ", "r2d2", ""]), text).numpy()
    array([ True,  True, False, False])
    """
    if text.input_pattern is None:
        return None
    normalized = normalize_text(texts, lowercase=text.lowercase)
    return tf.strings.regex_full_match(normalized, text.input_pattern)


def describe_input_pattern(text: Any) -> str | None:
    """The source side's input pattern in words (None: none).

    Example:
    >>> describe_input_pattern(TextConfig(input_pattern="[a-z']+"))
    "must match [a-z']+"
    """
    if text.input_pattern is None:
        return None
    return f"must match {text.input_pattern}"
