"""Length buckets against training speed: padding and train-step time of the translation LSTM.

    python benchmarks/bucket_speed.py --run ~/ks2s-runs/translation-ddtp_en_de-rnn/run
        --split ~/ks2s-runs/translation-ddtp_en_de-rnn/split [--buckets 8,64] [--batches 120]
        [--repeats 2]

`--run` is a run directory of `benchmarks/translation.py` (its config and tokenizers: the
`rnn` recipe, SentencePiece 8,000 shared); `--split` its split (the training pairs). For
each bucket count, `make_dataset` batches the training pairs as `keras-seq2seq train` does
(batches of the run's batch size, shuffled with seed 0), and the row reports:

- batches per epoch, and the padded tokens of a whole epoch over its real tokens, source
  and target side (1.00 = no padding);
- a freshly built model of the run's configuration, trained on the epoch's first
  `--batches` batches after 3 untimed ones (`train_on_batch`, the threads and allocator of
  `keras-seq2seq train`): the mean step time and real (non-padding) target tokens per
  second.

Rows run in fresh processes, interleaved over `--repeats` rounds; the median is shown with
every run. The speed-up of more buckets is the ratio of real target tokens/s, measured in
the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def worker(run: Path, split: Path, buckets: int, batches: int) -> dict:
    """One row, in this process: padding of an epoch, then timed train steps."""
    import time
    import warnings

    from keras_seq2seq.training.cpu import configure_for_cpu_training

    configure_for_cpu_training()
    import numpy as np

    from keras_seq2seq.config import RunConfig
    from keras_seq2seq.data.pipeline import encode_pairs, make_dataset
    from keras_seq2seq.models import get_architecture
    from keras_seq2seq.training.fit import compile_model
    from keras_seq2seq.training.run_dir import read_tokenizers

    config = RunConfig.from_dict(json.loads((run / "config.json").read_text("utf-8")))
    source, target = read_tokenizers(run, config.source_text, config.target_text)
    sides = [(split / f"train.{side}").read_text("utf-8").splitlines() for side in ("src", "tgt")]
    pairs = list(zip(*sides, strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the truncation counts, printed by training
        encoded = encode_pairs(pairs, source, target,
                               max_source_length=config.source_text.max_length,
                               max_target_length=config.target_text.max_length)  # fmt: skip
    epoch = [(x, y) for x, y in make_dataset(encoded, batch_size=config.train.batch_size,
                                              num_buckets=buckets)]  # fmt: skip
    padded = np.zeros(2)
    real = np.zeros(2)
    for (source_ids, _), target_ids in epoch:
        for side, ids in enumerate((source_ids.numpy(), target_ids.numpy())):
            padded[side] += ids.size
            real[side] += np.count_nonzero(ids)
    model = get_architecture(config.model.architecture).build(config.model).training
    compile_model(model, config.train)
    for x, y in epoch[:3]:
        model.train_on_batch(x, y)
    timed = epoch[3 : 3 + batches]
    started = time.perf_counter()
    for x, y in timed:
        model.train_on_batch(x, y)
    seconds = time.perf_counter() - started
    tokens = sum(int(np.count_nonzero(y.numpy())) for _, y in timed)
    return {
        "batches_per_epoch": len(epoch),
        "padding": (padded / real).tolist(),
        "step_ms": 1000 * seconds / len(timed),
        "tokens_per_second": tokens / seconds,
    }


def run_row(args, buckets: int) -> dict:
    command = [sys.executable, __file__, "--worker", str(buckets), "--run", str(args.run),
               "--split", str(args.split), "--batches", str(args.batches)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, type=Path)
    parser.add_argument("--split", required=True, type=Path)
    parser.add_argument("--buckets", default="8,64", help="comma-separated bucket counts")
    parser.add_argument("--batches", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.run, args.split, args.worker, args.batches)))
        return 0
    counts = [int(n) for n in args.buckets.split(",")]
    rows: dict[int, list[dict]] = {n: [] for n in counts}
    for _ in range(args.repeats):
        for n in counts:
            rows[n].append(run_row(args, n))
    base = statistics.median(r["tokens_per_second"] for r in rows[counts[0]])
    print(f"Translation LSTM, {args.batches} timed batches per run, median of {args.repeats}")
    print(
        "| buckets | batches an epoch | padding, source / target | step ms | real target "
        f"tokens/s | vs {counts[0]} buckets | runs (tokens/s) |"
    )
    print("|---|---|---|---|---|---|---|")
    for n, results in rows.items():
        speed = statistics.median(r["tokens_per_second"] for r in results)
        step = statistics.median(r["step_ms"] for r in results)
        source, target = results[0]["padding"]
        each = ", ".join(format(r["tokens_per_second"], ",.0f") for r in results)
        print(f"| {n} | {results[0]['batches_per_epoch']} | {source:.2f} / {target:.2f} | "
              f"{step:.0f} | {speed:,.0f} | {speed / base:.2f} | {each} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
