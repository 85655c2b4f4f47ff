"""Training throughput: keras-seq2seq variants against the same model in PyTorch.

    python benchmarks/train_speed.py [--num-batches 100]
        [--rows all|main|more|bfloat16|transformer|transformer-xla|input-feeding]
                                     [--repeats 3] [--json out.json]

Needs `torch==2.13.0` (CPU build) for the PyTorch rows: `make bench-deps`.

Data: the builtin `cmudict` training split (characters → phones). Every row trains on the
same batches, made by keras-seq2seq's pipeline (seeded shuffle; length buckets unless the
row says otherwise) and handed to both frameworks as the same int arrays. Models:

- standard: embeddings 128, 2-layer LSTM 256 encoder and decoder, Luong dot attention;
- small: embeddings 64, 1-layer LSTM 128, dot attention;
- standard-input-feeding: the standard model with Luong input feeding (`input_feeding=True`,
  keras-seq2seq only: its "vs PyTorch" is n/a; compare it with the standard keras row);
- transformer: the Transformer architecture, model width 256, 3 encoder and 3 decoder
  layers, 4 heads, feed-forward 1024, against the same pre-layer-norm model in PyTorch
  (`peers/torch_transformer.py`, `torch.nn.MultiheadAttention`); `transformer-xla` adds the
  keras-seq2seq Transformer compiled with XLA (`TrainConfig(jit_compile=True)`).

No dropout; Adam 1e-3 with global-norm clipping 5; masked token cross-entropy. Each row runs
in a fresh process: one untimed pass over the batches (tracing, XLA compilation, caches),
then one timed pass. tokens/s counts non-padding source and target tokens. FLOP/s counts
the matrix products of the padded batches (forward ×3 for training) and is given as a share
of the machine's float32 matmul peak, measured in the same run (2048³ matmul, best of 5).
With `--repeats N` every row is measured N times (rows interleaved, so a slow spell of the
machine hits all of them) and the median run is shown. "vs PyTorch" is tokens/s over the
PyTorch row of the same model, batch size and bucketing (its best thread setting; both are
medians). TensorFlow threads: "tuned" = `keras_seq2seq.training.cpu.configure_cpu_threads()`
(one thread per op, one op per core) and `use_pooling_allocator()` (TensorFlow's pooling
CPU allocator), what `keras-seq2seq train` uses on CPU; "default" = TensorFlow's own pools
and allocator. "keras-stock-lstm": the same model with `keras.layers.LSTM`'s own
kernel and TensorFlow's default threads (what keras-seq2seq started from).
Precision: float32 unless the row says bfloat16: keras-seq2seq's `mixed_precision="bfloat16"`
(Keras `mixed_bfloat16`: bfloat16 compute, float32 weights, float32 logits and loss) against
PyTorch under `torch.autocast("cpu", dtype=torch.bfloat16)`; these pay on CPUs with AMX or
AVX512-BF16 and are compared with each other.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
MODELS = {
    "standard": {"embedding_dim": 128, "units": 256, "num_layers": 2},
    "small": {"embedding_dim": 64, "units": 128, "num_layers": 1},
    "standard-input-feeding": {
        "embedding_dim": 128,
        "units": 256,
        "num_layers": 2,
        "input_feeding": True,
    },
    "transformer": {
        "architecture": "transformer",
        "units": 256,
        "num_layers": 3,
        "heads": 4,
        "ffn_dim": 1024,
    },
}
# (framework, model, batch size, bucketing, XLA, threads[, precision])
MAIN_ROWS = [
    ("pytorch", "standard", 64, True, False, 2),
    ("pytorch", "standard", 64, True, False, 1),
    ("keras", "standard", 64, True, False, "tuned"),
    ("keras", "standard", 64, True, False, "default"),
    ("keras-stock-lstm", "standard", 64, True, False, "default"),
    ("pytorch", "small", 64, True, False, 2),
    ("pytorch", "small", 64, True, False, 1),
    ("keras", "small", 64, True, False, "tuned"),
]
MORE_ROWS = [
    ("keras", "standard", 64, False, False, "tuned"),
    ("pytorch", "standard", 64, False, False, 2),
    ("keras", "standard", 64, True, True, "tuned"),
    ("pytorch", "standard", 32, True, False, 2),
    ("keras", "standard", 32, True, False, "tuned"),
    ("pytorch", "standard", 128, True, False, 2),
    ("keras", "standard", 128, True, False, "tuned"),
]
TRANSFORMER_ROWS = [
    ("pytorch", "transformer", 64, True, False, 2),
    ("keras", "transformer", 64, True, False, "tuned"),
    ("keras", "transformer", 64, True, False, "default"),
]
TRANSFORMER_XLA_ROWS = TRANSFORMER_ROWS[:2] + [("keras", "transformer", 64, True, True, "tuned")]
INPUT_FEEDING_ROWS = [
    ("keras", "standard", 64, True, False, "tuned"),
    ("keras", "standard-input-feeding", 64, True, False, "tuned"),
]
BFLOAT16_ROWS = [
    ("pytorch", "standard", 64, True, False, 2),
    ("keras", "standard", 64, True, False, "tuned"),
    ("pytorch", "standard", 64, True, False, 2, "bfloat16"),
    ("keras", "standard", 64, True, False, "tuned", "bfloat16"),
]


def make_batches(batch_size: int, bucket: bool, num_batches: int):
    """The benchmark batches as numpy arrays, and the vocabulary sizes."""
    from keras_seq2seq.config import TextConfig
    from keras_seq2seq.data.pipeline import encode_pairs, make_dataset
    from keras_seq2seq.text.tokenizers import fit_tokenizer
    from keras_seq2seq.training.recipes import load_pairs

    pairs = load_pairs("cmudict", "train")[: batch_size * num_batches * 2]
    source = fit_tokenizer(TextConfig(tokenizer="char"), [s for s, _ in pairs])
    target = fit_tokenizer(TextConfig(tokenizer="word"), [t for _, t in pairs])
    encoded = encode_pairs(
        pairs,
        source_tokenizer=source,
        target_tokenizer=target,
        max_source_length=64,
        max_target_length=64,
    )
    dataset = make_dataset(encoded, batch_size=batch_size, seed=0, bucket=bucket)
    batches = [(s.numpy(), ti.numpy(), to.numpy()) for (s, ti), to in dataset.take(num_batches)]
    return batches, source.vocabulary_size, target.vocabulary_size


def transformer_flops(batch, model: dict, target_vocabulary_size: int) -> float:
    """Matrix-product FLOPs of one Transformer training step on a padded batch (forward × 3)."""
    source, target_input, _ = batch
    b, s = source.shape
    t = target_input.shape[1]
    u, f, n = model["units"], model["ffn_dim"], model["num_layers"]
    projections = 2 * 4 * u * u  # query, key, value, output
    encoder = n * (b * s * (projections + 2 * 2 * u * f) + 2 * 2 * b * s * s * u)
    decoder = n * (b * t * (2 * projections + 2 * 2 * u * f) + 2 * 2 * b * (t * t + t * s) * u)
    return 3.0 * (encoder + decoder + 2 * b * t * u * target_vocabulary_size)


def matmul_flops(batch, model: dict, target_vocabulary_size: int) -> float:
    """Matrix-product FLOPs of one training step on a padded batch (forward × 3)."""
    if model.get("architecture") == "transformer":
        return transformer_flops(batch, model, target_vocabulary_size)
    source, target_input, _ = batch
    b, s = source.shape
    t = target_input.shape[1]
    e, u, n = model["embedding_dim"], model["units"], model["num_layers"]
    lstm = sum(2 * b * (e if i == 0 else u) * 4 * u + 2 * b * u * 4 * u for i in range(n))
    forward = (
        lstm * (s + t)  # encoder and decoder layers, per time step
        + 2 * 2 * b * t * s * u  # attention scores and context
        + 2 * b * t * 2 * u * u  # attention projection
        + 2 * b * t * u * target_vocabulary_size  # output projection
    )
    if model.get("input_feeding"):
        forward += 2 * b * t * u * 4 * u  # the first decoder layer also reads the fed vector
    return 3.0 * forward


def matmul_peak() -> float:
    """Float32 FLOP/s of a 2048³ TensorFlow matmul (best of 5)."""
    import tensorflow as tf

    a = tf.random.normal([2048, 2048])
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        matmul(a).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * 2048**3 / best


def run_keras(
    batches, vocab, model, jit: bool, stock_lstm: bool, precision: str
) -> tuple[float, float]:
    import keras
    import tensorflow as tf

    from keras_seq2seq.config import ModelConfig, TrainConfig
    from keras_seq2seq.models import build_model, rnn
    from keras_seq2seq.training.fit import compile_model

    if stock_lstm:  # the starting point: keras.layers.LSTM's own CPU kernel
        rnn.LSTM = keras.layers.LSTM

    keras.utils.set_random_seed(0)
    config = ModelConfig(source_vocabulary_size=vocab[0], target_vocabulary_size=vocab[1], **model)
    mixed = "bfloat16" if precision == "bfloat16" else False
    training = build_model(config, mixed_precision=mixed).training
    compile_model(training, TrainConfig(jit_compile=jit, mixed_precision=mixed))
    spec = tf.TensorSpec([None, None], tf.int32)
    dataset = tf.data.Dataset.from_generator(
        lambda: (((s, ti), to) for s, ti, to in batches),
        output_signature=((spec, spec), spec),
    ).prefetch(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        training.fit(dataset, verbose=0)
        first = time.perf_counter() - started
        started = time.perf_counter()
        training.fit(dataset, verbose=0)
        timed = time.perf_counter() - started
    return first, timed


def run_pytorch(batches, vocab, model, threads: int, precision: str) -> tuple[float, float]:
    import torch

    if model.get("architecture") == "transformer":
        from peers.torch_transformer import time_training
    else:
        from peers.torch_seq2seq import time_training

    torch.set_num_threads(threads)
    options = {"source_vocabulary_size": vocab[0], "target_vocabulary_size": vocab[1], **model}
    options.pop("architecture", None)
    started = time.perf_counter()
    timed, _ = time_training(
        batches, warmup_batches=len(batches), bfloat16=precision == "bfloat16", **options
    )
    return time.perf_counter() - started - timed, timed


def worker(spec: dict) -> dict:
    framework, model_name = spec["framework"], spec["model"]
    if framework == "keras" and spec["threads"] == "tuned":
        from keras_seq2seq.training.cpu import configure_cpu_threads, use_pooling_allocator

        use_pooling_allocator()
        configure_cpu_threads()
    batches, *vocab = make_batches(spec["batch_size"], spec["bucket"], spec["num_batches"])
    model = MODELS[model_name]
    if framework.startswith("keras"):
        stock = framework == "keras-stock-lstm"
        first, timed = run_keras(batches, vocab, model, spec["jit"], stock, spec["precision"])
    else:
        sys.path.insert(0, str(HERE))
        first, timed = run_pytorch(batches, vocab, model, spec["threads"], spec["precision"])
    tokens = sum(int((s != 0).sum() + (to != 0).sum()) for s, _, to in batches)
    padded = sum(s.size + to.size for s, _, to in batches)
    flops = sum(matmul_flops(b, model, vocab[1]) for b in batches)
    return {
        **spec,
        "tokens": tokens,
        "padding_share": 1 - tokens / padded,
        "first_pass_seconds": first,
        "seconds": timed,
        "tokens_per_second": tokens / timed,
        "flops_per_second": flops / timed,
    }


def run_row(spec: dict) -> dict:
    """Runs one row in a fresh process and returns its measurements."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"row {spec} failed (exit {done.returncode})")
    return json.loads(lines[-1][len("RESULT ") :])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-batches", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="runs per row (median shown)")
    parser.add_argument(
        "--rows",
        choices=(
            "main",
            "more",
            "bfloat16",
            "transformer",
            "transformer-xla",
            "input-feeding",
            "all",
        ),
        default="all",
        help="main: the PyTorch comparison; more: bucketing, XLA and batch-size variants; "
        "bfloat16: the standard model in float32 and mixed bfloat16 in both frameworks; "
        "transformer: the Transformer (256 units, 3+3 layers, 4 heads, FFN 1024); "
        "transformer-xla: the same with an XLA row",
    )
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0

    peak = matmul_peak()
    rows = {
        "main": MAIN_ROWS,
        "more": MORE_ROWS,
        "bfloat16": BFLOAT16_ROWS,
        "transformer": TRANSFORMER_ROWS,
        "transformer-xla": TRANSFORMER_XLA_ROWS,
        "input-feeding": INPUT_FEEDING_ROWS,
        "all": MAIN_ROWS + MORE_ROWS + BFLOAT16_ROWS[2:] + TRANSFORMER_ROWS,
    }[args.rows]
    specs = []
    for framework, model, batch_size, bucket, jit, threads, *precision in rows:
        if framework == "pytorch":
            try:
                import torch  # noqa: F401
            except ImportError:
                print("PyTorch is not installed (make bench-deps): skipping its rows")
                continue
        specs.append(
            {
                "framework": framework,
                "model": model,
                "batch_size": batch_size,
                "bucket": bucket,
                "jit": jit,
                "threads": threads,
                "precision": precision[0] if precision else "float32",
                "num_batches": args.num_batches,
            }
        )
    runs: list[list[dict]] = [[] for _ in specs]
    for repeat in range(args.repeats):
        for index, spec in enumerate(specs):
            runs[index].append(run_row(spec))
            print(f"  run {repeat + 1}/{args.repeats}: {spec}", file=sys.stderr)
    results = []
    for row_runs in runs:
        ordered = sorted(row_runs, key=lambda r: r["tokens_per_second"])
        median = ordered[len(ordered) // 2]
        median["all_tokens_per_second"] = [r["tokens_per_second"] for r in row_runs]
        results.append(median)

    def reference(row):
        peers = [
            r["tokens_per_second"]
            for r in results
            if r["framework"] == "pytorch"
            and (r["model"], r["batch_size"], r["bucket"], r["precision"])
            == (row["model"], row["batch_size"], row["bucket"], row["precision"])
        ]
        return max(peers) if peers else None

    print(f"float32 matmul peak (TensorFlow, 2048^3): {peak / 1e9:.1f} GFLOP/s")
    print(
        "| framework | model | precision | batch | buckets | XLA | threads | padding | tokens/s "
        "| GFLOP/s (% of peak) | vs PyTorch | runs (tokens/s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        ref = reference(row)
        ratio = f"{row['tokens_per_second'] / ref:.2f}" if ref else "n/a"
        print(
            f"| {row['framework']} | {row['model']} | {row['precision']} | {row['batch_size']} "
            f"| {'on' if row['bucket'] else 'off'} | {'on' if row['jit'] else 'off'} "
            f"| {row['threads']} | {100 * row['padding_share']:.0f} % "
            f"| {row['tokens_per_second']:,.0f} "
            f"| {row['flops_per_second'] / 1e9:.1f} ({100 * row['flops_per_second'] / peak:.0f} %) "
            f"| {ratio} | {', '.join(f'{v:,.0f}' for v in row['all_tokens_per_second'])} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"matmul_peak_flops": peak, "rows": results}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
