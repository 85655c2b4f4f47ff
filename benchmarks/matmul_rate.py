"""This CPU's float32 and bfloat16 matmul rates, at a decoding step's shapes and at large ones.

    python benchmarks/matmul_rate.py [--repeats 5] [--seconds 2]

A ceiling for decoding speed: a model whose step multiplies its activations by W weights
spends at least 2 x W floating-point operations per token, so words/s can't exceed
(this rate) / (2 x weights used per word). Each row times `tf.matmul` of an `[M, K]` by a
`[K, N]` matrix inside a `tf.function` (so no Python per call) for about `--seconds`,
`--repeats` times, rows interleaved, and prints the median GFLOP/s (2 x M x K x N a call) in
float32 and in bfloat16 (which oneDNN runs on AVX512-BF16 or AMX where the CPU has them).

Rows: a batch of 256 rows through 256 -> 256 (an attention projection of a 256-unit model),
256 -> 1,024 (its feed-forward layer), 512 -> 1,024 (an LSTM's four gates from 256 inputs and
256 units), and 2,048 x 2,048 x 2,048 (what the CPU reaches on a large product).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

SHAPES = (
    ("step: attention projection", 256, 256, 256),
    ("step: feed-forward in", 256, 256, 1024),
    ("step: LSTM gates", 256, 512, 1024),
    ("large product", 2048, 2048, 2048),
)
DTYPES = (tf.float32, tf.bfloat16)
CALLS_PER_RUN = 20


def rate(m: int, k: int, n: int, seconds: float, dtype: tf.DType = tf.float32) -> float:
    """GFLOP/s of `[m, k] @ [k, n]` products in `dtype`, timed for about `seconds`."""
    # A different left matrix a product: identical products would be computed once
    # (TensorFlow's graph optimizer merges common subexpressions).
    a = tf.cast(tf.random.normal([CALLS_PER_RUN, m, k]), dtype)
    b = tf.cast(tf.random.normal([k, n]), dtype)

    @tf.function
    def many(a, b):
        total = tf.zeros([m, n], dtype)
        for i in range(CALLS_PER_RUN):  # unrolled: CALLS_PER_RUN matmuls a call
            total += tf.matmul(a[i], b)
        return total

    many(a, b).numpy()  # tracing
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        many(a, b).numpy()
        calls += 1
    elapsed = time.perf_counter() - started
    return 2 * m * k * n * CALLS_PER_RUN * calls / elapsed / 1e9


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    runs = {(label, dtype.name): [] for label, *_ in SHAPES for dtype in DTYPES}
    for _ in range(args.repeats):
        for label, m, k, n in SHAPES:
            for dtype in DTYPES:
                runs[label, dtype.name].append(rate(m, k, n, args.seconds, dtype))
    print(f"tf.matmul, {os.cpu_count()} CPU cores, {args.repeats} runs, interleaved")
    print("| product | M x K x N | dtype | GFLOP/s (median) | runs |")
    print("|---|---|---|---|---|")
    for label, m, k, n in SHAPES:
        for dtype in DTYPES:
            rates = runs[label, dtype.name]
            print(
                f"| {label} | {m} x {k} x {n} | {dtype.name} | {statistics.median(rates):.0f} | "
                + ", ".join(f"{r:.0f}" for r in rates)
                + " |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
