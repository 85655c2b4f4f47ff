"""Summarization: Debian package description → one-line synopsis, ROUGE against lead-10 words.

    python benchmarks/summarization.py [--data PATH.tsv.gz] [--output runs/summarization]
                                       [--epochs N] [--skip-training]
                                       [--dropout R] [--label-smoothing E] [--lowercase]

The data file holds `long description<TAB>synopsis` pairs (40,000 in the Debian 12 file this
was written for). Split with `split_pairs` and a fixed seed: 2,000 test pairs (5 %), then 1,000
validation pairs from the rest; training never sees the test pairs. The baseline is the first
10 words of the description. ROUGE-1/2/L F1 with stemming (rouge-score), as percentages.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_seq2seq.config import TextConfig, TrainConfig
from keras_seq2seq.cpu import configure_for_cpu_training
from keras_seq2seq.data.pipeline import split_pairs
from keras_seq2seq.data.readers import read_pairs
from keras_seq2seq.evaluation import evaluate
from keras_seq2seq.metrics import rouge
from keras_seq2seq.training import train

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/debian_descriptions.dev.tsv.gz"

# The documented configuration (README "Summarization").
MODEL = {
    "units": 256,
    "embedding_dim": 128,
    "bidirectional": True,
    "attention": "dot",
    "dropout": 0.2,
}
SOURCE = TextConfig(
    tokenizer="wordpiece", max_vocabulary_size=8000, max_length=96, wordpiece_learner="bert"
)
TARGET = TextConfig(
    tokenizer="wordpiece", max_vocabulary_size=8000, max_length=24, wordpiece_learner="bert"
)


def split(pairs):
    """(train, validation, test) with 2,000 test pairs (for 40,000) and 1,000 validation."""
    rest, test = split_pairs(pairs, 0.05, seed=0)
    train_pairs, validation = split_pairs(rest, 1000 / len(rest), seed=1)
    return train_pairs, validation, test


def lead_words(text: str, count: int = 10) -> str:
    return " ".join(text.split()[:count])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--output", default="runs/summarization")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--dropout", type=float, default=MODEL["dropout"])
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument(
        "--lowercase", action="store_true", help="lower-case both sides (ROUGE ignores case)"
    )
    args = parser.parse_args(argv)
    configure_for_cpu_training()  # before TensorFlow runs anything: see keras_seq2seq.cpu
    source_text = dataclasses.replace(SOURCE, lowercase=args.lowercase)
    target_text = dataclasses.replace(TARGET, lowercase=args.lowercase)

    train_pairs, validation, test = split(read_pairs(args.data))
    print(f"{len(train_pairs)} train, {len(validation)} validation, {len(test)} test pairs")
    references = [target for _, target in test]
    rows = [("lead-10 words (baseline)", rouge([lead_words(s) for s, _ in test], references))]

    train_seconds = None
    if not args.skip_training:
        started = time.perf_counter()
        train(
            train_pairs,
            args.output,
            validation_pairs=validation,
            model_options={**MODEL, "dropout": args.dropout},
            source_text=source_text,
            target_text=target_text,
            train_config=TrainConfig(
                epochs=args.epochs,
                batch_size=64,
                patience=2,
                label_smoothing=args.label_smoothing,
            ),
            verbose=2,
        )
        train_seconds = time.perf_counter() - started
        print(f"Training took {train_seconds:.0f} s")
    reports = {}
    for width in (1, 4):
        report = evaluate(
            args.output, test, beam_width=width, progress=False, metrics=("rouge", "bleu")
        )
        name = "greedy" if width == 1 else f"beam {width}"
        reports[name] = {k: v for k, v in report.items() if k != "examples"}
        rows.append((f"keras-seq2seq LSTM-attention, {name}", report))

    print("\n| method | ROUGE-1 | ROUGE-2 | ROUGE-L |")
    print("|---|---|---|---|")
    for name, scores in rows:
        print(
            f"| {name} | {scores['rouge1']:.1f} | {scores['rouge2']:.1f} | {scores['rougeL']:.1f} |"
        )
    summary = {"train_seconds": train_seconds, "baseline": rows[0][1], "reports": reports}
    Path(args.output, "summarization_benchmark.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
