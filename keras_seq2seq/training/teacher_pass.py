"""Sequence-level distillation's teacher pass: beam-decode the training sources once, cached.

The outputs go to `RUN_DIR/distill/teacher_outputs.tsv` (`source<TAB>output` lines, in the
order of the unique sources), appended a chunk at a time. After each chunk is on disk,
`teacher_outputs.json` records how many lines and bytes are complete (written atomically),
so a run killed mid-chunk resumes after the last complete chunk, and a finished pass is read
back instead of decoded again. The record also holds what the outputs depend on (the
teachers, the sources, the beam width): a cache made for anything else is an error, never
silently reused or overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from keras_seq2seq.atomic_write import write_json
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.ordering import length_order
from keras_seq2seq.decoding.translator import Translator
from keras_seq2seq.progress import Counter, Progress
from keras_seq2seq.run_layout import TEACHER_OUTPUTS_FILE, TEACHER_STATE_FILE

DEFAULT_CHUNK_SIZE = 4096
"""Sources decoded between two records of the pass's progress."""

_NOT_TSV = ("\t", "\n", "\r")
"""Characters a TSV field cannot hold."""


class TeacherPass(NamedTuple):
    """What `run_teacher_pass` returns.

    Attributes:
        outputs: list of str. The teacher's best output for each source ("" where the
            teacher refused it or gave nothing).
        refused: int. Sources whose output is empty.
        seconds: float. Decoding time, over every run that worked on this pass.
        reused: int. Sources whose output was read back from the cache.
        path: Path. The cached outputs (`teacher_outputs.tsv`).
    """

    outputs: list[str]
    refused: int
    seconds: float
    reused: int
    path: Path


def sources_sha256(sources: Sequence[str]) -> str:
    """SHA-256 of the sources, one per line, in hex.

    Example:
    >>> sources_sha256(["a"])[:12]
    '87428fc52280'
    """
    digest = hashlib.sha256()
    for source in sources:
        digest.update(f"{source}\n".encode())
    return digest.hexdigest()


def check_sources(sources: Sequence[str]) -> None:
    """Checks that every source fits in one TSV field (no tab, no line break).

    Raises:
        ValueError: the first source that does not, with its position.

    Example:
    >>> check_sources(["a b", "c"])
    """
    for index, source in enumerate(sources):
        if any(char in source for char in _NOT_TSV):
            raise ValueError(
                f"Training source {index} ({source[:40]!r}) holds a tab or a line break, which "
                "the teacher outputs' TSV cache cannot store: remove them from the sources."
            )


def run_teacher_pass(
    translator: Translator,
    sources: Sequence[str],
    cache_dir: str | Path,
    key: dict[str, Any],
    *,
    beam_width: int = 4,
    batch_size: int = 256,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    report: Progress | None = None,
) -> TeacherPass:
    """Decodes `sources` with the teacher (beam search), or reads back what a run did.

    Args:
        translator: Translator. The teacher (one model or an ensemble).
        sources: sequence of str. Unique sources, without tabs or line breaks.
        cache_dir: str or Path. Where the outputs and the record go (created if needed).
        key: dict. What the outputs depend on besides the sources (teachers, settings);
            a cache made with another key is refused.
        beam_width: int. Beam width of the teacher's search. Defaults to `4`.
        batch_size: int. Sources decoded together. Defaults to `256`.
        chunk_size: int. Sources decoded between two records of progress. Defaults to
            `4096`.
        report: Progress or None. Where the stage and the counter go. Defaults to a
            `Progress()` on stderr.

    Returns:
        TeacherPass.

    Raises:
        ValueError: the cache was made for other teachers, sources or settings, or it is
            damaged (its record names more than the file holds).

    Example:
    >>> result = run_teacher_pass(load("runs/teacher"), ["abc"], "runs/student/distill",
    ...                           {"teachers": ["runs/teacher"]})  # doctest: +SKIP
    >>> result.outputs  # doctest: +SKIP
    ['cba']
    """
    report = report or Progress()
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    full_key = {**key, "beam_width": beam_width, "sources": len(sources),
                "sources_sha256": sources_sha256(sources)}  # fmt: skip
    outputs, seconds = _resume(cache_dir, full_key, sources)
    reused = len(outputs)
    path = cache_dir / TEACHER_OUTPUTS_FILE
    if reused < len(sources):
        options = DecodeOptions(beam_width=beam_width)
        text = f"Teacher pass: decoding {len(sources):,} training sources, beam width {beam_width}"
        if reused:
            text += f" (resuming after {reused:,} in {path})"
        with report.stage(text):
            counter = report.counter(len(sources), "sentences", "Teacher pass")
            counter.update(reused)
            seconds = _decode_chunks(
                translator, sources, outputs, (cache_dir, full_key, seconds),
                options, batch_size, chunk_size, counter,
            )  # fmt: skip
            counter.close()
    elif report.enabled:
        print(f"Teacher pass: reusing the {reused:,} outputs in {path}", file=report.stream)
    refused = sum(1 for output in outputs if not output)
    return TeacherPass(outputs, refused, seconds, reused, path)


def _decode_chunks(
    translator, sources, outputs, cache, options, batch_size, chunk_size, counter: Counter
) -> float:
    """Decodes the sources after `outputs`, appending each chunk to the cache; the seconds."""
    cache_dir, key, seconds = cache
    with open(cache_dir / TEACHER_OUTPUTS_FILE, "ab") as handle:
        for begin in range(len(outputs), len(sources), chunk_size):
            started = time.perf_counter()
            chunk = list(sources[begin : begin + chunk_size])
            decoded = _decode_chunk(translator, chunk, options, batch_size, counter, begin)
            lines = "".join(
                f"{source}\t{output}\n" for source, output in zip(chunk, decoded, strict=True)
            )
            handle.write(lines.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
            outputs.extend(decoded)
            seconds += time.perf_counter() - started
            state = {
                "key": key,
                "lines": len(outputs),
                "bytes": handle.tell(),
                "seconds": round(seconds, 3),
                "complete": len(outputs) == len(sources),
            }
            write_json(cache_dir / TEACHER_STATE_FILE, state)
    return seconds


def _decode_chunk(
    translator: Translator,
    chunk: list[str],
    options: DecodeOptions,
    batch_size: int,
    counter: Counter,
    done: int,
) -> list[str]:
    """The best output of each source of `chunk` ("" where refused), in batches by length."""
    order = length_order(chunk)
    results = [""] * len(chunk)
    for begin in range(0, len(order), batch_size):
        rows = order[begin : begin + batch_size]
        (batch,) = translator.decode(
            [chunk[i] for i in rows], options, batch_size=len(rows), with_attention=False
        )
        for row, text, accepted in zip(
            rows, batch.outputs[:, 0], batch.accepted[:, 0], strict=True
        ):
            output = text.decode("utf-8") if accepted else ""
            # An output that cannot be one TSV field is dropped like a refused one.
            results[row] = "" if any(char in output for char in _NOT_TSV) else output
        counter.update(done + begin + len(rows))
    return results


def _resume(cache_dir: Path, key: dict[str, Any], sources: Sequence[str]) -> tuple[list, float]:
    """The outputs of the complete chunks in the cache, and their decoding seconds."""
    state_path, path = cache_dir / TEACHER_STATE_FILE, cache_dir / TEACHER_OUTPUTS_FILE
    if not state_path.is_file():
        path.unlink(missing_ok=True)  # a first chunk that never completed
        return [], 0.0
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        lines, size = int(state["lines"]), int(state["bytes"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{state_path} is damaged ({error}). {_start_over(cache_dir)}") from None
    if state.get("key") != key:
        raise ValueError(
            f"{cache_dir} holds the teacher outputs of another distillation (differing in "
            f"{_differences(state.get('key'), key)}). {_start_over(cache_dir)}"
        )
    if not path.is_file() or path.stat().st_size < size:
        raise ValueError(f"{path} is shorter than {state_path} records. {_start_over(cache_dir)}")
    with open(path, "r+b") as handle:
        handle.truncate(size)  # drop the part of a chunk that never completed
    rows = path.read_text(encoding="utf-8").splitlines()
    pairs = [row.split("\t") for row in rows]
    if len(pairs) != lines or any(
        len(pair) != 2 or pair[0] != source for pair, source in zip(pairs, sources, strict=False)
    ):
        raise ValueError(f"{path} does not match {state_path}. {_start_over(cache_dir)}")
    return [output for _, output in pairs], float(state.get("seconds", 0.0))


def _differences(old: Any, new: dict[str, Any]) -> str:
    if not isinstance(old, dict):
        return "everything"
    names = sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
    return ", ".join(names) or "nothing"


def _start_over(cache_dir: Path) -> str:
    return (
        f"Distil into another output directory, or delete {cache_dir.parent} to start the "
        "student and the teacher pass over."
    )
