"""Files written whole or not at all: a temporary file beside the target, then a rename.

A run directory, an export and a report are read by other processes (a resumed run, TF
Serving, a user's script) and may be interrupted mid-write; every JSON or text file the package
writes goes through here, so a reader sees the old file or the new one, never half of one;
`replacing` does the same for writers that take a file name (a Keras model's `save`).
`os.replace` is atomic on POSIX and Windows when both names are on one file system, which a
file beside its target is.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A partial file beside `path` to write in the block; renamed over `path` when it ends.

    For writers that take a file name (`keras.Model.save`): the partial name keeps the
    target's suffix. If the block raises, the partial file is removed and `path` is untouched.

    Args:
        path: str or Path. The file to write; its directory must exist.

    Yields:
        Path. Where to write (`.partial-NAME`, hidden, beside `path`).

    Raises:
        OSError: the directory is missing or not writable.

    Example:
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "model.txt"
    >>> with replacing(target) as partial:
    ...     _ = partial.write_text("weights")
    >>> target.read_text(), partial.exists()
    ('weights', False)
    """
    path = Path(path)
    partial = path.with_name(f".partial-{path.name}")
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    """Writes `data` to `path` atomically.

    Args:
        path: str or Path. The file to write; its directory must exist.
        data: bytes. The whole content.

    Raises:
        OSError: the directory is missing or not writable (the partial file is removed).

    Example:
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "blob.bin"
    >>> write_bytes(target, b"abc")
    >>> target.read_bytes()
    b'abc'
    """
    with replacing(path) as partial:
        partial.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    """Writes `text` to `path` atomically, UTF-8 encoded.

    Args:
        path: str or Path. The file to write; its directory must exist.
        text: str. The whole content.

    Raises:
        OSError: the directory is missing or not writable.

    Example:
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "note.txt"
    >>> write_text(target, "grüß\\n")
    >>> target.read_text(encoding="utf-8")
    'grüß\\n'
    """
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, data: Any) -> None:
    """Writes `data` as indented JSON (non-ASCII kept as is, final newline) atomically.

    Args:
        path: str or Path. The file to write; its directory must exist.
        data: Any JSON-serializable value.

    Raises:
        TypeError: `data` holds a value JSON cannot represent (nothing is written).
        OSError: the directory is missing or not writable.

    Example:
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "card.json"
    >>> write_json(target, {"name": "dates"})
    >>> target.read_text(encoding="utf-8")
    '{\\n "name": "dates"\\n}\\n'
    """
    write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
