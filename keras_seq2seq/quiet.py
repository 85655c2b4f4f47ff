"""Quiet TensorFlow: its C++ and Python log lines stay out of the command line's output.

TensorFlow, XLA and SentencePiece write their own log lines straight to file descriptor 2 from
C++ (`I0000 00:00:… cuda_platform.cc:52] failed call to cuInit …` on a machine without a GPU,
`oneDNN custom operations are on …`, `WARNING: All log messages before absl::InitializeLog()
…`), some of them whatever `TF_CPP_MIN_LOG_LEVEL` says. `silence_tensorflow()`, called before
TensorFlow is imported, sets the log levels and routes descriptor 2 through a filter that
drops exactly those lines; everything else (tracebacks, Python warnings, our own messages)
passes through unchanged and in order. `keras-seq2seq --verbose` skips it.

Library users get a lighter default: `import keras_seq2seq` sets `TF_CPP_MIN_LOG_LEVEL` to
`LOG_LEVEL` when TensorFlow is not imported yet and the variable is not set
(`quiet_tensorflow_by_default`), and the first TensorFlow import through the top-level API
(`keras_seq2seq.train`, …) drops the lines TensorFlow writes whatever the level
(`filtered_stderr`). Set `TF_CPP_MIN_LOG_LEVEL=0` before importing TensorFlow (or
keras_seq2seq) to see every line.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator

NOISE = re.compile(
    rb"^(?:"
    rb"[IWE]\d{4} \d\d:\d\d:[\d.]+\s+\d+ [\w./-]+:\d+\] "  # absl / TSL C++ log lines
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:[\d.]+: [IW] [\w./-]+:\d+\] "  # TF's own C++ log lines
    rb"|[\w]+\.cc\(\d+\) LOG\((?:INFO|WARNING)\) "  # SentencePiece
    rb"|To enable the following instructions: .* rebuild TensorFlow"
    rb"|oneDNN custom operations are on"
    rb")"
)
"""Lines of TensorFlow's (and SentencePiece's) own logging; fatal ones (`F…`) are kept."""

LOG_LEVEL = "3"
"""`TF_CPP_MIN_LOG_LEVEL` set for the user: errors too (`E0000 … failed call to cuInit`)."""

_NOISE_START = re.compile(rb"\w")
"""How every `NOISE` line starts."""

_installed: list[object] = []
_stderr_was_terminal: list[bool] = []
_level_set_here: list[str] = []
_filter_lock = threading.Lock()  # one temporary filter at a time (threads)


def is_noise(line: bytes) -> bool:
    """Whether a stderr line is TensorFlow log noise (see `NOISE`).

    Example:
    >>> is_noise(b"E0000 00:00:1796168845.090367    2655 cuda_platform.cc:52] failed call")
    True
    >>> is_noise(b"keras-seq2seq translate: error: no such file")
    False
    """
    return NOISE.match(line) is not None


def _filter_chunk(pending: bytes, chunk: bytes, passing: bool) -> tuple[bytes, bytes, bool]:
    """Splits what came through the pipe into what to write now and what to hold back.

    Whole lines are judged by `is_noise`. An unfinished line is held until its end, unless
    it cannot be noise (every `NOISE` line starts with a word character; a progress line
    rewritten in place starts with a carriage return): then it passes at once, and so does
    the rest of that line (`passing`).

    Args:
        pending: bytes held back from the previous chunk.
        chunk: bytes just read.
        passing: bool. Whether the unfinished line was already passed on.

    Returns:
        (bytes to write, bytes to hold back, whether the held line is passing).

    Example:
    >>> _filter_chunk(b"", b"I0000 00:00:1.0 1 x.cc:1] log\\nkept\\n\\r50 %", False)
    (b'kept\\n\\r50 %', b'', True)
    """
    *lines, rest = (pending + chunk).split(b"\n")
    kept = []
    for line in lines:
        if passing or not is_noise(line):
            kept.append(line + b"\n")
        passing = False
    if rest and (passing or _NOISE_START.match(rest) is None):
        kept.append(rest)
        rest, passing = b"", True
    return b"".join(kept), rest, passing


def _pump(read_fd: int, write_fd: int) -> None:
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        pending, passing = b"", False
        while chunk := pipe.read(65536):
            kept, pending, passing = _filter_chunk(pending, chunk, passing)
            if kept:
                os.write(write_fd, kept)
        if pending and not is_noise(pending):
            os.write(write_fd, pending)


def stderr_is_terminal() -> bool:
    """Whether `sys.stderr` is a terminal, also after `silence_tensorflow` took descriptor 2.

    The filter replaces descriptor 2 with a pipe, so `sys.stderr.isatty()` is then always
    false; what the descriptor was before is what counts (a progress line rewritten in
    place only makes sense on a terminal).

    Returns:
        bool.

    Example:
    >>> stderr_is_terminal() in (True, False)
    True
    """
    try:
        if _installed and _stderr_was_terminal and sys.stderr.fileno() == 2:
            return _stderr_was_terminal[0]
        return sys.stderr.isatty()
    except (AttributeError, OSError, ValueError):  # replaced by an object without a descriptor
        return False


def silence_tensorflow() -> None:
    """Drops TensorFlow's log lines from stderr for the rest of the process.

    Call it before importing TensorFlow. Idempotent. Our own messages, Python warnings,
    tracebacks and TensorFlow's fatal errors still show.

    Example:
    >>> silence_tensorflow()  # doctest: +SKIP
    """
    if _installed:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", LOG_LEVEL)
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    try:
        _stderr_was_terminal[:] = [os.isatty(2)]  # decided before the filter takes it
    except OSError:
        _stderr_was_terminal[:] = [False]
    filtered = _filter_stderr()
    if filtered is None:
        return  # no file descriptor 2 to filter (an embedded interpreter): levels only
    _installed.append(filtered[0])
    atexit.register(_unfilter_stderr, *filtered)


def _filter_stderr() -> tuple[threading.Thread, int] | None:
    """Routes descriptor 2 through `_pump`; returns the pump and the real stderr (or None)."""
    try:
        sys.stderr.flush()
        real_stderr = os.dup(2)
    except OSError:
        return None
    try:
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
    except OSError:
        os.close(real_stderr)
        return None
    thread = threading.Thread(target=_pump, args=(read_fd, real_stderr), daemon=True)
    thread.start()
    return thread, real_stderr


def _unfilter_stderr(thread: threading.Thread, real_stderr: int) -> None:
    # Put the real stderr back (which closes the pipe's last writer), then let the filter
    # write out what is still in the pipe.
    sys.stderr.flush()
    os.dup2(real_stderr, 2)
    thread.join(timeout=5)


def quiet_tensorflow_by_default() -> bool:
    """Sets `TF_CPP_MIN_LOG_LEVEL` to `LOG_LEVEL` unless the user chose a level.

    `import keras_seq2seq` calls it. It does nothing when TensorFlow is already imported
    (the user's own import decided) or when `TF_CPP_MIN_LOG_LEVEL` is set (`0` shows every
    line). Setting the variable before TensorFlow's import is what makes TensorFlow's
    C++ code drop its info, warning and error lines (`E0000 … failed call to cuInit`,
    oneDNN notices); TensorFlow reads it once, when it is imported.

    Returns:
        bool. Whether it set the variable.

    Example:
    >>> import os
    >>> import keras_seq2seq  # calls it
    >>> os.environ.get("TF_CPP_MIN_LOG_LEVEL")  # doctest: +SKIP
    '3'
    """
    if "tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return False
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = LOG_LEVEL
    _level_set_here.append(LOG_LEVEL)
    return True


def show_tensorflow_logs() -> None:
    """Undoes `quiet_tensorflow_by_default` (for `--verbose`), before TensorFlow is imported.

    A level the user set is left alone, and so is one already read by TensorFlow.

    Example:
    >>> show_tensorflow_logs()  # doctest: +SKIP
    """
    if _level_set_here and "tensorflow" not in sys.modules:
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == _level_set_here[-1]:
            del os.environ["TF_CPP_MIN_LOG_LEVEL"]
        _level_set_here.clear()


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Drops TensorFlow's log lines from descriptor 2 while a first TensorFlow import runs.

    Some lines come whatever `TF_CPP_MIN_LOG_LEVEL` says (`WARNING: All log messages before
    absl::InitializeLog() …`, `cudart_stub.cc … Could not find cuda drivers`), all of them
    while TensorFlow is imported. The filter is on only when it can matter and the user
    did not ask for the lines: TensorFlow not imported yet, the level set by
    `quiet_tensorflow_by_default` and `silence_tensorflow` not on. Everything else written
    in the block passes through, in order.

    Example:
    >>> with filtered_stderr():
    ...     import keras_seq2seq.training.fit  # doctest: +SKIP
    """
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    wanted = (
        "tensorflow" not in sys.modules
        and not _installed
        and bool(_level_set_here)
        and level == _level_set_here[-1]
        and _filter_lock.acquire(blocking=False)  # another thread's filter is on: no second
    )
    filtered = _filter_stderr() if wanted else None
    try:
        yield
    finally:
        if filtered is not None:
            thread, real_stderr = filtered
            _unfilter_stderr(thread, real_stderr)
            if not thread.is_alive():
                os.close(real_stderr)
        if wanted:
            _filter_lock.release()
