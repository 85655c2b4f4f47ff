"""Summarization: Debian package description → one-line synopsis, ROUGE against lead-10 words.

    python benchmarks/summarization.py [--data PATH.tsv.gz] [--output runs/summarization]
                                       [--epochs N] [--skip-training]
                                       [--dropout R] [--label-smoothing E] [--lowercase]
                                       [--copy-attention] [--coverage-loss W]
                                       [--shared-vocabulary] [--compare RUN_DIR]

The data file holds `long description<TAB>synopsis` pairs (40,000 in the Debian 12 file this
was written for). Split with `split_pairs` and a fixed seed: 2,000 test pairs (5 %), then 1,000
validation pairs from the rest; training never sees the test pairs. The baseline is the first
10 words of the description. ROUGE-1/2/L F1 with stemming (rouge-score), as percentages.

Copy-rate check: among the test references, the words that also occur in their source but
are not a token of the target vocabulary (the model cannot write them as one piece; a
WordPiece model without copy spells them from pieces or writes [UNK]), and the share of those
words the beam-4 output reproduces. `--compare RUN_DIR` puts another trained run (e.g. the
same recipe without copy attention) in the same table and check, on the same test pairs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_seq2seq.config import RunConfig, TextConfig, TrainConfig
from keras_seq2seq.data.pipeline import split_pairs
from keras_seq2seq.data.readers import read_pairs
from keras_seq2seq.evaluation.evaluate import evaluate
from keras_seq2seq.evaluation.metrics import rouge
from keras_seq2seq.training.cpu import configure_for_cpu_training
from keras_seq2seq.training.fit import train
from keras_seq2seq.training.run_dir import read_tokenizers

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


def describe_run(run: str) -> str:
    config = RunConfig.load(Path(run) / "config.json")
    parts = ["LSTM-attention"]
    if config.model.copy_attention:
        parts.append("copy attention")
        if config.model.coverage_loss:
            parts.append(f"coverage {config.model.coverage_loss:g}")
    if config.source_text.shared_vocabulary:
        parts.append("shared vocabulary")
    return " + ".join(parts)


def _words(text: str) -> list[str]:
    return [w.strip(".,;:()[]'\"!?").lower() for w in text.split() if w.strip(".,;:()[]'\"!?")]


def out_of_vocabulary_words(run: str, pairs) -> list[list[str]]:
    """Per pair: reference words that occur in the source but are no target-vocabulary token."""
    config = RunConfig.load(Path(run) / "config.json")
    _, target = read_tokenizers(Path(run), config.source_text, config.target_text)
    vocabulary = set(target.vocabulary)
    found = []
    for source, reference in pairs:
        source_words = set(_words(source))
        found.append(sorted({
            w for w in _words(reference) if w in source_words and w not in vocabulary
        }))  # fmt: skip
    return found


def copy_rate(words: list[list[str]], hypotheses: list[str]) -> tuple[int, int, int]:
    """(pairs with such words, such words, words the hypotheses reproduce)."""
    total = sum(map(len, words))
    reproduced = sum(
        sum(1 for w in row if w in set(_words(hypothesis)))
        for row, hypothesis in zip(words, hypotheses, strict=True)
    )
    return sum(1 for row in words if row), total, reproduced


def _bold(text: str, words: list[str]) -> str:
    return " ".join(f"**{w}**" if w.strip(".,;:()").lower() in words else w for w in text.split())


def print_examples(words, pairs, outputs: dict[str, list[str]], count: int = 8) -> None:
    """A table of test synopses whose reference holds an out-of-vocabulary source word."""
    labels = list(outputs)
    print("\nExamples (beam 4; words outside the target vocabulary in **bold**):")
    print("| description (start) | reference | " + " | ".join(labels) + " |")
    print("|---|---|" + "---|" * len(labels))
    shown = 0
    for index, row in enumerate(words):
        if not row or shown == count:
            continue
        shown += 1
        source, reference = pairs[index]
        cells = [" ".join(source.split()[:14]) + " …", _bold(reference, row)]
        cells += [_bold(outputs[label][index], row) for label in labels]
        print("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")


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
    parser.add_argument("--copy-attention", action="store_true", help="pointer-generator")
    parser.add_argument("--coverage-loss", type=float, default=0.0, help="coverage loss weight")
    parser.add_argument(
        "--shared-vocabulary", action="store_true", help="one WordPiece vocabulary, both sides"
    )
    parser.add_argument("--compare", action="append", default=[], help="another run directory")
    args = parser.parse_args(argv)
    configure_for_cpu_training()  # before TensorFlow runs anything: see keras_seq2seq.training.cpu
    source_text = dataclasses.replace(
        SOURCE, lowercase=args.lowercase, shared_vocabulary=args.shared_vocabulary
    )
    target_text = dataclasses.replace(
        TARGET, lowercase=args.lowercase, shared_vocabulary=args.shared_vocabulary
    )
    copy = {"copy_attention": True, "coverage_loss": args.coverage_loss}

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
            model_options={
                **MODEL,
                "dropout": args.dropout,
                **(copy if args.copy_attention else {}),
            },
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
    reports, copy_rates, outputs = {}, [], {}
    # One word list for every run: the words outside the first run's target vocabulary.
    words = out_of_vocabulary_words(args.output, test)
    for run in [args.output, *args.compare]:
        label = describe_run(run)
        for width in (1, 4):
            report = evaluate(
                run, test, beam_width=width, progress=False, metrics=("rouge", "bleu")
            )
            name = "greedy" if width == 1 else f"beam {width}"
            reports[f"{run} {name}"] = {k: v for k, v in report.items() if k != "examples"}
            rows.append((f"{label}, {name}", report))
        outputs[label] = [example["hypothesis"] for example in report["examples"]]
        copy_rates.append((label, copy_rate(words, outputs[label])))

    print("\n| method | ROUGE-1 | ROUGE-2 | ROUGE-L |")
    print("|---|---|---|---|")
    for name, scores in rows:
        print(
            f"| {name} | {scores['rouge1']:.1f} | {scores['rouge2']:.1f} | {scores['rougeL']:.1f} |"
        )
    print(
        "\nCopy rate (beam 4): reference words found in the source but not a token of the "
        "target vocabulary, reproduced by the output"
    )
    print("| model | test pairs with such words | words | reproduced |")
    print("|---|---|---|---|")
    for label, (pairs_with, count, reproduced) in copy_rates:
        share = 100 * reproduced / max(count, 1)
        print(f"| {label} | {pairs_with} | {count} | {reproduced} ({share:.1f} %) |")
    print_examples(words, test, outputs)
    summary = {
        "train_seconds": train_seconds,
        "baseline": rows[0][1],
        "reports": reports,
        "copy_rates": {label: rate for label, rate in copy_rates},
    }
    Path(args.output, "summarization_benchmark.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
