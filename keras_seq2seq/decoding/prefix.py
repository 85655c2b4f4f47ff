"""A forced target prefix: the first output tokens given, the rest decoded freely.

As CTranslate2's `target_prefix`: each input may come with a target text whose tokens must
start its output (a completion, an autocomplete, a translation that must begin a certain way).
The prefix is tokenized with the target tokenizer; while an output is shorter than its
prefix, every token but the next prefix token gets probability 0, so greedy search, beam
search and sampling all take it. Then decoding goes on as usual. The output includes the
prefix, and its score the model's log-probabilities of the forced tokens (so a prefix the
model finds unlikely shows in the score). An empty prefix forces nothing: the outputs are
the same as without one. A prefix longer than the output's length cap is cut at the cap.

Every prefix token must be a regular token of the target vocabulary, as the model cannot be
made to write a token it does not have. A prefix that tokenizes to `[UNK]` (or to another
reserved token) is an error in `Translator` (`ValueError`, naming the prefix and the token). In
the graph (the exported `forced_prefix` signature) it refuses that input only: its outputs come
back empty with `accepted` False, as for `min_score`, and the other inputs of the batch are
decoded as usual. With subword tokenizers the prefix is tokenized on its
own, which may split a word differently from how it would be tokenized inside a longer text.

The forcing is a log-probability processor (see `keras_seq2seq.decoding.strategies`) written
in TensorFlow ops, so it runs in the translator's graph and in exported signatures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf

from keras_seq2seq.decoding.loop import LogProbsFn
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.text.tokenizers import Tokenizer
from keras_seq2seq.text.vocabulary import RESERVED_TOKENS

MODEL_LOG_PROBS = "model_log_probs"
"""Key of the loop variables that holds the model's log-probabilities before any processor:
the forced token keeps its model log-probability even if a constraint (`no_repeat_ngram`,
`top_p`) had ruled it out."""

_FIRST_REGULAR_ID = len(RESERVED_TOKENS)


def prefix_ids(tokenizer: Tokenizer, prefixes: tf.Tensor) -> tuple[tf.RaggedTensor, tf.Tensor]:
    """Target token ids of the prefixes, and which prefixes can be forced.

    Args:
        tokenizer: the target Tokenizer.
        prefixes: tf.string `[batch]`.

    Returns:
        `(ids, known)`: int32 RaggedTensor `[batch, None]` and bool `[batch]`, False where a
        prefix has a token outside the target vocabulary (`[UNK]`) or a reserved token; such
        a row's ids are left empty (nothing forced), and the caller refuses its outputs.

    Example:
    >>> from keras_seq2seq.text.tokenizers import CharTokenizer
    >>> tok = CharTokenizer(["[PAD]", "[UNK]", "[START]", "[END]", "a", "b"])
    >>> ids, known = prefix_ids(tok, tf.constant(["ab", "", "ax"]))
    >>> ids.to_list(), known.numpy().tolist()
    ([[4, 5], [], []], [True, True, False])
    """
    ids = tokenizer.tokenize(prefixes)
    regular = ids.with_flat_values(ids.flat_values >= _FIRST_REGULAR_ID)
    known = tf.reduce_all(regular, axis=1)
    keep = ids.with_flat_values(tf.repeat(known, ids.row_lengths()))
    return tf.ragged.boolean_mask(ids, keep), known


def batch_prefixes(prefixes: tf.Tensor, batch_size: tf.Tensor) -> tf.Tensor:
    """One prefix per input from `[batch]`, `[1]` (one for all) or `[0]` (none) prefixes.

    Args:
        prefixes: tf.string of any rank; flattened first (a scalar is one for all).
        batch_size: int32 scalar. Inputs in the batch.

    Returns:
        tf.string `[batch]` (empty strings force nothing).

    Raises:
        tf.errors.InvalidArgumentError: when the graph runs, if there are neither 0, 1 nor
            `batch_size` prefixes.

    Example:
    >>> batch_prefixes(tf.constant(["20"]), 2).numpy()
    array([b'20', b'20'], dtype=object)
    """
    prefixes = tf.reshape(prefixes, [-1])
    count = tf.shape(prefixes)[0]
    check = tf.debugging.Assert(
        (count <= 1) | tf.equal(count, batch_size),
        ["`prefix` must hold one text per input, one for all inputs, or none. Received", count,
         "prefixes for", batch_size, "inputs."],
    )  # fmt: skip
    with tf.control_dependencies([check]):
        one = tf.concat([prefixes, [""]], axis=0)[:1]  # the only prefix, or ""
        return tf.cond(
            tf.equal(count, batch_size),
            lambda: tf.identity(prefixes),
            lambda: tf.repeat(one, batch_size),
        )


def check_prefixes(tokenizer: Tokenizer, prefixes: Sequence[str]) -> None:
    """Checks that every prefix tokenizes to regular target tokens.

    Args:
        tokenizer: the target Tokenizer.
        prefixes: sequence of str.

    Raises:
        ValueError: the first prefix with an unknown or reserved token, naming it and the
            token.

    Example:
    >>> from keras_seq2seq.text.tokenizers import CharTokenizer
    >>> tok = CharTokenizer(["[PAD]", "[UNK]", "[START]", "[END]", "a", "b"])
    >>> check_prefixes(tok, ["ab", "ax"])
    Traceback (most recent call last):
    ...
    ValueError: `prefix` 'ax' (input 1) tokenizes to 'x', which is not in the target vocabulary ...
    """
    distinct = sorted(set(prefixes))
    if not distinct:
        return
    texts = tf.constant(distinct, tf.string)
    ids = tokenizer.tokenize(texts).to_list()
    tokens = tokenizer.tokenize_to_strings(texts).to_list()
    for text, row_ids, row_tokens in zip(distinct, ids, tokens, strict=True):
        bad = [t for i, t in zip(row_ids, row_tokens, strict=True) if i < _FIRST_REGULAR_ID]
        if bad:
            token = bad[0].decode("utf-8", "replace")
            raise ValueError(
                f"`prefix` {text!r} (input {list(prefixes).index(text)}) tokenizes to "
                f"{token!r}, which is not in the target vocabulary (or is reserved), so the "
                "model cannot be made to write it. Use a prefix made of known target tokens, "
                "or none."
            )


def force_prefix_fn(ids: tf.RaggedTensor) -> LogProbsFn:
    """An `adjust_fn` that forces each input's prefix tokens as its first output tokens.

    Args:
        ids: int32 RaggedTensor `[batch, None]`. Prefix token ids per input (rows may be empty).

    Returns:
        `adjust_fn(log_probs [batch, width, V], loop_vars) -> log_probs`: at step `t < len`
        of a row, `-inf` for every token but `ids[row, t]`, which keeps the model's
        log-probability (`loop_vars[MODEL_LOG_PROBS]` when given); other rows and steps
        pass through unchanged.
    """
    lengths = tf.cast(ids.row_lengths(), tf.int32)
    # One padding column, so the column read below exists even when every prefix is empty.
    dense = tf.pad(tf.cast(ids.to_tensor(0), tf.int32), [[0, 0], [0, 1]])

    def adjust(log_probs: tf.Tensor, loop_vars: dict[str, Any]) -> tf.Tensor:
        step = loop_vars["step"]
        forcing = step < lengths
        token = dense[:, tf.minimum(step, tf.shape(dense)[1] - 1)]
        vocabulary = tf.range(tf.shape(log_probs)[-1], dtype=tf.int32)
        is_token = tf.equal(vocabulary[tf.newaxis, tf.newaxis, :], token[:, tf.newaxis, tf.newaxis])
        model = loop_vars.get(MODEL_LOG_PROBS, log_probs)
        forced = tf.where(is_token, model, float("-inf"))
        return tf.where(forcing[:, tf.newaxis, tf.newaxis], forced, log_probs)

    return adjust


def prefix_processor(options: DecodeOptions, inputs: Mapping[str, Any]) -> LogProbsFn | None:
    """The log-probability processor of a forced prefix, or None without prefix ids.

    Args:
        options: DecodeOptions (its `prefix` was turned into `inputs["prefix_ids"]`).
        inputs: per-batch decoding inputs; `prefix_ids` (see `prefix_ids`) when a prefix is
            forced.

    Returns:
        The `force_prefix_fn` of the ids, or None.

    Example:
    >>> prefix_processor(DecodeOptions(), {}) is None
    True
    """
    del options
    ids = inputs.get("prefix_ids")
    return None if ids is None else force_prefix_fn(ids)
