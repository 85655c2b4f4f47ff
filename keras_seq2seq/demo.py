"""`make demo`: train the dates model, report held-out exact match and a few translations.

    python -m keras_seq2seq.demo [--output runs/dates-demo] [--epochs N] [--max-examples N]

The test split's dates never appear in training or validation (the dataset splits by date).
"""

from __future__ import annotations

import argparse
import sys
import time

from keras_seq2seq.quiet import show_tensorflow_logs, silence_tensorflow
from keras_seq2seq.training.recipes import load_pairs, resolve_settings

EXAMPLES = (
    "March 3, 2021",
    "3 mars 2021",
    "Dienstag, 14. Juli 1687",
    "1/2/03",
    "25 de diciembre de 2199",
    "July 4, 1776",
    "February 30, 2021",
    "tomorrow",
)


def train_dates(
    output: str, *, epochs: int | None = None, max_examples: int | None = None, verbose=2
):
    """Trains the dates recipe into `output` and returns the TrainResult."""
    from keras_seq2seq.training.fit import train

    settings = resolve_settings("dates", {"train": {"epochs": epochs, "patience": 3}})
    return train(
        load_pairs("dates", "train", max_examples=max_examples),
        output,
        validation_pairs=load_pairs("dates", "validation"),
        model_options=settings.model_options,
        source_text=settings.source_text,
        target_text=settings.target_text,
        train_config=settings.train,
        verbose=verbose,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs/dates-demo", help="run directory")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--max-examples", type=int, help="use at most this many train pairs")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's log lines")
    args = parser.parse_args(argv)
    if args.verbose:
        show_tensorflow_logs()  # undo the package's default level, before TensorFlow loads
    else:
        silence_tensorflow()  # before TensorFlow is imported
    from keras_seq2seq.training.cpu import configure_for_cpu_training

    configure_for_cpu_training()  # before TensorFlow runs anything: see keras_seq2seq.training.cpu

    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.evaluation.metrics import exact_match

    started = time.perf_counter()
    result = train_dates(args.output, epochs=args.epochs, max_examples=args.max_examples)
    trained = time.perf_counter() - started

    translator = load(result.run_dir)
    test = load_pairs("dates", "test")
    translator.translate(list(EXAMPLES))  # trace the graph once; decoding speed excludes it
    started = time.perf_counter()
    hypotheses = translator.translate([source for source, _ in test])
    decode_seconds = time.perf_counter() - started
    accuracy = exact_match(hypotheses, [target for _, target in test])

    print()
    print(f"Training: {result.num_train_examples} pairs, {trained:.0f} s")
    print(
        f"Held-out test: exact match {100 * accuracy:.2f}% on {len(test)} dates never seen in "
        f"training ({len(test) / decode_seconds:.0f} sentences/s, greedy, in graph)"
    )
    print()
    for source, output in zip(EXAMPLES, translator.translate(list(EXAMPLES)), strict=True):
        print(f"  {source:28s} -> {output or '(refused: not a date)'}")
    print(f"\nModel written to {result.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
