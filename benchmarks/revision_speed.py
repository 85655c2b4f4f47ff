"""Training and decoding speed of two source trees of keras-seq2seq, interleaved in one run.

    python benchmarks/revision_speed.py --before /path/to/older/checkout [--repeats 3]
        [--num-inputs 1000] [--skip-decode] [--skip-train] [--graph-decode-only]
        [--no-yardstick]

For refactors that must not change speed. Each tree runs its *own* benchmark scripts with its
own package (`PYTHONPATH=TREE`), in fresh processes, rows alternating between the trees so a
slow spell of the machine hits both:

- training: the `keras` (tuned threads) rows of `benchmarks/train_speed.py` for the standard
  and the small model (`--worker`), plus the PyTorch standard row as a yardstick;
- decoding: `benchmarks/decode_speed.py` on the shipped dates model (sentences/s per row).

Prints the median of each row per tree and the ratio after / before. A checkout of an older
revision: `git worktree add /tmp/before <commit>`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
AFTER = HERE.parent
TRAIN_ROWS = [
    ("keras", "standard", 64, True, False, "tuned"),
    ("keras", "small", 64, True, False, "tuned"),
]
PYTORCH_ROW = ("pytorch", "standard", 64, True, False, 2)
DECODE_ROW = re.compile(r"^\| (\([a-d]\)[^|]*) \| ([\d,]+) \|")


def _run(tree: Path, script: str, *args: str, timeout: int = 3600) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, str(tree / "benchmarks" / script), *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tree}/benchmarks/{script} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def train_row(tree: Path, row: tuple, num_batches: int) -> float:
    """Tokens/s of one `train_speed.py` row run by `tree`'s own script and package."""
    framework, model, batch_size, bucket, jit, threads = row
    spec = {
        "framework": framework,
        "model": model,
        "batch_size": batch_size,
        "bucket": bucket,
        "jit": jit,
        "threads": threads,
        "precision": "float32",
        "num_batches": num_batches,
    }
    out = _run(tree, "train_speed.py", "--worker", json.dumps(spec))
    result = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(result[len("RESULT ") :])["tokens_per_second"]


GRAPH_DECODE = r"""
import json, sys, time
try:  # the package layout since modules were grouped by job
    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.training.recipes import load_pairs
except ImportError:  # an older checkout's flat layout
    from keras_seq2seq.inference import load
    from keras_seq2seq.recipes import load_pairs
translator = load("saved_models/dates")
texts = [s for s, _ in load_pairs("dates", "test")][: int(sys.argv[1])]
rows = {}
for width in (1, 4, 8):
    translator.translate(texts[:8], beam_width=width)
    started = time.perf_counter()
    translator.translate(texts, beam_width=width)
    rows["greedy" if width == 1 else f"beam {width}"] = len(texts) / (time.perf_counter() - started)
print("ROWS " + json.dumps(rows))
"""


def graph_decode_rows(tree: Path, num_inputs: int) -> dict[str, float]:
    """Sentences/s of in-graph greedy, beam 4 and beam 8 (`Translator.translate`) in `tree`."""
    env = dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", GRAPH_DECODE, str(num_inputs)], cwd=tree,
                          env=env, capture_output=True, text=True, check=True)  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("ROWS "))
    return json.loads(line[len("ROWS ") :])


def decode_rows(tree: Path, num_inputs: int, graph_only: bool = False) -> dict[str, float]:
    """Sentences/s of every row of `decode_speed.py` run by `tree`."""
    if graph_only:
        return graph_decode_rows(tree, num_inputs)
    out = _run(tree, "decode_speed.py", "--num-inputs", str(num_inputs))
    rows = {}
    for line in out.splitlines():
        match = DECODE_ROW.match(line)
        if match:
            rows[match.group(1).strip()] = float(match.group(2).replace(",", ""))
    return rows


def _print_table(title: str, unit: str, results: dict[str, dict[str, list[float]]]) -> None:
    print(f"\n{title}")
    print(f"| row | before {unit} (median; runs) | after {unit} (median; runs) | after/before |")
    print("|---|---|---|---|")
    for name, by_tree in results.items():
        cells = []
        for tree in ("before", "after"):
            runs = by_tree.get(tree, [])
            median = statistics.median(runs) if runs else float("nan")
            cells.append(f"{median:,.0f} ({', '.join(f'{r:,.0f}' for r in runs)})")
        ratio = statistics.median(by_tree["after"]) / statistics.median(by_tree["before"])
        print(f"| {name} | {cells[0]} | {cells[1]} | {ratio:.2f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="checkout of the older revision")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-batches", type=int, default=100)
    parser.add_argument("--num-inputs", type=int, default=1000)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-decode", action="store_true")
    parser.add_argument(
        "--graph-decode-only",
        action="store_true",
        help="decode rows: in-graph greedy/beam 4/beam 8 only (no tutorial loop)",
    )
    parser.add_argument(
        "--no-yardstick",
        action="store_true",
        help="leave out the PyTorch training row (where PyTorch is not installed)",
    )
    args = parser.parse_args(argv)
    trees = {"before": Path(args.before).resolve(), "after": AFTER}
    train: dict[str, dict[str, list[float]]] = {}
    decode: dict[str, dict[str, list[float]]] = {}
    for repeat in range(args.repeats):
        order = ("before", "after") if repeat % 2 == 0 else ("after", "before")
        for name in order:
            tree = trees[name]
            if not args.skip_train:
                for row in TRAIN_ROWS:
                    label = f"train {row[1]} model, keras-seq2seq"
                    speed = train_row(tree, row, args.num_batches)
                    train.setdefault(label, {}).setdefault(name, []).append(speed)
                    print(f"{name:6s} {label}: {speed:,.0f} tokens/s", flush=True)
            if not args.skip_decode:
                rows = decode_rows(tree, args.num_inputs, args.graph_decode_only)
                for label, speed in rows.items():
                    decode.setdefault(label, {}).setdefault(name, []).append(speed)
                    print(f"{name:6s} decode {label}: {speed:,.0f} sentences/s", flush=True)
        if not args.skip_train and not args.no_yardstick:
            speed = train_row(AFTER, PYTORCH_ROW, args.num_batches)
            train.setdefault("train standard model, PyTorch (yardstick)", {}).setdefault(
                "before", []
            ).append(speed)
            train["train standard model, PyTorch (yardstick)"].setdefault("after", []).append(speed)
    if train:
        _print_table("Training (cmudict batches, batch 64)", "tokens/s", train)
    if decode:
        _print_table("Decoding (dates test inputs)", "sentences/s", decode)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
