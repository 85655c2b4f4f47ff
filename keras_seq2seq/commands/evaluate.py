"""`keras-seq2seq evaluate`: decode a dataset and score the outputs."""

from __future__ import annotations

import argparse
import sys

from keras_seq2seq.cli_errors import check_input_file, check_output_file
from keras_seq2seq.cli_fields import non_negative_int
from keras_seq2seq.commands.data import add_data_or_dataset, add_max_examples
from keras_seq2seq.commands.decoding import (
    MODELS_HELP,
    add_batch_size,
    add_decode_arguments,
    decode_options,
)
from keras_seq2seq.data.datasets import BUILTIN_DATASETS


def add_parser(subparsers) -> None:
    """Adds the `evaluate` command."""
    from keras_seq2seq.evaluation.metrics import METRIC_NAMES

    p = subparsers.add_parser(
        "evaluate",
        help="decode a dataset and score the outputs",
        description="Decode the sources of a dataset, score the outputs against the targets "
        "(several targets for one source are several references) and print a table. Without "
        "--metrics: exact match, token error rate (CER for char targets, WER/PER for word "
        "targets) and chrF, plus BLEU for word targets. The G2P 'WER' (whole words wrong) is "
        "the sequence error rate.",
    )
    p.add_argument("--model", required=True, action="append", help=MODELS_HELP)
    add_data_or_dataset(p, "file of source<TAB>target lines (.tsv, .tsv.gz, .jsonl)")
    p.add_argument(
        "--split", default="test", metavar="NAME", help="split of a builtin dataset (default test)"
    )
    p.add_argument(
        "--data-seed",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="builtin-dataset seed (default 0)",
    )
    add_max_examples(p)
    add_decode_arguments(p, exclude=("n_best", "prefix"))
    add_batch_size(p)
    p.add_argument(
        "--metrics",
        nargs="+",
        choices=METRIC_NAMES,
        help="metrics to compute (default: by target tokenizer)",
    )
    _add_outputs(p)
    p.add_argument(
        "--allow-empty-targets",
        action="store_true",
        help="keep --data lines with an empty target ('source<TAB>') as refusal examples "
        "(default: an error)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(handler=run)


def _add_outputs(p: argparse.ArgumentParser) -> None:
    """The files `evaluate` writes: the report, the hypotheses, the model's evaluation.json."""
    p.add_argument("--output", metavar="FILE", help="write the report as JSON to FILE")
    p.add_argument(
        "--hypotheses",
        metavar="FILE",
        help="write source<TAB>reference<TAB>hypothesis lines to this file (default with "
        "--output: REPORT.hypotheses.tsv next to it)",
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="also write the report into the model directory as its evaluation.json, the "
        "evaluation `info` shows (default: the model's recorded evaluation is left as it is)",
    )


def _check_arguments(args: argparse.Namespace) -> None:
    """Checks the flags and paths before any work."""
    from pathlib import Path

    if args.record and len(args.model) > 1:
        raise ValueError(
            "--record writes the evaluation into one model's directory, and an ensemble of "
            "several --model has none: evaluate it without --record."
        )
    check_output_file("--output", args.output)
    check_output_file("--hypotheses", args.hypotheses)
    if args.data is not None and Path(args.data).exists():
        check_input_file("--data", args.data)  # a directory, or not readable
    if args.data is not None and not Path(args.data).is_file():
        raise FileNotFoundError(
            f"--data {args.data}: no such file. Pass a file of source<TAB>target lines, or a "
            f"builtin dataset with --dataset ({', '.join(BUILTIN_DATASETS)})."
        )


def run(args: argparse.Namespace) -> int:
    """Runs `evaluate`: decodes the pairs, prints the report, writes the files asked for."""
    from keras_seq2seq.decoding.options import DecodeOptions
    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.evaluation.evaluate import evaluate, format_report
    from keras_seq2seq.training.recipes import load_pairs

    _check_arguments(args)
    pairs = load_pairs(
        args.data or args.dataset,
        args.split,
        max_examples=args.max_examples,
        seed=args.data_seed,
        allow_empty_targets=args.allow_empty_targets,
    )
    report = evaluate(
        args.model[0] if len(args.model) == 1 else load(args.model),
        pairs,
        DecodeOptions(**decode_options(args)),
        batch_size=args.batch_size,
        metrics=args.metrics,
        progress=not args.quiet,
        record=args.record,
    )
    print(format_report(report))
    _write_outputs(args, report)
    return 0


def _write_outputs(args: argparse.Namespace, report) -> None:
    from keras_seq2seq.evaluation.evaluate import (
        recorded_evaluation_path,
        write_hypotheses,
        write_report,
    )

    if args.record:
        path = recorded_evaluation_path(report)
        print(f"Evaluation recorded in {path} (shown by `keras-seq2seq info`)", file=sys.stderr)
    hypotheses = args.hypotheses
    if args.output:
        path = write_report(report, args.output)
        print(f"Report written to {path}", file=sys.stderr)
        hypotheses = hypotheses or path.with_name(f"{path.stem}.hypotheses.tsv")
    if hypotheses:
        path = write_hypotheses(report, hypotheses)
        print(f"Hypotheses written to {path}", file=sys.stderr)
