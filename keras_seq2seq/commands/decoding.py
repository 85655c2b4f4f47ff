"""Flags shared by the commands that decode: the models to load and the decoding options."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from keras_seq2seq.cli_fields import add_field_arguments, field_flags, field_values, positive_int
from keras_seq2seq.decoding.options import DecodeOptions

MODELS_HELP = (
    "run directory, exported base path (saved_models/NAME: newest version), a version "
    "directory or a shipped model's name (dates, cmudict-small); give it several times to "
    "decode an ensemble"
)
"""Help of `--model` where several models make an ensemble."""


def add_decode_arguments(
    parser: argparse.ArgumentParser,
    names: Sequence[str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    exclude: Sequence[str] = (),
) -> None:
    """Adds the flags of some `DecodeOptions` fields, in a group `decoding`.

    Args:
        parser: the command's parser.
        names: the `DecodeOptions` fields to add flags for (default: all).
        exclude: fields to leave out (the command has no use for them).
        defaults: what the command uses where a flag is not given, when that is not the
            `DecodeOptions` default (shown in the help).

    Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_decode_arguments(parser, ["beam_width"])
    >>> decode_options(parser.parse_args(["--beam-width", "4"]))
    {'beam_width': 4}
    """
    group = parser.add_argument_group("decoding")
    names = list(field_flags(DecodeOptions) if names is None else names)
    names = [name for name in names if name not in exclude]
    add_field_arguments(group, DecodeOptions, names, defaults=defaults)


def add_batch_size(parser: argparse.ArgumentParser) -> None:
    """Adds `--batch-size N`: how many inputs are decoded at a time."""
    parser.add_argument(
        "--batch-size", type=positive_int, default=256, metavar="N", help="inputs per batch (256)"
    )


def decode_options(args: argparse.Namespace) -> dict[str, Any]:
    """The decoding options given on the command line: keyword arguments of `DecodeOptions`."""
    return field_values(args, DecodeOptions)
