"""Grapheme-to-phoneme on CMUdict (or Chinese → pinyin): train, then WER/PER greedy and beam.

    python benchmarks/g2p.py [--dataset cmudict|pinyin] [--architecture rnn|transformer]
                             [--output runs/g2p-cmudict-rnn] [--epochs N] [--skip-training]
                             [--keep-checkpoints 5] [--ensemble OTHER_RUN ...]
                             [--input-feeding] [--seed N] [--ensemble-only]
                             [--units N] [--layers N]

Trains one model (the LSTM-attention `rnn` recipe, or the `transformer` recipe, of
`keras_seq2seq/training/recipes.py`) on the `train` split,
picks the epoch with the best validation loss, and evaluates on the `test` split, which shares
no word with training (all pronunciations of a word are on one side; a hypothesis equal to any
of a word's pronunciations is correct, and PER uses the closest one). Prints a table with the
published peers on the same current dictionary without stress (cmusphinx/g2p-seq2seq README).

WER here is the G2P convention: the percentage of words with at least one phone wrong
(= 100 - exact match). PER is the phone error rate by edit distance.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_seq2seq.decoding.translator import load
from keras_seq2seq.evaluation.evaluate import evaluate
from keras_seq2seq.run_layout import checkpoint_files
from keras_seq2seq.training.averaging import CHECKPOINTS_DIR, average_checkpoints
from keras_seq2seq.training.cpu import configure_for_cpu_training
from keras_seq2seq.training.fit import train
from keras_seq2seq.training.recipes import load_pairs, resolve_settings

# Published word error rates on the current CMUdict without stress (cmusphinx/g2p-seq2seq,
# README "Word error rate on CMU dictionary data sets").
PEERS = (
    ("g2p-seq2seq LSTM 2x512 (published)", "~31", ""),
    ("g2p-seq2seq Transformer (published)", "30.2", ""),
    ("Phonetisaurus (published)", "33.9", ""),
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cmudict", choices=("cmudict", "pinyin"))
    parser.add_argument("--output", help="run directory (default runs/g2p-DATASET)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--max-examples", type=int, help="train on at most N pairs")
    parser.add_argument("--skip-training", action="store_true", help="evaluate --output only")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--architecture", default="rnn", help="rnn (default) or transformer")
    parser.add_argument("--patience", type=int, help="early-stopping patience (default: recipe)")
    parser.add_argument("--seed", type=int, help="shuffling and initialisation seed (default 0)")
    parser.add_argument(
        "--input-feeding",
        action="store_true",
        default=None,
        help="rnn: Luong input feeding on top of the recipe",
    )
    parser.add_argument("--units", type=int, help="model width (default: recipe)")
    parser.add_argument("--layers", type=int, help="encoder and decoder layers (default: recipe)")
    parser.add_argument(
        "--keep-checkpoints",
        type=int,
        default=5,
        help="keep the last N epochs' weights and also evaluate their average (0 = off)",
    )
    parser.add_argument(
        "--ensemble",
        action="append",
        default=[],
        help="another trained run directory: also evaluate the ensemble of --output and these",
    )
    parser.add_argument(
        "--ensemble-only",
        action="store_true",
        help="with --skip-training and --ensemble: evaluate only the ensemble",
    )
    args = parser.parse_args(argv)
    if args.ensemble_only and not (args.skip_training and args.ensemble):
        parser.error("--ensemble-only needs --skip-training and at least one --ensemble run")
    configure_for_cpu_training()  # before TensorFlow runs anything: see keras_seq2seq.training.cpu
    output = Path(args.output or f"runs/g2p-{args.dataset}-{args.architecture}")
    settings = resolve_settings(
        args.dataset,
        {
            "model": {
                "architecture": args.architecture,
                "input_feeding": args.input_feeding,
                "units": args.units,
                "num_layers": args.layers,
            },
            "train": {"epochs": args.epochs, "patience": args.patience, "seed": args.seed},
        },
    )

    train_seconds = None
    if not args.skip_training:
        started = time.perf_counter()
        result = train(
            load_pairs(args.dataset, "train", max_examples=args.max_examples),
            output,
            validation_pairs=load_pairs(args.dataset, "validation"),
            model_options=settings.model_options,
            source_text=settings.source_text,
            target_text=settings.target_text,
            train_config=dataclasses.replace(
                settings.train, keep_checkpoints=args.keep_checkpoints
            ),
            verbose=2,
            data_source=args.dataset,
        )
        train_seconds = time.perf_counter() - started
        print(f"Trained {len(result.history['loss'])} epochs in {train_seconds:.0f} s")

    test = load_pairs(args.dataset, "test")
    models = {"single model": str(output)}
    averaged = output.with_name(f"{output.name}-avg{args.keep_checkpoints}")
    kept = len(checkpoint_files(output / CHECKPOINTS_DIR))
    if args.keep_checkpoints and kept < args.keep_checkpoints:
        print(f"{kept} checkpoint(s) kept, fewer than {args.keep_checkpoints}: no average")
    elif args.keep_checkpoints:
        if not (averaged / "model.keras").is_file():
            average_checkpoints(output, averaged, last=args.keep_checkpoints)
        models[f"last {args.keep_checkpoints} epochs averaged"] = str(averaged)
    if args.ensemble_only:
        models = {}
    if args.ensemble:
        models[f"ensemble of {1 + len(args.ensemble)}"] = load([output, *args.ensemble])
    rows = []
    reports = {}
    for label, model in models.items():
        for width in (1, args.beam_width):
            report = evaluate(
                model,
                test,
                beam_width=width,
                progress=False,
                metrics=("exact_match", "token_error_rate"),
            )
            name = "greedy" if width == 1 else f"beam {width}"
            reports[f"{label}, {name}"] = {k: v for k, v in report.items() if k != "examples"}
            rows.append(
                (
                    f"keras-seq2seq {'' if args.ensemble_only else args.architecture + ', '}"
                    f"{label}, {name}",
                    f"{report['sequence_error_rate']:.1f}",
                    f"{report['token_error_rate']:.1f}",
                )
            )

    print(
        f"\n{args.dataset} test split: {report['num_examples']} words/phrases "
        f"({report['num_references']} references), settings: {settings.model_options}"
    )
    print("| model | WER % | PER % |")
    print("|---|---|---|")
    for row in rows + (list(PEERS) if args.dataset == "cmudict" else []):
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    summary = {"train_seconds": train_seconds, "reports": reports}
    if args.ensemble_only:  # the run's own results stay in g2p_benchmark.json
        summary = {"members": [str(output), *args.ensemble], "reports": reports}
    name = "g2p_ensemble.json" if args.ensemble_only else "g2p_benchmark.json"
    (output / name).write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
