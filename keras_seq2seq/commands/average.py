"""`keras-seq2seq average`: average a run's last kept checkpoints into a new run directory."""

from __future__ import annotations

import argparse

from keras_seq2seq.cli_errors import check_output_directory
from keras_seq2seq.cli_fields import positive_int


def add_parser(subparsers) -> None:
    """Adds the `average` command."""
    p = subparsers.add_parser(
        "average",
        help="average a run's last kept checkpoints into a new run directory",
        description="Write a run directory whose weights are the mean of the last kept "
        "epochs of --model (trained with --keep-checkpoints N); translate, evaluate and "
        "export take it like any run directory.",
    )
    p.add_argument("--model", required=True, help="run directory with kept checkpoints")
    p.add_argument(
        "--last", type=positive_int, metavar="N", help="average the last N (default: all kept)"
    )
    p.add_argument("--output", required=True, metavar="DIR", help="the new run directory")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Runs `average`: writes the averaged run directory."""
    from keras_seq2seq.training.averaging import average_checkpoints

    check_output_directory("--output", args.output)
    try:
        path = average_checkpoints(args.model, args.output, last=args.last)
    except FileExistsError as error:
        raise ValueError(str(error)) from None
    print(f"Averaged checkpoints written to {path}")
    return 0
