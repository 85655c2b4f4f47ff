"""Names of the modes that the library and its command line share, in a module without TensorFlow.

The command line offers these as choices without importing TensorFlow (so `--help` stays
fast); the modules that act on them (`training.distribute`, `training.distill`,
`serving.quantize`) import them from here, so each list exists once.

Example:
>>> "int8" in QUANTIZE_MODES
True
"""

from __future__ import annotations

STRATEGY_NAMES = ("default", "mirrored", "multi-worker")
"""`tf.distribute` strategies by name: one device, every local GPU, every TF_CONFIG worker."""

DISTILL_MODES = ("sequence", "token", "both")
"""Distillation: on the teacher's outputs, on its per-step distributions, or both."""

QUANTIZE_MODES = ("int8",)
"""Weight quantizations an export can apply."""
