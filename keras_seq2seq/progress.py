"""Progress on stderr: named stages with their time, and counters with speed and ETA.

On a terminal a counter rewrites one line in place; into a file or pipe it prints a line every
~10 % (every 30 s when the total is unknown), which keeps logs readable. Disabled, both print
nothing.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from keras_seq2seq.quiet import stderr_is_terminal

LOG_INTERVAL_SECONDS = 30.0
"""Into a file, a counter of unknown total prints at most this often."""


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (`sys.stderr`: as it was before any log filter).

    Args:
        stream: text stream.

    Returns:
        bool.

    Example:
    >>> import io
    >>> is_terminal(io.StringIO())
    False
    """
    if stream is sys.stderr:
        return stderr_is_terminal()
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """Reports the stages of a job (`with progress.stage("Learning ..."): ...`).

    Args:
        enabled: bool. Print anything at all. Defaults to `True`.
        stream: text stream. Defaults to `sys.stderr`.

    Example:
    >>> with Progress(enabled=False).stage("Tokenizing"):
    ...     pass
    """

    def __init__(self, enabled: bool = True, stream: TextIO | None = None):
        self.enabled = enabled
        self.stream = stream or sys.stderr

    @contextlib.contextmanager
    def stage(self, text: str) -> Iterator[None]:
        """Prints `text …` and, when the block ends, how long it took."""
        if not self.enabled:
            yield
            return
        print(f"{text}…", file=self.stream, flush=True)
        started = time.perf_counter()
        yield
        print(f"  done in {_seconds(time.perf_counter() - started)}", file=self.stream, flush=True)

    def note(self, text: str) -> None:
        """Prints one line of information (nothing when disabled)."""
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def counter(self, total: int | None, unit: str, label: str) -> Counter:
        """A counter of `total` items (None when unknown) printed as `label`."""
        return Counter(total, unit, label, enabled=self.enabled, stream=self.stream)


class Counter:
    """Items done, items/s and the time left, on one line.

    Args:
        total: int or None. Items in all (None: unknown, no ETA).
        unit: str. What an item is ("sentences").
        label: str. What is being done ("Decoding").
        enabled: bool. Defaults to `True`.
        stream: text stream. Defaults to `sys.stderr`.

    Example:
    >>> counter = Counter(100, "sentences", "Decoding", enabled=False)
    >>> counter.update(50)
    """

    def __init__(
        self,
        total: int | None,
        unit: str,
        label: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
    ):
        self.total, self.unit, self.label = total, unit, label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = enabled and is_terminal(self.stream)
        self.started = time.perf_counter()
        self.next_report = 0.1
        self.last_print = self.started
        self.done = 0

    def line(self) -> str:
        seconds = time.perf_counter() - self.started
        rate = self.done / seconds if seconds > 0 else 0.0
        count = f"{self.done:,}" if self.total is None else f"{self.done:,}/{self.total:,}"
        text = f"{self.label}: {count} {self.unit} ({rate:,.1f} {self.unit}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", {_seconds((self.total - self.done) / rate)} left"
        return text + ")"

    def update(self, done: int) -> None:
        """Sets the number of items done and prints when due."""
        self.done = done
        if not self.enabled:
            return
        if self.tty:
            end = "\n" if self.total is not None and done >= self.total else ""
            print(f"\r\033[K{self.line()}", end=end, file=self.stream, flush=True)
            return
        now = time.perf_counter()
        if self.total is None:
            due = now - self.last_print >= LOG_INTERVAL_SECONDS
        else:
            due = done / self.total >= self.next_report or done >= self.total
            if due:
                self.next_report = math.floor(10 * done / self.total) / 10 + 0.1
        if due:
            self.last_print = now
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        """Ends the line on a terminal (for a total that was unknown or not reached)."""
        if self.tty and (self.total is None or self.done < self.total):
            print(file=self.stream, flush=True)
