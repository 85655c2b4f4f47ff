"""Loads exported models the way TF Serving does and calls every signature.

    make serving-check                      # builds .venv-serving (TF 2.20 + TF-Text 2.20) once
    .venv-serving/bin/python tools/serving_check.py saved_models/dates [MORE_BASE_PATHS ...]

TF Serving 2.20 links TensorFlow 2.20 and TF-Text 2.20, not the versions the package trains
with. This script imports nothing but TensorFlow and tensorflow_text (the custom ops a served
graph needs), so it runs in an environment of exactly those versions. For each base path it
loads the newest numeric version directory, calls every signature with a few inputs built from
the signature's own input specs (strings, and the default of each scalar), and prints one row a
signature. It exits with status 1 if any model fails to load or any signature fails to run or
returns something other than its declared outputs, and with status 2 on a bad argument.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf
import tensorflow_text  # registers the TF-Text ops a served graph uses

TEXTS = ("March 3, 2021", "hello", "the 45th of Smarch")
"""Inputs given to every string input (a target input gets the same texts)."""

SCALAR_DEFAULTS = {"beam_width": 4, "n_best": 2}
"""Values for scalar int inputs, by name; any other scalar int gets 1."""


def newest_version(base: Path) -> Path:
    """The version directory TF Serving would serve: the largest number holding saved_model.pb.

    Raises:
        FileNotFoundError: `base` is not a directory, or holds no numeric version directory
            with a saved_model.pb.
    """
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: no such directory; give an exported model's base path.")
    if (base / "saved_model.pb").is_file():
        return base
    versions = [p for p in base.iterdir() if p.name.isdigit() and (p / "saved_model.pb").is_file()]
    if not versions:
        raise FileNotFoundError(
            f"{base}: no version directory (a number holding saved_model.pb); give the base path "
            "a model was exported to, e.g. saved_models/dates."
        )
    return max(versions, key=lambda p: int(p.name))


def example_inputs(specs: dict[str, tf.TensorSpec]) -> dict[str, tf.Tensor]:
    """Inputs for one signature: TEXTS for each string vector, defaults for scalars."""
    inputs = {}
    for name, spec in specs.items():
        if spec.dtype == tf.string:
            inputs[name] = tf.constant(TEXTS)
        elif spec.shape.rank == 0 and spec.dtype.is_integer:
            inputs[name] = tf.constant(SCALAR_DEFAULTS.get(name, 1), spec.dtype)
        else:
            raise TypeError(f"input {name!r} has a spec this check can't fill: {spec}")
    return inputs


def check_model(base: Path) -> list[tuple[str, str, str, str]]:
    """Loads the newest version under `base` and calls each signature; returns table rows."""
    version = newest_version(base)
    started = time.perf_counter()
    loaded = tf.saved_model.load(str(version))
    rows = [(str(version), "(load)", "ok", f"{time.perf_counter() - started:.1f} s")]
    for name, function in sorted(loaded.signatures.items()):
        _, specs = function.structured_input_signature
        try:
            outputs = function(**example_inputs(specs))
            expected = set(function.structured_outputs)
            if set(outputs) != expected:
                raise ValueError(f"returned {sorted(outputs)}, declared {sorted(expected)}")
            first = _first_text(outputs)
            rows.append((str(version), name, "ok", first))
        except Exception as error:  # every failure becomes a row; the exit status reports it
            rows.append((str(version), name, "FAILED", " ".join(str(error).split())[:200]))
    return rows


def _first_text(outputs: dict[str, tf.Tensor]) -> str:
    """A short view of the outputs: the string outputs' values, else the output shapes."""
    texts = [
        f"{key}={value.numpy().tolist()!r}"
        for key, value in sorted(outputs.items())
        if value.dtype == tf.string
    ]
    shapes = [f"{key}{list(value.shape)}" for key, value in sorted(outputs.items())]
    return "; ".join(texts or shapes)[:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_paths", nargs="+", metavar="DIR", help="exported model base paths")
    args = parser.parse_args(argv)
    print(f"TensorFlow {tf.__version__}, tensorflow-text {tensorflow_text.__version__}")
    print("| version | signature | result | outputs for " + ", ".join(map(repr, TEXTS)) + " |")
    print("|---|---|---|---|")
    failed = False
    for base in args.base_paths:
        try:
            rows = check_model(Path(base))
        except Exception as error:  # a model that doesn't load is a failed row, not a traceback
            rows = [(base, "(load)", "FAILED", " ".join(str(error).split())[:200])]
        for row in rows:
            print("| " + " | ".join(row) + " |")
            failed |= row[2] != "ok"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
