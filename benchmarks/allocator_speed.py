"""Training speed with TensorFlow's default CPU allocator and with its pooling (BFC) allocator.

    python benchmarks/allocator_speed.py [--models translation-transformer,translation-rnn,g2p]
                                         [--batches 20] [--repeats 2]

`keras-seq2seq train` on a CPU sets `TF_CPU_ALLOCATOR_USE_BFC=1` (`keras_seq2seq.training.cpu.
use_pooling_allocator`) unless the environment sets it. This measures what that changes: each
row trains one model on the same random batches (fixed seed) with `fit`, in a fresh process
with the variable set to 0 or 1, TensorFlow threads as `keras-seq2seq train` sets them; one
untimed pass (tracing), one timed pass; rows interleaved over `--repeats` rounds (median
shown). tokens/s counts source and target tokens (the batches have no padding).

Models (label smoothing 0.1, Adam, batch 64):
- translation-transformer: the translation recipe's Transformer (256 wide, 3 + 3 layers,
  4 heads, FFN 1,024, tied embeddings), one 8,000-token vocabulary, 40 + 40 tokens a pair;
- translation-rnn: bidirectional LSTM 256, embeddings 256, Luong attention, 8,000-token
  vocabularies, 40 + 40 tokens;
- g2p: the standard G2P model (2-layer LSTM 256, embeddings 128), 40 / 70 symbols, 9 + 9
  tokens (small tensors: the control).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

MODELS = {
    "translation-transformer": {
        "config": {"architecture": "transformer", "units": 256, "num_layers": 3, "heads": 4,
                   "ffn_dim": 1024, "tie_embeddings": True},
        "vocabulary": (8000, 8000), "lengths": (40, 40),
    },
    "translation-rnn": {
        "config": {"units": 256, "num_layers": 1, "embedding_dim": 256, "bidirectional": True},
        "vocabulary": (8000, 8000), "lengths": (40, 40),
    },
    "g2p": {
        "config": {"units": 256, "num_layers": 2, "embedding_dim": 128},
        "vocabulary": (40, 70), "lengths": (9, 9),
    },
}  # fmt: skip

WORKER = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
from keras_seq2seq.training.cpu import configure_for_cpu_training
configure_for_cpu_training()
import keras, numpy as np, tensorflow as tf
from keras_seq2seq.config import ModelConfig, TrainConfig
from keras_seq2seq.models import build_model
from keras_seq2seq.training.fit import compile_model
keras.utils.set_random_seed(0)
(source_size, target_size), (source_length, target_length) = spec["vocabulary"], spec["lengths"]
model = build_model(ModelConfig(source_size, target_size, **spec["config"]))
compile_model(model.training, TrainConfig(label_smoothing=0.1))
rng = np.random.RandomState(0)
shape = (spec["batches"] * 64,)
source = rng.randint(4, source_size, size=shape + (source_length,)).astype("int32")
target = rng.randint(4, target_size, size=shape + (target_length + 1,)).astype("int32")
data = tf.data.Dataset.from_tensor_slices(((source, target[:, :-1]), target[:, 1:])).batch(64)
model.training.fit(data, verbose=0)  # tracing
started = time.perf_counter()
model.training.fit(data, verbose=0)
seconds = time.perf_counter() - started
tokens = shape[0] * (source_length + target_length)
print("RESULT " + json.dumps({"tokens_per_second": tokens / seconds}))
"""


def run_row(model: str, pooled: bool, batches: int) -> float:
    """tokens/s of one fresh training process."""
    spec = {**MODELS[model], "batches": batches}
    env = dict(os.environ, TF_CPU_ALLOCATOR_USE_BFC="1" if pooled else "0",
               TF_CPP_MIN_LOG_LEVEL="3")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", WORKER, json.dumps(spec)], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{model}: the worker failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])["tokens_per_second"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    models = args.models.split(",")
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {sorted(MODELS)}")
    rates = {(m, pooled): [] for m in models for pooled in (False, True)}
    for _ in range(args.repeats):
        for model, pooled in rates:
            rates[(model, pooled)].append(run_row(model, pooled, args.batches))
            print(f"  {model} pooled={pooled}: {rates[(model, pooled)][-1]:,.0f}", file=sys.stderr)
    print(f"\n{args.batches} batches of 64, median of {args.repeats} runs")
    print("| model | default allocator tokens/s (runs) | pooling allocator tokens/s (runs) "
          "| pooling / default |")  # fmt: skip
    print("|---|---|---|---|")
    for model in models:
        cells, medians = [], []
        for pooled in (False, True):
            runs = rates[(model, pooled)]
            medians.append(statistics.median(runs))
            cells.append(f"{medians[-1]:,.0f} ({', '.join(f'{r:,.0f}' for r in runs)})")
        print(f"| {model} | {cells[0]} | {cells[1]} | {medians[1] / medians[0]:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
