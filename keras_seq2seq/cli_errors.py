"""How the command line fails: one `keras-seq2seq CMD: error: …` line and exit status 2.

Usage errors get one line and a pointer to `--help` (`ArgumentParser`), paths are checked
before any work starts (`check_input_file`, `check_output_file`, `check_output_directory`),
and messages from the library that name Python parameters are rewritten to name the flags
(`command_line_message`).

No heavy imports here: the command line imports this module before TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

MESSAGE_PARAMETERS = (
    "batch_size",
    "chunk_size",
    "force",
    "keep_checkpoints",
    "keep_references",
    "kd_weight",
    "max_beam_width",
    "max_examples",
    "skip_bad_lines",
    "teacher_beam_width",
)
"""Library parameters that messages name, besides the decoding options (all named): each is
set by the flag whose argparse `dest` is its name, and messages say that flag."""

PARAMETER_ALIASES = {"output_base": "output"}
"""Library parameters set by a flag of another name: parameter -> the flag's `dest`."""


_TEXT = r"(?:[^;()]|\([^()]*\))"
"""Text with at most one level of parentheses."""

_PYTHON_BESIDE_FLAG = re.compile(
    rf"(--[\w-]+(?: [A-Z]+)?)(?:; {_TEXT}*? in Python| \(\w*\(?\w+=[^()]*\)?\))"
)
"""A flag with its Python spelling beside it: `--force (force=True)`, `--x; x=1 in Python`."""

_PYTHON_HINT = re.compile(rf"[;,] in Python,? {_TEXT}*")
"""A hint for Python users only: `; in Python, read_pairs(..., encoding=...) reads ...`."""


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose usage errors are one line plus where to get help.

    Example:
    >>> parser = ArgumentParser(prog="keras-seq2seq translate")
    >>> parser.error("argument --beam-width: expected a positive integer, got 0")
    Traceback (most recent call last):
    SystemExit: 2
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\nsee '{self.prog} --help'\n")


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_parent(flag: str, path: str, directory: Path) -> None:
    """Checks that `directory` (where `path` goes) is, or can be made, a writable directory."""
    ancestor = _nearest_existing(directory)
    if not ancestor.is_dir():
        raise ValueError(
            f"{flag} {path}: {ancestor} is a file, not a directory. Pick a path whose "
            "directories are directories (or remove that file)."
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(
            f"{flag} {path}: no permission to write in {ancestor}. Pick a directory you can "
            "write to."
        )


def check_output_file(flag: str, path: str | None) -> None:
    """Checks, before any work, that a file can be written at `path` (missing directories
    are created when it is written).

    Args:
        flag: str. The flag that gave the path, named in the error.
        path: str or None. The path; None and `"-"` (standard output) pass.

    Raises:
        ValueError: `path` is a directory, a directory above it is a file, or the
            directory it goes into is not writable.

    Example:
    >>> check_output_file("--output", "/")
    Traceback (most recent call last):
    ValueError: --output /: that is a directory; give the path of a file.
    """
    if path in (None, "-"):
        return
    if Path(path).is_dir():
        raise ValueError(f"{flag} {path}: that is a directory; give the path of a file.")
    if Path(path).exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag} {path}: no permission to write this file. Pick another path.")
    _check_parent(flag, path, Path(path).parent)


def check_output_directory(flag: str, path: str | None) -> None:
    """Checks, before any work, that a directory can be written (or created) at `path`.

    Args:
        flag: str. The flag that gave the path, named in the error.
        path: str or None. The directory; None passes.

    Raises:
        ValueError: `path` is a file, a directory above it is a file, or it (or the
            directory it goes into) is not writable.

    Example:
    >>> check_output_directory("--output", "/dev/null")
    Traceback (most recent call last):
    ValueError: --output /dev/null: that is a file, not a directory; pick a directory path.
    """
    if path is None:
        return
    if Path(path).exists() and not Path(path).is_dir():
        raise ValueError(f"{flag} {path}: that is a file, not a directory; pick a directory path.")
    _check_parent(flag, path, Path(path))


def check_input_file(flag: str, path: str | None) -> None:
    """Checks, before any work, that `path` is a readable file.

    Args:
        flag: str. The flag that gave the path, named in the error.
        path: str or None. The path; None and `"-"` (standard input) pass.

    Raises:
        FileNotFoundError: there is nothing at `path`.
        ValueError: `path` is a directory or cannot be read.

    Example:
    >>> check_input_file("--input", "/")
    Traceback (most recent call last):
    ValueError: --input /: that is a directory; give a file.
    """
    if path in (None, "-"):
        return
    if not Path(path).exists():
        raise FileNotFoundError(f"{flag} {path}: no such file.")
    if Path(path).is_dir():
        raise ValueError(f"{flag} {path}: that is a directory; give a file.")
    if not os.access(path, os.R_OK):
        raise ValueError(f"{flag} {path}: no permission to read this file.")


def command_line_message(message: str, flags: Mapping[str, str]) -> str:
    """A library message as the command line says it: flags instead of Python parameters.

    Args:
        message: str. The message of an error or warning from the library.
        flags: mapping from parameter name to the flag of the running command.

    Returns:
        str. `` `name` `` and `name=value` become `--flag` and `--flag value`, `name=True`
        becomes `--flag`, and hints for Python users next to a flag are dropped.

    Example:
    >>> flags = {"skip_bad_lines": "--skip-bad-lines", "beam_width": "--beam-width"}
    >>> command_line_message("or skip them (--skip-bad-lines; skip_bad_lines=True in "
    ...                      "Python). Received: beam_width=0.", flags)
    'or skip them (--skip-bad-lines). Received: --beam-width 0.'
    >>> command_line_message("fix it (or pass skip_bad_lines=True).", flags)
    'fix it (or pass --skip-bad-lines).'
    """
    message = _PYTHON_BESIDE_FLAG.sub(r"\1", message)
    message = _PYTHON_HINT.sub("", message)
    for name, flag in flags.items():
        message = re.sub(rf"\b{name}=True\b", flag, message)
        message = re.sub(rf"`{name}`", flag, message)
        message = re.sub(rf"(?<![\w.-]){name}=(?=[^\s,.)])", f"{flag} ", message)
    return message


def os_error_message(error: OSError) -> str:
    """An `OSError` as one line: what the system said, and about which path.

    Args:
        error: OSError.

    Returns:
        str.

    Example:
    >>> os_error_message(IsADirectoryError(21, "Is a directory", "out"))
    'out: Is a directory'
    """
    if error.filename is not None and error.strerror:
        where = error.filename
        if error.filename2 is not None:
            where = f"{where} -> {error.filename2}"
        return f"{where}: {error.strerror}"
    return str(error)
