"""Errors the command line reports as one `error:` line, and counted warnings.

No heavy imports here: the command line imports this module before TensorFlow.
"""

from __future__ import annotations


class RunDirectoryBusyError(RuntimeError):
    """Another live process is training into the run directory."""


class CountedWarning(UserWarning):
    """A warning about `count` items of a batch (summed when many batches are translated).

    Args:
        message: str.
        count: int. Items the warning is about. Defaults to `0`.
    """

    def __init__(self, message: str, count: int = 0):
        super().__init__(message)
        self.count = count


class TruncationWarning(CountedWarning):
    """Some sequences were longer than the configured maximum and were cut."""


class RefusalWarning(CountedWarning):
    """Some outputs scored below `min_score` or failed the model's output check (its
    `output_pattern` or `output_check`) and were left empty."""
