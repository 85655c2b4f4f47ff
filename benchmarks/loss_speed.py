"""Speed of the training loss over a large vocabulary: forward and backward, one batch.

    python benchmarks/loss_speed.py [--batch 64] [--length 24] [--vocabulary 8000]
                                    [--source-length 96] [--repeats 5]

Times `MaskedSparseCrossentropy` (label smoothing 0.1) with its gradient in a `tf.function`,
on random logits of the summarization batch shape, against two other ways to write the same
loss, rows interleaved over `--repeats` rounds of 10 calls (the median is shown):

- `take_along_axis + slice`: `keras.ops.take_along_axis` for the target's log-probability and
  a slice `[..., :V]` for the smoothing mean (how the loss was written before);
- `fused`: `tf.nn.sparse_softmax_cross_entropy_with_logits` plus `logsumexp - mean` for the
  smoothing term (logits only);
- `ours`: the library's loss (a batched `tf.gather`, and `tf.split` for the vocabulary part).

Two cases: a plain model's logits `[B, T, V]`, and a copying model's log-probabilities
`[B, T, V + S]` whose unused extended ids are `-inf`. Prints milliseconds per call and the ratio
to the first row of each case.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
from keras import ops

from keras_seq2seq.training.losses import MaskedSparseCrossentropy

SMOOTHING = 0.1


def _before(log_probs, y_true, vocabulary_size):
    nll = -ops.squeeze(ops.take_along_axis(log_probs, y_true[..., None], axis=-1), -1)
    smooth = -ops.mean(log_probs[..., :vocabulary_size], axis=-1)
    return tf.reduce_mean((1 - SMOOTHING) * nll + SMOOTHING * smooth)


def variants(vocabulary_size: int, copy: bool):
    """name -> loss(predictions, y_true) for one case."""
    ours = MaskedSparseCrossentropy(SMOOTHING, vocabulary_size if copy else None, copy)
    rows = {}
    if copy:
        rows["take_along_axis + slice"] = lambda p, y: _before(p, y, vocabulary_size)
    else:
        rows["take_along_axis + slice"] = lambda p, y: _before(tf.nn.log_softmax(p), y, None)
        rows["fused"] = lambda p, y: tf.reduce_mean(
            (1 - SMOOTHING) * tf.nn.sparse_softmax_cross_entropy_with_logits(y, p)
            + SMOOTHING * (tf.reduce_logsumexp(p, -1) - tf.reduce_mean(p, -1))
        )
    rows["ours"] = lambda p, y: ours(y, p)
    return rows


def timed(loss, predictions, y_true, calls: int = 10) -> float:
    """Milliseconds per forward + backward call."""

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(x, y_true)
        return tape.gradient(value, x)

    step(predictions)  # tracing
    started = time.perf_counter()
    for _ in range(calls):
        step(predictions)
    return (time.perf_counter() - started) / calls * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=24)
    parser.add_argument("--vocabulary", type=int, default=8000)
    parser.add_argument("--source-length", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.RandomState(0)
    shape = (args.batch, args.length)
    y_true = tf.constant(rng.randint(4, args.vocabulary, size=shape).astype("int32"))
    logits = rng.randn(*shape, args.vocabulary).astype("float32")
    extended = np.full((*shape, args.source_length), -np.inf, "float32")
    extended[..., : args.source_length // 2] = -3.0  # the extended ids some source maps to
    cases = {
        "plain logits [B, T, V]": (tf.constant(logits), False),
        "copy log-probabilities [B, T, V + S]": (
            tf.nn.log_softmax(tf.constant(np.concatenate([logits, extended], -1))),
            True,
        ),
    }
    for case, (predictions, copy) in cases.items():
        rows = variants(args.vocabulary, copy)
        times: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(args.repeats):
            for name, loss in rows.items():
                times[name].append(timed(loss, predictions, y_true))
        sizes = f"B={args.batch}, T={args.length}, V={args.vocabulary}"
        sizes += f", S={args.source_length}" if copy else ""
        print(f"\n{case}, {sizes}; median of {args.repeats}")
        print("| loss | ms per forward + backward | vs first row |")
        print("|---|---|---|")
        first = statistics.median(next(iter(times.values())))
        for name, runs in times.items():
            median = statistics.median(runs)
            print(f"| {name} | {median:.1f} | {median / first:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
