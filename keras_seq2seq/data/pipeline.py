"""tf.data pipeline: tokenize once, truncate (counted), bucket, teacher-forcing batches.

A batch is `((source_ids, target_input_ids), target_output_ids)`, all int32 and right-padded
with `[PAD]=0`:

- `source_ids` [B, S]: source tokens followed by `[END]` (so an empty source still has one
  position to attend to);
- `target_input_ids` [B, T]: `[START]` + target tokens;
- `target_output_ids` [B, T]: target tokens + `[END]`.

For a model with copy attention the inputs are `(source_ids, target_input_ids, copy_ids)`:
`copy_ids` [B, S] maps each source position into the extended vocabulary, and
`target_output_ids` holds extended ids where a target `[UNK]` is a copied source token
(`keras_seq2seq.models.copying`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from keras_seq2seq.errors import TruncationWarning
from keras_seq2seq.text.tokenizers import Tokenizer, ragged_to_numpy
from keras_seq2seq.text.vocabulary import END_ID, PAD_ID, START_ID


@dataclasses.dataclass(frozen=True)
class EncodedPairs:
    """Tokenized pairs ready for batching.

    Attributes:
        source: list of int32 arrays, source tokens + [END].
        target_input: list of int32 arrays, [START] + target tokens.
        target_output: list of int32 arrays, target tokens + [END].
        num_truncated_sources: int. Sources cut to the maximum length.
        num_truncated_targets: int. Targets cut to the maximum length.
        copy: list of int32 arrays or None. The copy ids of each source position (models
            with copy attention); `target_output` then holds extended ids.
    """

    source: list[np.ndarray]
    target_input: list[np.ndarray]
    target_output: list[np.ndarray]
    num_truncated_sources: int = 0
    num_truncated_targets: int = 0
    copy: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.source)

    def num_tokens(self) -> int:
        """Non-padding tokens of all sources and target outputs."""
        return int(sum(map(len, self.source)) + sum(map(len, self.target_output)))


def _tokenize_all(tokenizer: Tokenizer, texts: Sequence[str], batch_size: int = 4096):
    rows: list[np.ndarray] = []
    for begin in range(0, len(texts), batch_size):
        batch = tf.constant(list(texts[begin : begin + batch_size]), dtype=tf.string)
        rows.extend(ragged_to_numpy(tokenizer.tokenize(batch)))
    return rows


def _ragged(rows: Sequence[np.ndarray]) -> tf.RaggedTensor:
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    flat = np.concatenate([np.asarray(row, np.int32) for row in rows]) if len(rows) else []
    return tf.RaggedTensor.from_row_lengths(tf.constant(flat, tf.int32), lengths)


def _copy_rows(copy, pairs, sources, targets, max_target_length: int, batch_size: int = 4096):
    """(copy ids of each source, extended ids of each target) for copy attention.

    `sources` and `targets` are the truncated token ids (no [END] yet); the texts of
    `pairs` are tokenized again for the tokens' own text, cut the same way.
    """
    copy_rows: list[np.ndarray] = []
    target_rows: list[np.ndarray] = []
    end = np.array([END_ID], np.int32)
    for begin in range(0, len(pairs), batch_size):
        batch = pairs[begin : begin + batch_size]
        source_rows = [np.concatenate([row, end]) for row in sources[begin : begin + batch_size]]
        source_ids = _ragged(source_rows).to_tensor(PAD_ID)
        target_ids = _ragged(targets[begin : begin + batch_size])
        texts = tf.constant([p[0] for p in batch], tf.string)
        surfaces, copy_ids = copy.encode_sources(texts, source_ids)
        target_surfaces = copy.target_tokenizer.tokenize_to_surface(
            tf.constant([p[1] for p in batch], tf.string)
        )[:, :max_target_length]
        extended = copy.extended_targets(
            target_ids.to_tensor(PAD_ID), target_surfaces.to_tensor(""), surfaces, copy_ids
        )
        source_lengths = [len(row) for row in source_rows]
        copy_rows.extend(
            ragged_to_numpy(tf.RaggedTensor.from_tensor(copy_ids, lengths=source_lengths))
        )
        target_rows.extend(
            ragged_to_numpy(tf.RaggedTensor.from_tensor(extended, lengths=target_ids.row_lengths()))
        )
    return copy_rows, target_rows


def _truncate(rows: list[np.ndarray], max_length: int) -> tuple[list[np.ndarray], int]:
    cut = sum(1 for row in rows if len(row) > max_length)
    return [row[:max_length] for row in rows], cut


def encode_pairs(
    pairs: Sequence[tuple[str, str]],
    source_tokenizer: Tokenizer,
    target_tokenizer: Tokenizer,
    *,
    max_source_length: int,
    max_target_length: int,
    warn: bool = True,
    copy: Any = None,
) -> EncodedPairs:
    """Tokenizes pairs, truncates long sides and adds [START]/[END].

    Args:
        pairs: sequence of (source, target) strings.
        source_tokenizer: Tokenizer of the source side.
        target_tokenizer: Tokenizer of the target side.
        max_source_length: int. Source tokens kept (before [END]).
        max_target_length: int. Target tokens kept (before [END]).
        warn: bool. Emit a `TruncationWarning` with the counts when anything was cut.
            Defaults to `True`.
        copy: `keras_seq2seq.models.copying.CopyVocabulary` or None. For a model with copy
            attention: adds the copy ids and extends the target ids. Defaults to `None`.

    Returns:
        EncodedPairs.

    Raises:
        ValueError: `pairs` is empty.

    Example:
    >>> encoded = encode_pairs([("ab", "ba")], src_tok, tgt_tok, max_source_length=8,
    ...                        max_target_length=8)  # doctest: +SKIP
    """
    if len(pairs) == 0:
        raise ValueError("No training pairs: the dataset is empty.")
    sources, cut_sources = _truncate(
        _tokenize_all(source_tokenizer, [p[0] for p in pairs]), max_source_length
    )
    targets, cut_targets = _truncate(
        _tokenize_all(target_tokenizer, [p[1] for p in pairs]), max_target_length
    )
    if warn and (cut_sources or cut_targets):
        warnings.warn(
            f"Truncated {cut_sources} of {len(pairs)} sources to max_source_length="
            f"{max_source_length} and {cut_targets} of {len(pairs)} targets to "
            f"max_target_length={max_target_length} tokens. Raise the limits "
            "(--max-source-length/--max-target-length) to keep whole sequences.",
            TruncationWarning,
            stacklevel=2,
        )
    end = np.array([END_ID], dtype=np.int32)
    start = np.array([START_ID], dtype=np.int32)
    copy_rows, outputs = None, targets
    if copy is not None:
        copy_rows, outputs = _copy_rows(copy, pairs, sources, targets, max_target_length)
    return EncodedPairs(
        source=[np.concatenate([row, end]).astype(np.int32) for row in sources],
        target_input=[np.concatenate([start, row]).astype(np.int32) for row in targets],
        target_output=[np.concatenate([row, end]).astype(np.int32) for row in outputs],
        num_truncated_sources=cut_sources,
        num_truncated_targets=cut_targets,
        copy=copy_rows,
    )


def bucket_boundaries(lengths: Sequence[int], num_buckets: int = 8) -> list[int]:
    """Bucket boundaries at length quantiles, strictly increasing.

    Example:
    >>> bucket_boundaries([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], num_buckets=2)
    [6]
    """
    if len(lengths) == 0:
        return []
    quantiles = np.quantile(np.asarray(lengths), np.linspace(0, 1, num_buckets + 1)[1:-1])
    return sorted({int(q) + 1 for q in quantiles})


MAX_BUCKETS = 64
BATCHES_PER_BUCKET = 8


def default_num_buckets(num_examples: int, batch_size: int) -> int:
    """Length buckets for a dataset: one per 8 batches an epoch, from 8 to 64.

    More buckets mean less padding: on the English-German translation split (36,277 pairs,
    batches of 64) 8 buckets pad the source side to 1.52x its real tokens and the target side
    to 1.35x, 64 buckets to 1.18x and 1.04x, and the translation LSTM trains 1.17x the real
    target tokens a second (`benchmarks/bucket_speed.py`). Each bucket also ends an epoch
    with one part-filled batch, so a small dataset keeps few buckets.

    Example:
    >>> default_num_buckets(36_277, 64), default_num_buckets(1_000, 64)
    (64, 8)
    """
    return min(MAX_BUCKETS, max(8, num_examples // (batch_size * BATCHES_PER_BUCKET)))


def make_dataset(
    encoded: EncodedPairs,
    *,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    bucket: bool = True,
    num_buckets: int | None = None,
) -> tf.data.Dataset:
    """Builds the teacher-forcing `tf.data.Dataset` from tokenized pairs.

    The data are already tokenized (tokenization runs once, not every epoch); batches are
    right-padded, optionally grouped by length, and prefetched.

    Args:
        encoded: EncodedPairs from `encode_pairs`.
        batch_size: int. Examples per batch.
        shuffle: bool. Reshuffle every epoch (seeded). Defaults to `True`.
        seed: int. Shuffle seed. Defaults to `0`.
        bucket: bool. Group examples of similar length (less padding). Defaults to `True`.
        num_buckets: int or None. Number of length buckets (at most; lengths that share a
            bucket boundary share a bucket). Defaults to `None`: `default_num_buckets`.

    Returns:
        tf.data.Dataset of `((source [B,S], target_input [B,T]), target_output [B,T])`, or
        `((source, target_input, copy_ids [B,S]), target_output)` when `encoded.copy` is set.

    Raises:
        ValueError: `batch_size` or `num_buckets` is not a positive integer.

    Example:
    >>> ds = make_dataset(encoded, batch_size=32)  # doctest: +SKIP
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: {batch_size!r}")
    if num_buckets is not None and (
        isinstance(num_buckets, bool) or not isinstance(num_buckets, int) or num_buckets < 1
    ):
        raise ValueError(
            f"`num_buckets` must be a positive integer or None (the default, "
            f"`default_num_buckets`). Received: {num_buckets!r}"
        )
    names = ("source", "target_input", "target_output")
    if encoded.copy is not None:
        names += ("copy",)
    # Rows are stored padded with their lengths and cut back in `map`: tf.data batches dense
    # elements only.
    columns = {}
    for name in names:
        rows = getattr(encoded, name)
        lengths = np.fromiter(map(len, rows), dtype=np.int32, count=len(rows))
        padded = np.zeros((len(rows), int(lengths.max())), dtype=np.int32)
        for i, row in enumerate(rows):
            padded[i, : len(row)] = row
        columns[name] = padded
        columns[name + "_length"] = lengths
    dataset = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        dataset = dataset.shuffle(len(encoded), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(
        lambda item: {name: item[name][: item[name + "_length"]] for name in names},
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    padded_shapes = {name: [None] for name in names}
    padding_values = {name: tf.constant(PAD_ID, tf.int32) for name in names}
    if bucket and len(encoded) > batch_size:
        lengths = [
            max(len(s), len(t)) for s, t in zip(encoded.source, encoded.target_input, strict=True)
        ]
        if num_buckets is None:
            num_buckets = default_num_buckets(len(encoded), batch_size)
        boundaries = bucket_boundaries(lengths, num_buckets)
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda item: tf.maximum(
                tf.shape(item["source"])[0], tf.shape(item["target_input"])[0]
            ),
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padded_shapes=padded_shapes,
            padding_values=padding_values,
        )
    else:
        dataset = dataset.padded_batch(
            batch_size, padded_shapes=padded_shapes, padding_values=padding_values
        )
    inputs = ("source", "target_input") + (("copy",) if encoded.copy is not None else ())
    dataset = dataset.map(
        lambda item: (tuple(item[name] for name in inputs), item["target_output"]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def split_pairs(
    pairs: Sequence[tuple[str, str]], validation_fraction: float, seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Deterministic train/validation split by seed.

    Args:
        pairs: sequence of (source, target).
        validation_fraction: float in [0, 1). Part that goes to validation (at least one pair
            when the fraction is > 0 and there are two pairs or more).
        seed: int. Defaults to `0`.

    Returns:
        (train_pairs, validation_pairs).

    Raises:
        ValueError: the fraction is out of range.

    Example:
    >>> train, val = split_pairs([("a", "b")] * 10, 0.2)
    >>> len(train), len(val)
    (8, 2)
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(
            f"`validation_fraction` must be in [0, 1). Received: {validation_fraction!r}"
        )
    order = np.random.RandomState(seed).permutation(len(pairs))
    num_validation = round(len(pairs) * validation_fraction)
    if validation_fraction > 0 and len(pairs) >= 2:
        num_validation = max(1, num_validation)
    validation = [pairs[i] for i in sorted(order[:num_validation])]
    train = [pairs[i] for i in sorted(order[num_validation:])]
    return train, validation
