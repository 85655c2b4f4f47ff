"""Read and write `(source, target)` pairs from TSV and JSONL files.

Supported inputs:

- TSV: one `source<TAB>target` pair per line (`.tsv`, or any suffix other than `.jsonl`).
- JSONL: one JSON object per line with string `"source"` and `"target"` keys (`.jsonl`);
  other keys (an id, a comment) are ignored.

Any file may be gzip-compressed (`.tsv.gz`, `.jsonl.gz`): compression is detected from the
file's first bytes, the format from the name with `.gz` removed.

Every malformed line raises `DataFormatError` naming `path:line` (1-based), what was found and
how to fix it. Some tolerance is built in: a UTF-8 byte-order mark at the start of the file is
dropped, CRLF line endings are accepted, blank (empty or whitespace-only) lines are skipped,
and leading/trailing whitespace is stripped from both sides of a pair.

Control characters (NUL, ESC, a carriage return inside a line, C1 controls ...) are malformed
data, not text: a line holding one is rejected, except for the tab that separates a TSV pair
and the line end. A JSONL value may hold the whitespace escapes `\t`, `\n` and `\r` (tokenizers
read them as spaces), no other control character.

An empty target is an error by default. With `allow_empty_targets=True` (`--allow-empty-targets`
on the command line) a `source<TAB>` line, or a JSONL line with `"target": ""`, is kept as a
refusal example: the model learns to answer nothing for such a source, as the builtin `dates`
data teaches it for non-dates.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import json
import os
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator

__all__ = [
    "DataFormatError",
    "SkippedLinesWarning",
    "read_pairs",
    "write_pairs",
]

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"
_SNIPPET_CHARS = 60
_MAX_LISTED_LINES = 5
_SKIP_HINT = "or skip such lines (--skip-bad-lines; skip_bad_lines=True in Python)"
_CONTROL_NAMES = {0x00: "NUL", 0x07: "BEL", 0x08: "BS", 0x0B: "VT", 0x0C: "FF", 0x0D: "CR",
                  0x1B: "ESC", 0x7F: "DEL", 0x85: "NEL"}  # fmt: skip


class DataFormatError(ValueError):
    """A data file is malformed; the message names `path:line` and how to fix it.

    Args:
        message: str. The full error message.
        path: str or `None`. The file that was being read. Defaults to `None`.
        line: int or `None`. The 1-based line number of the bad line, or `None` for
            problems that concern the whole file. Defaults to `None`.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.path = path
        self.line = line


class SkippedLinesWarning(UserWarning):
    """Malformed lines were skipped by `read_pairs(..., skip_bad_lines=True)`."""


def _snippet(text: str) -> str:
    if len(text) > _SNIPPET_CHARS:
        text = text[: _SNIPPET_CHARS - 3] + "..."
    return repr(text)


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    names = {dict: "object", list: "array", str: "string", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _is_jsonl(path: str) -> bool:
    name = path[:-3] if path.endswith(".gz") else path
    return name.lower().endswith(".jsonl")


def _check_encoding(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(
            f"Unknown `encoding`. Received: encoding={encoding!r}. "
            "Use a Python codec name such as 'utf-8' or 'latin-1'."
        ) from None
    # Lines are split on the byte b"\n", which only works for ASCII-compatible encodings.
    if not "a\nb".encode(name).endswith(b"a\nb"):
        raise ValueError(
            f"`encoding` must be ASCII-compatible (such as 'utf-8' or 'latin-1'). "
            f"Received: encoding={encoding!r}. Convert the file to UTF-8 first, "
            f"e.g. `iconv -f {encoding} -t utf-8 FILE`."
        )
    return name


def _raw_lines(path: str) -> Iterator[bytes]:
    """Yields the file's lines as bytes, decompressing gzip files."""
    try:
        with open(path, "rb") as probe:
            compressed = probe.read(2) == _GZIP_MAGIC
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "No such data file", path) from None
    if not compressed:
        with open(path, "rb") as stream:
            yield from stream
        return
    line = 0
    with gzip.open(path, "rb") as stream:
        try:
            for raw in stream:
                line += 1
                yield raw
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise DataFormatError(
                f"{path}:{line + 1}: the gzip data is corrupt or truncated ({error}). "
                "Re-create the file with `gzip`, or recover what is readable with `zcat`.",
                path=path,
                line=line + 1,
            ) from error


def _decode(raw: bytes, encoding: str, where: str, path: str, line: int) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.end]
        raise DataFormatError(
            f"{where}: invalid {encoding} at byte offset {error.start} of the line "
            f"(byte(s) {bad!r}). Re-encode the file as UTF-8 (e.g. `iconv -f latin1 "
            f"-t utf-8 FILE > FILE.utf8`; in Python, read_pairs(..., encoding=...) reads "
            f"other encodings), {_SKIP_HINT}.",
            path=path,
            line=line,
        ) from None


_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
"""Control characters a line may not hold (all but the tab; the line end is already cut)."""
_CONTROL_IN_JSON_VALUE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters a JSONL value may not hold (its `\\t`, `\\n` and `\\r` read as spaces)."""


def _control_name(char: str) -> str:
    code = ord(char)
    name = _CONTROL_NAMES.get(code)
    return f"U+{code:04X} ({name})" if name else f"U+{code:04X}"


def _control_advice(char: str) -> str:
    if char == "\r":
        return (
            "A carriage return inside a line usually means old Mac (CR-only) line ends: "
            "convert them with `tr '\\r' '\\n' < FILE > FIXED`"
        )
    advice = (
        "A data file holds text only: delete the character (ASCII control characters with "
        "`tr -d '\\000-\\010\\013\\014\\016-\\037\\177' < FILE > CLEAN`)"
    )
    if char == "\x00":
        advice += (
            "; NUL bytes all through a file usually mean it is UTF-16: convert it with "
            "`iconv -f utf-16 -t utf-8 FILE > FILE.utf8`"
        )
    return advice


def _check_control(
    text: str,
    where: str,
    path: str,
    line: int,
    *,
    pattern: re.Pattern = _CONTROL,
    place: str = "column {}",
) -> None:
    """Raises `DataFormatError` for the first control character of `text` that `pattern` finds."""
    found = pattern.search(text)
    if found is None:
        return
    char = found.group()
    raise DataFormatError(
        f"{where}: control character {_control_name(char)} at "
        f"{place.format(found.start() + 1)} in {_snippet(text)}. {_control_advice(char)}, "
        f"{_SKIP_HINT}.",
        path=path,
        line=line,
    )


def _parse_tsv(text: str, where: str, path: str, line: int) -> tuple[str, str]:
    columns = text.split("\t")
    if len(columns) == 1:
        raise DataFormatError(
            f"{where}: expected 'source<TAB>target' but found no tab in {_snippet(text)}. "
            "Separate the source and the target with one tab character (not spaces).",
            path=path,
            line=line,
        )
    if len(columns) > 2:
        raise DataFormatError(
            f"{where}: expected 2 tab-separated columns but found {len(columns)} "
            f"({len(columns) - 1} tabs) in {_snippet(text)}. Keep one tab per line: drop "
            "the extra columns (e.g. `cut -f1,2 FILE`) or remove tabs inside the text.",
            path=path,
            line=line,
        )
    return columns[0], columns[1]


def _parse_jsonl(text: str, where: str, path: str, line: int) -> tuple[str, str]:
    example = '{"source": "...", "target": "..."}'
    try:
        item = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataFormatError(
            f"{where}: invalid JSON ({error.msg} at column {error.colno}) in "
            f"{_snippet(text)}. Each line must hold one JSON object such as {example}.",
            path=path,
            line=line,
        ) from None
    if not isinstance(item, dict):
        raise DataFormatError(
            f"{where}: expected a JSON object with string 'source' and 'target' keys but "
            f"found a JSON {_json_type(item)}: {_snippet(text)}. Write each pair as "
            f"{example}.",
            path=path,
            line=line,
        )
    for key in ("source", "target"):
        if key not in item:
            raise DataFormatError(
                f"{where}: the JSON object has no {key!r} key (keys found: "
                f"{sorted(item)}). Write each pair as {example}.",
                path=path,
                line=line,
            )
        if not isinstance(item[key], str):
            raise DataFormatError(
                f"{where}: {key!r} must be a JSON string but found a JSON "
                f"{_json_type(item[key])}: {json.dumps(item[key])[:_SNIPPET_CHARS]}. "
                "Write the value as a quoted string.",
                path=path,
                line=line,
            )
        place = f"position {{}} of the {key!r} value"
        _check_control(item[key], where, path, line, pattern=_CONTROL_IN_JSON_VALUE, place=place)
    return item["source"], item["target"]


def _check_sides(
    source: str, target: str, text: str, where: str, path: str, line: int, allow_empty_targets: bool
) -> tuple[str, str]:
    source, target = source.strip(), target.strip()
    if not source:
        raise DataFormatError(
            f"{where}: the source side is empty in {_snippet(text)}. Every pair needs a "
            f"source text: fill it in or delete the line, {_SKIP_HINT}.",
            path=path,
            line=line,
        )
    if not target and not allow_empty_targets:
        raise DataFormatError(
            f"{where}: the target side is empty in {_snippet(text)}. Fill it in or delete the "
            f"line, {_SKIP_HINT}; or, to teach the model to answer nothing for such a source "
            "(a refusal example), keep it with --allow-empty-targets "
            "(allow_empty_targets=True in Python).",
            path=path,
            line=line,
        )
    return source, target


def _parse_line(
    raw: bytes, line: int, path: str, encoding: str, allow_empty_targets: bool
) -> tuple[str, str] | None:
    """One line's pair, or None for a blank line; raises `DataFormatError` for a bad line."""
    where = f"{path}:{line}"
    text = _decode(raw.rstrip(b"\n").removesuffix(b"\r"), encoding, where, path, line)
    if line == 1:
        text = text.removeprefix(_BOM)
    # Before the blank-line test: str.strip() counts some control characters as spaces.
    _check_control(text, where, path, line)
    if not text.strip():
        return None
    parse = _parse_jsonl if _is_jsonl(path) else _parse_tsv
    source, target = parse(text, where, path, line)
    return _check_sides(source, target, text, where, path, line, allow_empty_targets)


def read_pairs(
    path: str | os.PathLike[str],
    *,
    skip_bad_lines: bool = False,
    encoding: str = "utf-8",
    allow_empty_targets: bool = False,
) -> list[tuple[str, str]]:
    """Reads `(source, target)` pairs from a TSV or JSONL file, optionally gzipped.

    The format comes from the file name: `.jsonl` (or `.jsonl.gz`) is read as JSON lines
    with string `"source"` and `"target"` keys (other keys are ignored); anything else as
    `source<TAB>target` lines. Gzip compression is detected from the content. Blank lines
    are skipped, a UTF-8 byte-order mark at the start is dropped, CRLF endings are accepted
    and both sides are stripped of leading/trailing whitespace. Control characters other
    than the separating tab (NUL, ESC, a carriage return inside a line ...) make a line bad.

    Args:
        path: str or path-like. The file to read.
        skip_bad_lines: bool. If `True`, malformed lines are skipped and reported in one
            `SkippedLinesWarning` (their count and first line numbers) instead of raising.
            Defaults to `False`.
        encoding: str. The text encoding; must be ASCII-compatible. Defaults to `"utf-8"`.
        allow_empty_targets: bool. If `True`, a pair whose target is empty (`source<TAB>`,
            or `"target": ""`) is kept as `(source, "")`: a refusal example, which teaches
            a model to answer nothing for such a source. Defaults to `False` (an error).

    Returns:
        A list of `(source, target)` string tuples, in file order.

    Raises:
        FileNotFoundError: If `path` does not exist.
        DataFormatError: If a line is malformed (no tab, more than one tab, an empty source,
            an empty target without `allow_empty_targets`, a control character, undecodable
            bytes, a JSONL line that is not an object with string `source` and `target`),
            unless `skip_bad_lines=True`; and always if the file holds no valid pair.
        ValueError: If `encoding` is unknown or not ASCII-compatible.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.tsv"
    >>> _ = path.write_text("hello\\tbonjour\\n\\nthank you\\tmerci\\n", encoding="utf-8")
    >>> read_pairs(path)
    [('hello', 'bonjour'), ('thank you', 'merci')]
    >>> _ = path.write_text("hello\\tbonjour\\nasdf\\t\\n", encoding="utf-8")
    >>> read_pairs(path, allow_empty_targets=True)
    [('hello', 'bonjour'), ('asdf', '')]
    """
    path = os.fspath(path)
    encoding = _check_encoding(encoding)
    pairs: list[tuple[str, str]] = []
    bad_lines: list[int] = []
    first_error: DataFormatError | None = None
    for line, raw in enumerate(_raw_lines(path), start=1):
        try:
            pair = _parse_line(raw, line, path, encoding, allow_empty_targets)
        except DataFormatError as error:
            if not skip_bad_lines:
                raise
            bad_lines.append(line)
            first_error = first_error or error
            continue
        if pair is not None:
            pairs.append(pair)
    if bad_lines:
        listed = ", ".join(str(n) for n in bad_lines[:_MAX_LISTED_LINES])
        more = ", ..." if len(bad_lines) > _MAX_LISTED_LINES else ""
        summary = (
            f"{path}: skipped {len(bad_lines)} malformed line(s) (lines {listed}{more}). "
            f"First problem: {first_error}"
        )
        if not pairs:
            raise DataFormatError(
                f"{path}: no valid pair left after skipping bad lines. {summary}", path=path
            )
        warnings.warn(SkippedLinesWarning(summary), stacklevel=2)
    elif not pairs:
        raise DataFormatError(
            f"{path}: the file holds no pairs (it is empty or only has blank lines). "
            "Write one 'source<TAB>target' pair per line.",
            path=path,
        )
    return pairs


def write_pairs(
    path: str | os.PathLike[str],
    pairs: Iterable[tuple[str, str]],
    *,
    allow_empty_targets: bool = False,
) -> None:
    """Writes `(source, target)` pairs as a UTF-8 `source<TAB>target` file.

    A path ending in `.gz` is gzip-compressed. Every pair is validated before anything is
    written, so a bad item leaves no partial file behind. The output reads back unchanged
    with `read_pairs` (sides are expected without leading/trailing whitespace).

    Args:
        path: str or path-like. The file to write (overwritten if present). Must not end
            in `.jsonl`.
        pairs: iterable of `(source, target)` string tuples.
        allow_empty_targets: bool. Write pairs with an empty target (refusal examples, as
            `source<TAB>`); read them back with `read_pairs(..., allow_empty_targets=True)`.
            Defaults to `False` (an error).

    Raises:
        TypeError: If an item is not a pair of strings (the message names its index).
        ValueError: If a source or target contains a tab, a line break or another control
            character, or is empty after stripping (an empty target is allowed with
            `allow_empty_targets`; the message names the item index), or if `path` ends
            in `.jsonl`.

    Example:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.tsv"
    >>> write_pairs(path, [("hello", "bonjour")])
    >>> path.read_text(encoding="utf-8")
    'hello\\tbonjour\\n'
    """
    path = os.fspath(path)
    if _is_jsonl(path):
        raise ValueError(
            f"write_pairs writes TSV files but `path` ends in .jsonl. Received: path={path!r}. "
            "Use a .tsv or .tsv.gz name."
        )
    lines = []
    for index, item in enumerate(pairs):
        if not (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and all(isinstance(side, str) for side in item)
        ):
            raise TypeError(
                f"Each item of `pairs` must be a (source, target) tuple of strings. "
                f"Received at index {index}: {item!r}"
            )
        _check_item(index, item, allow_empty_targets)
        lines.append(f"{item[0]}\t{item[1]}\n")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="\n") as stream:
        stream.writelines(lines)


def _check_item(index: int, item: tuple[str, str], allow_empty_targets: bool) -> None:
    for side, value in zip(("source", "target"), item, strict=True):
        for char, name in (("\t", "a tab"), ("\n", "a newline"), ("\r", "a carriage return")):
            if char in value:
                raise ValueError(
                    f"The {side} of pair {index} contains {name}, which would break the "
                    f"TSV layout. Received: {value!r}. Replace it with a space first."
                )
        control = _CONTROL.search(value)
        if control:
            raise ValueError(
                f"The {side} of pair {index} contains control character "
                f"{_control_name(control.group())}, which read_pairs would reject. "
                f"Received: {value!r}. Remove it first."
            )
        if not value.strip() and not (side == "target" and allow_empty_targets):
            allow = " (pass allow_empty_targets=True to write refusal examples)"
            raise ValueError(
                f"The {side} of pair {index} is empty; read_pairs would reject it. "
                f"Received: {item!r}{allow if side == 'target' else ''}"
            )
