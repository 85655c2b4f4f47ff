"""Quiet TensorFlow: its C++ and Python log lines stay out of the command line's output.

TensorFlow, XLA and SentencePiece write their own log lines straight to file descriptor 2 from
C++ (`I0000 00:00:… cuda_platform.cc:52] failed call to cuInit …` on a machine without a GPU,
`oneDNN custom operations are on …`, `WARNING: All log messages before absl::InitializeLog()
…`), some of them whatever `TF_CPP_MIN_LOG_LEVEL` says. `silence_tensorflow()`, called before
TensorFlow is imported, sets the log levels and routes descriptor 2 through a filter that
drops exactly those lines; everything else (tracebacks, Python warnings, our own messages)
passes through unchanged and in order. `keras-seq2seq --verbose` skips it.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading

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

_installed: list[object] = []


def is_noise(line: bytes) -> bool:
    """Whether a stderr line is TensorFlow log noise (see `NOISE`).

    Example:
    >>> is_noise(b"E0000 00:00:1796168845.090367    2655 cuda_platform.cc:52] failed call")
    True
    >>> is_noise(b"keras-seq2seq translate: error: no such file")
    False
    """
    return NOISE.match(line) is not None


def _pump(read_fd: int, write_fd: int) -> None:
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_noise(line))
            if kept:
                os.write(write_fd, kept)
        if pending and not is_noise(pending):
            os.write(write_fd, pending)


def silence_tensorflow() -> None:
    """Drops TensorFlow's log lines from stderr for the rest of the process.

    Call it before importing TensorFlow. Idempotent. Our own messages, Python warnings,
    tracebacks and TensorFlow's fatal errors still show.

    Example:
    >>> silence_tensorflow()  # doctest: +SKIP
    """
    if _installed:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    try:
        sys.stderr.flush()
        real_stderr = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
    except OSError:
        return  # no file descriptor 2 to filter (an embedded interpreter): levels only
    thread = threading.Thread(target=_pump, args=(read_fd, real_stderr), daemon=True)
    thread.start()
    _installed.append(thread)

    def restore() -> None:
        # Put the real stderr back (which closes the pipe's last writer), then let the filter
        # write out what is still in the pipe.
        sys.stderr.flush()
        os.dup2(real_stderr, 2)
        thread.join(timeout=5)

    atexit.register(restore)
