"""Errors that the command line reports as one `error:` line (no heavy imports here)."""

from __future__ import annotations


class RunDirectoryBusyError(RuntimeError):
    """Another live process is training into the run directory."""
