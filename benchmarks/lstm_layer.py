"""One LSTM layer, forward + backward: keras-seq2seq's kernel, keras.layers.LSTM and PyTorch.

    python benchmarks/lstm_layer.py [--steps 9] [--repeats 5] [--iterations 200]

Shape: batch 64, T steps, 256 inputs → 256 units, all steps real (no padding); the loss is
the sum of the outputs, and the gradients of the inputs and of all weights are computed.
Every row runs in a fresh process (30 untimed iterations, then `--iterations` timed ones);
rows are interleaved `--repeats` times and the median is shown with every run. TensorFlow
rows use `keras_seq2seq.training.cpu.configure_cpu_threads()`; PyTorch uses 2 threads. Needs
`torch==2.13.0` for its row (`make bench-deps`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCH, INPUTS, UNITS = 64, 256, 256
ROWS = ("pytorch", "keras-seq2seq", "keras.layers.LSTM")


def _time(step, iterations: int) -> float:
    for _ in range(30):
        step()
    started = time.perf_counter()
    for _ in range(iterations):
        step()
    return (time.perf_counter() - started) / iterations


def run_pytorch(steps: int, iterations: int) -> float:
    import torch

    torch.set_num_threads(2)
    layer = torch.nn.LSTM(INPUTS, UNITS, batch_first=True)
    x = torch.randn(BATCH, steps, INPUTS, requires_grad=True)

    def step():
        outputs, _ = layer(x)
        outputs.sum().backward()

    return _time(step, iterations)


def run_tensorflow(steps: int, iterations: int, stock: bool) -> float:
    from keras_seq2seq.training.cpu import configure_cpu_threads

    configure_cpu_threads()
    import keras
    import tensorflow as tf

    from keras_seq2seq.models.lstm import LSTM

    layer = (keras.layers.LSTM if stock else LSTM)(UNITS, return_sequences=True)
    x = tf.random.normal([BATCH, steps, INPUTS])
    layer(x)

    @tf.function
    def train_step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True))
        return tape.gradient(loss, [x, *layer.trainable_weights])

    return _time(lambda: train_step(x)[0].numpy(), iterations)


def worker(row: str, steps: int, iterations: int) -> float:
    if row == "pytorch":
        return run_pytorch(steps, iterations)
    return run_tensorflow(steps, iterations, stock=row == "keras.layers.LSTM")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.steps, args.iterations)))
        return 0
    rows = list(ROWS)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed (make bench-deps): skipping its row")
        rows.remove("pytorch")
    runs: dict[str, list[float]] = {row: [] for row in rows}
    for _ in range(args.repeats):
        for row in rows:
            command = [sys.executable, __file__, "--worker", row]
            command += ["--steps", str(args.steps), "--iterations", str(args.iterations)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                print(done.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"row {row} failed (exit {done.returncode})")
            runs[row].append(1000 * json.loads(lines[-1][len("RESULT ") :]))
    medians = {row: sorted(times)[len(times) // 2] for row, times in runs.items()}
    reference = medians.get("pytorch")
    print(f"LSTM layer, batch {BATCH}, {args.steps} steps, {INPUTS} → {UNITS}, forward + backward")
    print("| implementation | ms (median) | vs PyTorch (time ratio) | runs (ms) |")
    print("|---|---|---|---|")
    for row in rows:
        ratio = f"{medians[row] / reference:.2f}" if reference else "n/a"
        all_runs = ", ".join(f"{t:.2f}" for t in runs[row])
        print(f"| {row} | {medians[row]:.2f} | {ratio} | {all_runs} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
