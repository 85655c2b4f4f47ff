"""keras-seq2seq: sequence-to-sequence learning on Keras 3 / TensorFlow.

The public API is at the top level and loaded on first use, so `import keras_seq2seq` imports
no TensorFlow; the first name that needs it (`train`, `load`, …) imports it.

TensorFlow's own C++ log lines (`E0000 … failed call to cuInit`, oneDNN notices, `cudart_stub`
lines) are dropped: when TensorFlow is not imported yet and `TF_CPP_MIN_LOG_LEVEL` is not set,
importing this package sets it to `"3"`, and the first TensorFlow import through a top-level
name filters the few lines TensorFlow writes whatever the level (see `keras_seq2seq.quiet`).
To see them all, set `TF_CPP_MIN_LOG_LEVEL=0` before importing TensorFlow or this package, or
import TensorFlow first.

Example:
>>> import keras_seq2seq as ks
>>> ks.load("saved_models/dates").translate("March 3, 2021")  # doctest: +SKIP
'2021-03-03'
>>> pairs = ks.read_pairs("pairs.tsv")  # doctest: +SKIP
>>> result = ks.train(pairs, "runs/mine", train_config=ks.TrainConfig(epochs=5))  # doctest: +SKIP
>>> ks.export_model(result.run_dir, "saved_models/mine")  # doctest: +SKIP
PosixPath('saved_models/mine/1')
"""

from __future__ import annotations

import importlib
from typing import Any

from keras_seq2seq.quiet import filtered_stderr, quiet_tensorflow_by_default

__version__ = "0.1.0"

quiet_tensorflow_by_default()  # before any TensorFlow import (a setting: no import here)

_EXPORTS = {
    "train": "keras_seq2seq.training.fit",
    "distill": "keras_seq2seq.training.distill",
    "load": "keras_seq2seq.decoding.translator",
    "Translator": "keras_seq2seq.decoding.translator",
    "DecodeOptions": "keras_seq2seq.decoding.options",
    "ModelConfig": "keras_seq2seq.config",
    "TextConfig": "keras_seq2seq.config",
    "TrainConfig": "keras_seq2seq.config",
    "read_pairs": "keras_seq2seq.data.readers",
    "load_dataset": "keras_seq2seq.data.datasets",
    "evaluate": "keras_seq2seq.evaluation.evaluate",
    "export_model": "keras_seq2seq.serving.export",
    "score_pairs": "keras_seq2seq.evaluation.scoring",
    "average_checkpoints": "keras_seq2seq.training.averaging",
}
"""Each public name and the module that defines it (imported when the name is first used)."""

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Imports the module behind a public name on first use (PEP 562).

    Args:
        name: str. An attribute of the package.

    Returns:
        The object, cached in the package so the next use is a plain lookup.

    Raises:
        AttributeError: `name` is not part of the public API.

    Example:
    >>> import keras_seq2seq as ks
    >>> ks.DecodeOptions(beam_width=4).search  # doctest: +SKIP
    'beam'
    """
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with filtered_stderr():
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (`__all__`), imported or not."""
    return sorted(__all__)
