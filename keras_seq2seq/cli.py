"""The `keras-seq2seq` command line: the parser and how a command fails; every subcommand calls
the library (one module each in `keras_seq2seq.commands`).

keras-seq2seq train --dataset dates --output runs/dates
keras-seq2seq translate --model saved_models/dates "March 3, 2021"
echo "3 mars 2021" | keras-seq2seq translate --model saved_models/dates --beam-width 4
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from keras_seq2seq import __version__
from keras_seq2seq.cli_errors import (
    MESSAGE_PARAMETERS,
    PARAMETER_ALIASES,
    ArgumentParser,
    command_line_message,
    os_error_message,
)
from keras_seq2seq.cli_fields import field_flags
from keras_seq2seq.commands import (
    average,
    distill,
    evaluate,
    export,
    info,
    plot_attention,
    score,
    train,
    translate,
)
from keras_seq2seq.commands.settings import train_overrides
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.errors import CountedWarning, RunDirectoryBusyError
from keras_seq2seq.quiet import show_tensorflow_logs, silence_tensorflow

__all__ = ["build_parser", "main", "run"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

COMMANDS = (train, distill, translate, evaluate, plot_attention, export, info, score, average)
"""The command modules, in the order `--help` lists them."""

_train_overrides = train_overrides
"""The overrides of a parsed `train` command line (`keras_seq2seq.commands.settings`)."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; `args.handler(args)` runs the parsed one.

    Returns:
        argparse.ArgumentParser.

    Example:
    >>> args = build_parser().parse_args(["info", "saved_models/dates"])
    >>> args.command, args.model
    ('info', 'saved_models/dates')
    """
    parser = ArgumentParser(
        prog="keras-seq2seq",
        description="Sequence-to-sequence learning on Keras 3 / TensorFlow.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    for subparser in subparsers.choices.values():
        subparser.add_argument(
            "--verbose",
            action="store_true",
            help="show TensorFlow's own log lines on stderr (dropped by default)",
        )
        subparser.set_defaults(parameter_flags=_parameter_flags(subparser))
    return parser


def _parameter_flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Library parameter name -> flag, for the flags a command has (see `cli_errors`)."""
    flags = {
        action.dest: action.option_strings[0] for action in parser._actions if action.option_strings
    }
    names = (*field_flags(DecodeOptions), *MESSAGE_PARAMETERS)
    found = {name: flags[name] for name in names if name in flags}
    found.update({name: flags[dest] for name, dest in PARAMETER_ALIASES.items() if dest in flags})
    return found


def main(argv: Sequence[str] | None = None, *, quiet: bool = False) -> int:
    """Runs the command line; returns the exit status.

    Bad input (a missing model, a malformed data file, an output path that cannot be
    written, a file the system refuses) prints one `keras-seq2seq CMD: error: ...` line
    naming the flag, and returns 2 instead of raising; paths are checked before any work
    starts. A usage error (an unknown flag, an out-of-range value) prints its line and where
    to get help, and exits with status 2. `--help`, `--version` and usage errors answer
    without importing TensorFlow.

    Args:
        argv: the arguments (default: `sys.argv[1:]`).
        quiet: bool. Drop TensorFlow's log lines from stderr unless `--verbose` is given
            (see `keras_seq2seq.quiet`); the `keras-seq2seq` command does. Defaults to `False`.

    Returns:
        int. 0 on success, 2 on bad input, 130 when interrupted, 141 when the reader of
        standard output went away (`| head`).

    Raises:
        SystemExit: for `--help`, `--version` (status 0) and usage errors (status 2).

    Example:
    >>> main(["translate", "--model", "saved_models/dates", "March 3, 2021"])  # doctest: +SKIP
    2021-03-03
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        show_tensorflow_logs()  # undo the package's default level, before TensorFlow loads
    elif quiet:
        silence_tensorflow()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command, args.parameter_flags)
            return args.handler(args)
    except BrokenPipeError:
        # The reader stopped reading (`| head`): nothing to report.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, TypeError, OSError, RunDirectoryBusyError) as error:
        message = os_error_message(error) if isinstance(error, OSError) else str(error)
        message = " ".join(command_line_message(message, args.parameter_flags).splitlines())
        print(f"keras-seq2seq {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        if str(interrupt):  # e.g. how to resume an interrupted training
            print(f"keras-seq2seq {args.command}: {interrupt}", file=sys.stderr)
        return 130


def _one_line_warning(command: str, flags: dict[str, str]):
    """`warnings.showwarning` for the command line: our warnings as one line each."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CountedWarning) or filename.startswith(_PACKAGE_DIR):
            text = command_line_message(str(message), flags)
            print(f"keras-seq2seq {command}: warning: {text}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def run() -> None:
    """The `keras-seq2seq` command: `main` with TensorFlow's log lines dropped."""
    sys.exit(main(quiet=True))


if __name__ == "__main__":
    run()
