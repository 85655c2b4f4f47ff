"""Scoring given pairs: how likely the model finds each target for its source.

`score_graph` computes, in graph and batched, the log-probability of each target (its tokens
and [END]) given its source under teacher forcing, with the model's training graph (for an
ensemble, the members' averaged log-probabilities, as ensemble decoding does). The score of a
hypothesis that beam search returned equals the beam's own score. For reranking n-best lists
and filtering noisy training pairs: `keras-seq2seq score`, `score_pairs`, and the `score`
signature of an export.

Two numbers per pair: `score`, the total log-probability, and `mean_log_prob`, the mean token
log-probability (`score / tokens`). The "normalized score" of decoding (what
`DecodeOptions.min_score` compares and beam search ranks by) is neither: it divides the total
by the GNMT length penalty `((5 + tokens) / 6) ** length_penalty`, so with the default penalty
0 it equals `score`, never `mean_log_prob`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from keras_seq2seq.models.copying import scoring_inputs
from keras_seq2seq.text.vocabulary import END_ID, PAD_ID, START_ID
from keras_seq2seq.validation import check_int


class PairScore(NamedTuple):
    """The score of one pair.

    Attributes:
        score: total log-probability of the target's tokens and [END]; for a hypothesis of
            greedy search, or of beam search without a length penalty, it equals the
            hypothesis' normalized score (what `min_score` compares).
        mean_log_prob: mean token log-probability, `score` divided by `tokens`.
        tokens: the number of target tokens scored, [END] included.
    """

    score: float
    mean_log_prob: float
    tokens: int

    @property
    def normalized_score(self) -> float:
        """Deprecated name of `mean_log_prob` (a "normalized score" is the decoding one)."""
        warnings.warn(
            "PairScore.normalized_score was renamed mean_log_prob (the mean token "
            "log-probability); a normalized score is the GNMT length-normalized score of "
            "decoding (DecodeOptions.min_score).",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.mean_log_prob


def score_graph(translator: Any, sources: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
    """Scores string pairs in graph.

    Targets are tokenized and cut to the model's target `max_length` as in training.

    Args:
        translator: keras_seq2seq.decoding.translator.Translator.
        sources: tf.string `[B]`.
        targets: tf.string `[B]`.

    Returns:
        dict of `scores` float32 `[B]` (total log-probabilities), `mean_log_probs` float32
        `[B]` (`scores / lengths`) and `lengths` int32 `[B]` (target tokens, [END] included).

    Example:
    >>> score_graph(translator, tf.constant(["abc"]), tf.constant(["cba"]))  # doctest: +SKIP
    {'scores': <tf.Tensor: ...>, 'mean_log_probs': <tf.Tensor: ...>, 'lengths': <...>}
    """
    source_ids = translator.encode_source(sources)
    tokens = translator.target_tokenizer.tokenize(targets)
    tokens = tokens[:, : translator.config.target_text.max_length]
    rows = tokens.nrows()
    start = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tf.constant(START_ID, tf.int32)))
    end = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tf.constant(END_ID, tf.int32)))
    target_input = tf.concat([start, tokens], axis=1).to_tensor(PAD_ID)
    target_output = tf.concat([tokens, end], axis=1).to_tensor(PAD_ID)
    # A copying model scores copied tokens at their extended ids, as it was trained.
    batch, target_output = scoring_inputs(
        translator.model, lambda: translator.copy_vocabulary, source_ids, sources,
        target_output, targets, translator.config.target_text.max_length,
    )  # fmt: skip
    log_probs = translator.model.teacher_forced_log_probs(batch, target_input)
    token_log_probs = tf.gather(log_probs, target_output, batch_dims=2)
    mask = tf.cast(target_output != PAD_ID, tf.float32)
    scores = tf.reduce_sum(token_log_probs * mask, axis=1)
    lengths = tf.reduce_sum(tf.cast(target_output != PAD_ID, tf.int32), axis=1)
    return {
        "scores": scores,
        "mean_log_probs": scores / tf.cast(lengths, tf.float32),
        "lengths": lengths,
    }


def score_pairs(
    translator: Any, pairs: Sequence[tuple[str, str]], *, batch_size: int = 256
) -> list[PairScore]:
    """Scores (source, target) pairs with a model, batched.

    Args:
        translator: keras_seq2seq.decoding.translator.Translator (one model or an ensemble).
        pairs: sequence of (source, target) str.
        batch_size: int. Pairs scored together. Defaults to `256`.

    Returns:
        list of PairScore, in the order of `pairs`.

    Raises:
        TypeError: a pair is not two strings.
        ValueError: `batch_size` is out of range.

    Example:
    >>> score_pairs(load("saved_models/dates"), [("3 mars 2021", "2021-03-03")])  # doctest: +SKIP
    [PairScore(score=-0.0012, mean_log_prob=-0.0001, tokens=11)]
    """
    check_int("batch_size", batch_size)
    for index, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(
            isinstance(text, str) for text in pair
        )):  # fmt: skip
            raise TypeError(
                f"Pair {index} must be two strings (source, target). Received: {pair!r}"
            )
    spec = tf.TensorSpec([None], tf.string)
    run = tf.function(lambda s, t: score_graph(translator, s, t), input_signature=[spec, spec])
    results: list[PairScore] = []
    for begin in range(0, len(pairs), batch_size):
        batch = pairs[begin : begin + batch_size]
        out = run(tf.constant([s for s, _ in batch]), tf.constant([t for _, t in batch]))
        scores, means, lengths = (np.asarray(out[k]) for k in
                                  ("scores", "mean_log_probs", "lengths"))  # fmt: skip
        results.extend(
            PairScore(float(s), float(m), int(length))
            for s, m, length in zip(scores, means, lengths, strict=True)
        )
    return results
