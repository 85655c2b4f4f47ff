"""Flags shared by the commands that read pairs: which dataset or file, and how many pairs."""

from __future__ import annotations

import argparse

from keras_seq2seq.cli_fields import positive_int
from keras_seq2seq.data.datasets import BUILTIN_DATASETS

DATASET_HELP = f"builtin dataset ({', '.join(BUILTIN_DATASETS)}) or a file path"
"""Help of `--dataset` where `--data FILE` is the other way to give pairs."""


def add_data_or_dataset(p: argparse.ArgumentParser, data_help: str) -> None:
    """Adds `--data FILE` and `--dataset NAME_OR_PATH`, exactly one of them required.

    Args:
        p: the command's parser.
        data_help: str. The help of `--data` (what the file's lines hold).

    Example:
    >>> p = argparse.ArgumentParser()
    >>> add_data_or_dataset(p, "file of pairs")
    >>> p.parse_args(["--dataset", "dates"]).dataset
    'dates'
    """
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", metavar="FILE", help=data_help)
    data.add_argument("--dataset", help=DATASET_HELP)


def add_max_examples(p: argparse.ArgumentParser) -> None:
    """Adds `--max-examples N`: read at most N pairs (`load_pairs(max_examples=...)`)."""
    p.add_argument("--max-examples", type=positive_int, metavar="N", help="use at most N pairs")
