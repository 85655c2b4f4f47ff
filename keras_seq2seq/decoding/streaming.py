"""Translating streams of any length in bounded memory: one output line per input line.

Lines are read `chunk_size` at a time; each chunk is translated (the translator batches it by
length, so batches hold inputs of similar length, and answers in the chunk's order) and written
before the next chunk is read. Memory is bounded by the chunk, not the file.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.errors import CountedWarning, RefusalWarning, TruncationWarning
from keras_seq2seq.progress import Counter, is_terminal
from keras_seq2seq.validation import check_int

DEFAULT_CHUNK_SIZE = 4096


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _one_line(text: str) -> str:
    # An output must never add a line: the n-th output line belongs to the n-th input.
    return " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text


def format_result(result: Any, n_best: int) -> list[str]:
    """The output lines of one input: its text, or `rank<TAB>score<TAB>text` per hypothesis.

    The score is the hypothesis' normalized score (`Hypothesis.normalized_score`, what
    `min_score` compares), with 4 decimals.

    Example:
    >>> format_result([Hypothesis("cba", -0.5, -0.25), Hypothesis("ab", -3.0, -2.0)],
    ...               n_best=2)  # doctest: +SKIP
    ['1\t-0.2500\tcba', '2\t-2.0000\tab']
    """
    if n_best == 1:
        return [_one_line(result)]
    return [
        f"{rank}\t{hypothesis.normalized_score:.4f}\t{_one_line(hypothesis.text)}"
        for rank, hypothesis in enumerate(result, start=1)
    ]


def translate_lines(
    translator: Any,
    lines: Iterable[str],
    options: DecodeOptions | None = None,
    *,
    batch_size: int = 256,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    counter: Counter | None = None,
) -> Iterator[str]:
    """Translates lines lazily, in input order, sorting each chunk by length for batching.

    Args:
        translator: a `Translator` or `RestTranslator` (anything with `translate(texts,
            options, batch_size=...)`).
        lines: iterable of str (without line ends).
        options: DecodeOptions or None (greedy).
        batch_size: int. Inputs decoded together. Defaults to `256`.
        chunk_size: int. Inputs held in memory at once. Defaults to `4096`.
        counter: optional `Counter` updated with the inputs done.

    Yields:
        str output lines: one per input, or `n_best` per input.

    Raises:
        TypeError, ValueError: invalid options or sizes.

    Example:
    >>> list(translate_lines(load("saved_models/dates"), ["3 mars 2021"]))  # doctest: +SKIP
    ['2021-03-03']
    """
    options = DecodeOptions.coerce(options)
    check_int("batch_size", batch_size)
    check_int("chunk_size", chunk_size)
    done = 0
    counts: dict[type, int] = {}
    for chunk in _chunks(lines, chunk_size):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CountedWarning)
            # `translate` batches by length itself and answers in the chunk's order.
            results = translator.translate(chunk, options, batch_size=batch_size)
        _tally(caught, counts)
        for result in results:
            yield from format_result(result, options.n_best)
        done += len(chunk)
        if counter is not None:
            counter.update(done)
    reason = getattr(translator, "refusal_reason", None)  # a RestTranslator has none
    why = reason(options) if reason else f"scored below min_score={options.min_score}"
    _warn_totals(counts, done, why)


def _tally(caught: list, counts: dict[type, int]) -> None:
    """Sums the counted warnings of a chunk; re-emits any other warning as it was."""
    for record in caught:
        if isinstance(record.message, CountedWarning):
            kind = type(record.message)
            counts[kind] = counts.get(kind, 0) + record.message.count
        else:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)


def _warn_totals(counts: dict[type, int], done: int, refusal_reason: str) -> None:
    """One warning per kind for the whole stream, instead of one per chunk."""
    texts = {
        TruncationWarning: "inputs were longer than the model's max_source_length and were "
        "truncated before translation",
        RefusalWarning: f"outputs {refusal_reason} and were refused (written as empty lines)",
    }
    for kind, count in counts.items():
        text = texts.get(kind, kind.__name__)
        warnings.warn(kind(f"{count:,} of {done:,} {text}.", count), stacklevel=3)


def _read_lines(stream: Any) -> Iterator[str]:
    for raw in stream:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


def count_lines(path: str | os.PathLike) -> int:
    """Lines in a file (a last line without a line end counts), read in 1 MiB blocks."""
    count, last = 0, b"\n"
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def translate_file(
    translator: Any,
    input_path: str | os.PathLike | None,
    output: str | os.PathLike | TextIO | None = None,
    options: DecodeOptions | None = None,
    *,
    batch_size: int = 256,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool | None = None,
) -> int:
    """Translates a file (or standard input) line by line into a file (or standard output).

    Invalid UTF-8 is replaced (U+FFFD), never a reason to stop; each output line is written as
    soon as its chunk is done.

    Args:
        translator: see `translate_lines`.
        input_path: path, or None / `"-"` for standard input.
        output: path, open text stream, or None / `"-"` for standard output.
        options: DecodeOptions or None.
        batch_size: int. Defaults to `256`.
        chunk_size: int. Defaults to `4096`.
        progress: bool or None. Show sentences/s and the time left on stderr; None: only
            when stderr is a terminal. Defaults to `None`.

    Returns:
        int, the number of input lines.

    Raises:
        FileNotFoundError: the input file does not exist.

    Example:
    >>> translate_file(load("saved_models/dates"), "dates.txt", "iso.txt")  # doctest: +SKIP
    1000
    """
    from_stdin = input_path in (None, "-")
    if not from_stdin and not Path(input_path).is_file():
        raise FileNotFoundError(f"--input {input_path}: no such file.")
    enabled = is_terminal(sys.stderr) if progress is None else progress
    total = None if from_stdin or not enabled else count_lines(input_path)
    counter = Counter(total, "sentences", "Translating", enabled=enabled)
    source = sys.stdin.buffer if from_stdin else open(input_path, "rb")  # noqa: SIM115
    sink, close_sink = _open_output(output)
    try:
        written = 0
        for line in translate_lines(
            translator, _read_lines(source), options,
            batch_size=batch_size, chunk_size=chunk_size, counter=counter,
        ):  # fmt: skip
            sink.write(line + "\n")
            if counter.done != written:  # a chunk is complete: let a reader see it
                written = counter.done
                sink.flush()
        sink.flush()
    finally:
        counter.close()
        if not from_stdin:
            source.close()
        if close_sink:
            sink.close()
    return counter.done


def _open_output(output: Any) -> tuple[TextIO, bool]:
    if output in (None, "-"):
        return sys.stdout, False
    if hasattr(output, "write"):
        return output, False
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8", newline="\n"), True
