"""Tests for keras_seq2seq.quiet: TensorFlow's log lines dropped, everything else kept."""

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
