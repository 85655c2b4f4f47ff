"""Tests for keras_seq2seq.quiet: TensorFlow's log lines dropped, everything else kept."""

import os
import subprocess
import sys

import pytest

from keras_seq2seq.quiet import is_noise


@pytest.mark.parametrize(
    "line",
    [
        b"E0000 00:00:1796168845.090367    2655 cuda_platform.cc:52] failed call to cuInit: "
        b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
        b"I0000 00:00:1796168836.827607    2655 cudart_stub.cc:31] Could not find cuda drivers",
        b"W0000 00:00:1796168836.8 2655 op_level_cost_estimator.cc:699] Error in cost model",
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        b"2026-12-01 23:47:22.123456: I tensorflow/core/util/port.cc:153] oneDNN custom ops",
        b"normalizer.cc(51) LOG(INFO) precompiled_charsmap is empty. use identity normalization.",
    ],
)
def test_tensorflow_log_lines_are_noise(line):
    assert is_noise(line)


@pytest.mark.parametrize(
    "line",
    [
        b"keras-seq2seq train: error: pairs.tsv:3: expected 2 columns",
        b"Traceback (most recent call last):",
        b"UserWarning: 3 of 10 inputs had more than max_source_length=64 tokens",
        b"F0000 00:00:1796168845.090367    2655 check.cc:1] Check failed: fatal errors stay",
    ],
)
def test_everything_else_is_kept(line):
    assert not is_noise(line)


SCRIPT = r"""
import os, sys, warnings
from keras_seq2seq.quiet import silence_tensorflow
silence_tensorflow()
os.write(2, b"I0000 00:00:1.0 1 x.cc:1] dropped\nkept from C\n")
print("kept from Python", file=sys.stderr)
warnings.warn("kept warning")
os.write(2, b"W0000 00:00:1.0 1 y.cc:2] dropped too\nlast line without end")
"""


def test_filter_keeps_order_and_flushes_at_exit():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert "dropped" not in err
    assert err.index("kept from C") < err.index("kept from Python") < err.index("kept warning")
    assert err.endswith("last line without end")


FIRST_IMPORT = r"""
import os, sys
from keras_seq2seq import quiet
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"), flush=True)
with quiet.filtered_stderr():
    os.write(2, b"I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers\n")
    print("kept in the block", file=sys.stderr, flush=True)
os.write(2, b"I0000 00:00:2.0 1 x.cc:1] after the block\n")
quiet.show_tensorflow_logs()
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"))
"""


@pytest.mark.parametrize(
    ("level", "expected_levels", "dropped"),
    [
        (None, ["3", "None"], True),  # the package set the level: filtered, and undone
        ("0", ["0", "0"], False),  # the user asked for the lines: nothing touched
    ],
)
def test_first_import_filter_and_default_level(level, expected_levels, dropped):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    done = subprocess.run(
        [sys.executable, "-c", FIRST_IMPORT], capture_output=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().split() == expected_levels
    err = done.stderr.decode()
    assert ("cudart_stub" in err) is not dropped
    assert "kept in the block" in err
    assert err.endswith("after the block\n")  # only the block is filtered


def test_an_unfinished_line_that_cannot_be_noise_passes_at_once():
    from keras_seq2seq.quiet import _filter_chunk

    # A progress line rewritten in place (no newline yet) shows now; its end follows it.
    assert _filter_chunk(b"", b"\r\x1b[KTranslating: 1/2", False) == (
        b"\r\x1b[KTranslating: 1/2",
        b"",
        True,
    )
    assert _filter_chunk(
        b"", b"\r\x1b[KTranslating: 2/2\nI0000 00:00:1.0 1 x.cc:1] log\n", True
    ) == (
        b"\r\x1b[KTranslating: 2/2\n",
        b"",
        False,
    )
    # What could still become a log line waits for its end, and is then judged whole.
    assert _filter_chunk(b"", b"kept\nI0000 00:00:1.0 1 x", False) == (
        b"kept\n",
        b"I0000 00:00:1.0 1 x",
        False,
    )
    assert _filter_chunk(b"I0000 00:00:1.0 1 x", b".cc:1] log\nW", False) == (b"", b"W", False)
    assert _filter_chunk(b"W", b"arning: kept\n", False) == (b"Warning: kept\n", b"", False)


TERMINAL = r"""
import os, sys
from keras_seq2seq.quiet import silence_tensorflow, stderr_is_terminal
before = stderr_is_terminal()
silence_tensorflow()
print(before, sys.stderr.isatty(), stderr_is_terminal(), flush=True)
"""


def test_stderr_is_terminal_sees_through_the_filter():
    import pty

    master, slave = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-c", TERMINAL], stdout=subprocess.PIPE, stderr=slave, timeout=60
        )
    finally:
        os.close(slave)
        os.close(master)
    # On a terminal: descriptor 2 is a pipe once filtered, but stderr still counts as a terminal.
    assert done.stdout.decode().split() == ["True", "False", "True"]
    piped = subprocess.run([sys.executable, "-c", TERMINAL], capture_output=True, timeout=60)
    assert piped.stdout.decode().split() == ["False", "False", "False"]
