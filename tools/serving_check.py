"""Loads exported models the way TF Serving does, calls every signature, replays the warm-up.

    make serving-check                      # builds .venv-serving (TF 2.20 + TF-Text 2.20) once
    .venv-serving/bin/python tools/serving_check.py saved_models/dates [MORE_BASE_PATHS ...]

TF Serving 2.20 links TensorFlow 2.20 and TF-Text 2.20, not the versions the package trains
with. This script imports nothing but TensorFlow, tensorflow_text (the custom ops a served
graph needs) and tensorflow_serving.apis (the request protos), so it runs in an environment of
exactly those versions. For each base path it loads the newest numeric version directory, calls
every signature with a few inputs built from the signature's own input specs (strings, and the
default of each scalar), and prints one row a signature. Then it replays the version's
`assets.extra/tf_serving_warmup_requests` as TF Serving does while it loads a version: each
record parsed as a `tensorflow.serving.PredictionLog`, its `PredictRequest` checked against the
SignatureDef (unknown inputs refused, missing ones taken from the signature's defaults) and run
in a TF1 session on the signature's tensors, one row a signature. It exits with status 1 if any
model fails to load, any signature fails to run or returns something other than its declared
outputs, the warm-up file is missing or a signature has no record or a record that fails, and
with status 2 on a bad argument.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf
import tensorflow_text  # registers the TF-Text ops a served graph uses
from tensorflow_serving.apis import prediction_log_pb2

TEXTS = ("March 3, 2021", "hello", "the 45th of Smarch")
"""Inputs given to every string input (a target input gets the same texts)."""

SCALAR_DEFAULTS = {"beam_width": 4, "n_best": 2}
"""Values for scalar int inputs, by name; any other scalar int gets 1."""

tf.get_logger().setLevel("ERROR")  # the TF1 loader's deprecation notice is not a result

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000
"""TF Serving reads at most this many warm-up records."""


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
    return rows + replay_warmup(version)


def read_warmup_records(version: Path) -> list[prediction_log_pb2.PredictionLog]:
    """The version's warm-up records, parsed with TF Serving's own PredictionLog class.

    Raises:
        FileNotFoundError: the version has no warm-up file.
        ValueError: the file holds no record, or more than TF Serving reads.
    """
    path = version / WARMUP_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"no {WARMUP_FILE}: TF Serving would load this version cold. Re-export it "
            "(keras-seq2seq export --force ...) or add the file with "
            f"keras_seq2seq.serving.warmup.write_warmup_requests('{version}')."
        )
    records = [
        prediction_log_pb2.PredictionLog.FromString(raw.numpy())
        for raw in tf.data.TFRecordDataset(str(path))
    ]
    if not records or len(records) > MAX_WARMUP_RECORDS:
        raise ValueError(f"{path} holds {len(records)} records; TF Serving reads 1 to 1000.")
    return records


def _run_request(session: tf.compat.v1.Session, meta_graph, log) -> dict:
    """Runs one PredictLog's request as TF Serving's RunPredict does; returns the outputs."""
    if log.WhichOneof("log_type") != "predict_log":
        raise ValueError(f"log type {log.WhichOneof('log_type')!r}; exports write predict_log")
    request = log.predict_log.request
    name = request.model_spec.signature_name or "serving_default"
    if name not in meta_graph.signature_def:
        raise ValueError(f'Serving signature key "{name}" not found.')
    signature = meta_graph.signature_def[name]
    extra = sorted(set(request.inputs) - set(signature.inputs))
    if extra:
        raise ValueError(f"inputs {extra} are not inputs of signature {name!r}")
    feeds = {}
    for alias, info in signature.inputs.items():
        proto = request.inputs[alias] if alias in request.inputs else signature.defaults.get(alias)
        if proto is None:
            raise ValueError(f"input {alias!r} missing and the signature has no default for it")
        feeds[info.name] = tf.make_ndarray(proto)
    fetches = {alias: info.name for alias, info in signature.outputs.items()}
    return session.run(fetches, feeds)


def replay_warmup(version: Path) -> list[tuple[str, str, str, str]]:
    """Replays the warm-up records in a TF1 session, as the model server does at load."""
    try:
        records = read_warmup_records(version)
    except Exception as error:
        return [(str(version), "(warm-up)", "FAILED", " ".join(str(error).split())[:300])]
    results: dict[str, list[tuple[bool, str]]] = {}  # signature -> (ok, detail) per record
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(version))
        for log in records:
            name = log.predict_log.request.model_spec.signature_name or "serving_default"
            try:
                result = (True, _first_text(_run_request(session, meta_graph, log)))
            except Exception as error:  # a failed record is a row, as it fails a server's load
                result = (False, " ".join(str(error).split())[:200])
            results.setdefault(name, []).append(result)
        served = {name for name in meta_graph.signature_def if not name.startswith("__")}
    rows = []
    for name in sorted(served | set(results)):
        seen = results.get(name, [])
        failures = [detail for ok, detail in seen if not ok]
        if not seen:
            status, detail = "FAILED", "no warm-up record: TF Serving would run it cold; re-export"
        elif failures:
            status, detail = "FAILED", f"{len(failures)} of {len(seen)} records: {failures[0]}"
        else:
            status, detail = "ok", f"{len(seen)} record{'s' * (len(seen) > 1)}: {seen[0][1]}"
        rows.append((str(version), f"warm-up {name}", status, detail))
    return rows


def _first_text(outputs: dict) -> str:
    """A short view of the outputs: the string outputs' values, else the output shapes.

    Takes tensors (a signature call) or numpy arrays (a session run).
    """
    arrays = {key: getattr(value, "numpy", lambda v=value: v)() for key, value in outputs.items()}
    texts = [
        f"{key}={value.tolist()!r}"
        for key, value in sorted(arrays.items())
        if value.dtype == object
    ]
    shapes = [f"{key}{list(value.shape)}" for key, value in sorted(arrays.items())]
    return "; ".join(texts or shapes)[:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_paths", nargs="+", metavar="DIR", help="exported model base paths")
    args = parser.parse_args(argv)
    serving_api = importlib.metadata.version("tensorflow-serving-api")
    print(
        f"TensorFlow {tf.__version__}, tensorflow-text {tensorflow_text.__version__}, "
        f"tensorflow-serving-api {serving_api}"
    )
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
