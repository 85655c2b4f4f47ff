"""TF Serving warm-up records: `assets.extra/tf_serving_warmup_requests` in every export.

TF Serving runs the first request of each signature slowly: the session builds and optimizes
an executor for that signature's feeds and fetches, and allocates its kernels. With
`--enable_model_warmup` (on by default) the model server replays the records of
`VERSION/assets.extra/tf_serving_warmup_requests` while it loads a version, before the version
takes traffic, so that cost is paid at load time. The file is a TFRecord file of serialized
`tensorflow.serving.PredictionLog` messages (at most 1,000 are read); a record that fails makes
the version fail to load.

`write_warmup_requests` writes one record per signature of a SavedModel, read from its
`saved_model.pb`: a `PredictLog` whose `PredictRequest` names the signature in
`model_spec.signature_name` and fills every input: an input with a default in the SignatureDef
(`beam_width`, `n_best`) with that default, a string vector with a few sources (targets for an
input named `targets`, empty strings for a forced `prefix`), any other integer scalar with 1.
The sources come from the model's own validation split when it was trained on a builtin
dataset (`training.json`), else from short placeholder strings. A server started with
`--enable_batching` cannot run a signature with a scalar input (`beam_search`,
`forced_prefix`), so their records would fail there: `signatures=` writes a file without them
(see docs/serving.md#batching).

The package does not depend on `tensorflow-serving-api` (it pins its own TensorFlow): the
`TensorProto` values come from `tf.make_tensor_proto` and the four wrapper messages are
written in the protobuf wire format by `encode_prediction_log`, with the field numbers of
tensorflow_serving/apis/prediction_log.proto (`PredictionLog.predict_log = 6`,
`PredictLog.request = 1`), predict.proto (`PredictRequest.model_spec = 1`,
`PredictRequest.inputs = 2`, a `map<string, TensorProto>`) and model.proto
(`ModelSpec.name = 1`, `ModelSpec.signature_name = 3`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from keras_seq2seq.run_layout import TRAINING_FILE, member_dir
from keras_seq2seq.serving.op_check import read_saved_model
from keras_seq2seq.validation import check_int

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000
"""TF Serving reads at most this many records (`WarmupConsts::kMaxNumRecords`)."""

PLACEHOLDER_EXAMPLES = (("hello", "hello"), ("a short sentence", "a short sentence"))
"""Warm-up examples for a model whose validation data can't be found."""

TARGET_INPUTS = frozenset({"targets"})
"""String inputs that take the examples' targets rather than their sources."""

EMPTY_INPUTS = frozenset({"prefix"})
"""String inputs sent as one empty string per example (a forced prefix that forces nothing)."""

DEFAULT_NUM_EXAMPLES = 3


def warmup_path(export_dir: str | Path) -> Path:
    """Where TF Serving looks for the warm-up records of a version directory."""
    return Path(export_dir) / WARMUP_DIR / WARMUP_FILE


# -- protobuf wire format -------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): a string, bytes or an embedded message."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_prediction_log(
    signature_name: str, inputs: Mapping[str, bytes], model_name: str = ""
) -> bytes:
    """A serialized `tensorflow.serving.PredictionLog` holding one Predict request.

    Args:
        signature_name: str. The SignatureDef key the request calls.
        inputs: mapping from input name to a serialized `tensorflow.TensorProto`
            (`tf.make_tensor_proto(...).SerializeToString()`).
        model_name: str. `model_spec.name`; TF Serving's warm-up ignores it. Defaults to `""`.

    Returns:
        bytes: the wire-format message `PredictionLog{predict_log: PredictLog{request:
        PredictRequest{model_spec, inputs}}}`, inputs sorted by name.

    Raises:
        TypeError: a name is not a str or a value is not bytes.

    Example:
    >>> encode_prediction_log("s", {}).hex(" ")  # predict_log{request{model_spec{"s"}}}
    '32 07 0a 05 0a 03 1a 01 73'
    """
    for name, value in [("signature_name", signature_name), ("model_name", model_name)]:
        if not isinstance(value, str):
            raise TypeError(f"`{name}` must be a str. Received: {name}={value!r}")
    model_spec = b""
    if model_name:
        model_spec += _field(1, model_name.encode())
    model_spec += _field(3, signature_name.encode())
    request = _field(1, model_spec)
    for key in sorted(inputs):
        value = inputs[key]
        if not isinstance(key, str) or not isinstance(value, bytes):
            raise TypeError(
                "`inputs` must map input names (str) to serialized TensorProtos (bytes). "
                f"Received: {key!r}: {type(value).__name__}"
            )
        request += _field(2, _field(1, key.encode()) + _field(2, value))
    return _field(6, _field(1, request))


# -- what to send ---------------------------------------------------------------------------


def warmup_examples(
    export_dir: str | Path, num_examples: int = DEFAULT_NUM_EXAMPLES
) -> list[tuple[str, str]]:
    """`(source, target)` pairs for the warm-up requests of an export.

    The first `num_examples` pairs of the validation split of the builtin dataset the model
    was trained on (`training.json` beside the SavedModel, or of the first ensemble member);
    `PLACEHOLDER_EXAMPLES` when the model was trained on a file, has no `training.json`, or
    the dataset's package is missing.

    Args:
        export_dir: str or Path. A version directory (or a run directory).
        num_examples: int. How many pairs at most. Defaults to `3`.

    Returns:
        list of `(source, target)` str tuples, never empty.

    Raises:
        TypeError, ValueError: `num_examples` is not a positive integer.

    Example:
    >>> warmup_examples("saved_models/dates/2", 1)  # doctest: +SKIP
    [('Tuesday, November 19, 1946', '1946-11-19')]
    """
    from keras_seq2seq.data.datasets import BUILTIN_DATASETS, load_dataset

    num_examples = check_int("num_examples", num_examples)
    source = _training_source(Path(export_dir))
    if source in BUILTIN_DATASETS:
        try:
            pairs = load_dataset(source, "validation", max_examples=num_examples)
        except ImportError:  # the dataset's package is optional; placeholders still warm up
            pairs = []
        if pairs:
            return [(str(s), str(t)) for s, t in pairs]
    return list(PLACEHOLDER_EXAMPLES[:num_examples])


def _training_source(export_dir: Path) -> Any:
    """`data.source` of the export's `training.json` (or its first member's), else None."""
    for path in (export_dir / TRAINING_FILE, export_dir / member_dir(0) / TRAINING_FILE):
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))["data"]["source"]
            except (ValueError, KeyError, TypeError):
                return None  # an unreadable record only costs realistic inputs
    return None


def _check_examples(examples: Any) -> list[tuple[str, str]]:
    """Pairs from `(source, target)` tuples or plain sources (their own target)."""
    if isinstance(examples, (str, bytes)) or not isinstance(examples, Sequence):
        raise TypeError(
            "`examples` must be a list of source strings or (source, target) pairs. "
            f"Received: {type(examples).__name__}"
        )
    if not examples:
        raise ValueError("`examples` is empty: give at least one source string.")
    pairs = []
    for index, example in enumerate(examples):
        if isinstance(example, str):
            example = (example, example)
        if not (
            isinstance(example, (tuple, list))
            and len(example) == 2
            and all(isinstance(text, str) for text in example)
        ):
            raise TypeError(
                f"`examples[{index}]` must be a str or a (source, target) pair of str. "
                f"Received: {example!r}"
            )
        pairs.append((example[0], example[1]))
    return pairs


def serving_signature_defs(export_dir: str | Path) -> dict[str, Any]:
    """The SignatureDefs TF Serving serves from a SavedModel: those of its `serve` meta graph.

    `__saved_model_init_op`, the initializer that `tf.saved_model.save` keeps in the same map,
    is left out (so is any other name with two leading underscores): it takes no request.

    Args:
        export_dir: str or Path. A SavedModel directory (holding `saved_model.pb`).

    Returns:
        dict from signature name to `tensorflow.SignatureDef`, sorted by name.

    Raises:
        FileNotFoundError: no `saved_model.pb` in `export_dir`.
        ValueError: the SavedModel has no meta graph tagged `serve`.

    Example:
    >>> sorted(serving_signature_defs("saved_models/dates/2"))  # doctest: +SKIP
    ['beam_search', 'score', 'serving_default']
    """
    path = Path(export_dir) / "saved_model.pb"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: pass a SavedModel version directory, e.g. saved_models/dates/2."
        )
    saved_model = read_saved_model(export_dir)
    for meta_graph in saved_model.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return {
                name: signature
                for name, signature in sorted(meta_graph.signature_def.items())
                if not name.startswith("__")
            }
    raise ValueError(f"{path} has no meta graph tagged 'serve', the one TF Serving loads.")


def _input_tensor(signature: str, alias: str, info: Any, defaults: Any, pairs: list) -> bytes:
    """The serialized TensorProto a warm-up request sends for one signature input."""
    import tensorflow as tf

    dtype = tf.dtypes.as_dtype(info.dtype)
    shape = tf.TensorShape(info.tensor_shape)
    if alias in defaults:  # what a request that leaves the input out gets
        return defaults[alias].SerializeToString()
    if dtype == tf.string and shape.rank == 1:
        texts = [
            "" if alias in EMPTY_INPUTS else target if alias in TARGET_INPUTS else source
            for source, target in pairs
        ]
        return tf.make_tensor_proto([t.encode() for t in texts], tf.string).SerializeToString()
    if shape.rank == 0 and dtype.is_integer:
        return tf.make_tensor_proto(1, dtype).SerializeToString()
    raise ValueError(
        f"Signature {signature!r} has input {alias!r} of dtype {dtype.name} and shape "
        f"{shape}; warm-up requests fill string vectors and scalars only. Build its records "
        "with `encode_prediction_log` and write them with `tf.io.TFRecordWriter`."
    )


def warmup_requests(
    export_dir: str | Path,
    examples: Sequence[str | tuple[str, str]] | None = None,
    *,
    signatures: Sequence[str] | None = None,
    model_name: str = "",
) -> list[bytes]:
    """The serialized `PredictionLog` records `write_warmup_requests` writes, one a signature.

    Args:
        export_dir: str or Path. A SavedModel directory.
        examples: list of source strings or `(source, target)` pairs, or None for
            `warmup_examples(export_dir)`.
        signatures: list of signature names, or None for every signature of the export.
        model_name: str. `model_spec.name` of each request. Defaults to `""`.

    Returns:
        list of bytes, in signature-name order.

    Raises:
        FileNotFoundError: `export_dir` holds no `saved_model.pb`.
        TypeError: `examples` or `signatures` has the wrong type.
        ValueError: `examples` is empty, a signature is unknown, or an input is neither a
            string vector nor a scalar.

    Example:
    >>> len(warmup_requests("saved_models/dates/2"))  # doctest: +SKIP
    3
    """
    signature_defs = serving_signature_defs(export_dir)
    pairs = warmup_examples(export_dir) if examples is None else _check_examples(examples)
    if signatures is None:
        names = list(signature_defs)
    elif isinstance(signatures, str) or not isinstance(signatures, Sequence):
        raise TypeError(f"`signatures` must be a list of names. Received: {signatures!r}")
    else:
        names = list(signatures)
        unknown = [name for name in names if name not in signature_defs]
        if unknown:
            raise ValueError(
                f"Unknown signature(s) {unknown} for {export_dir}; it has {sorted(signature_defs)}."
            )
    records = []
    for name in names:
        signature = signature_defs[name]
        inputs = {
            alias: _input_tensor(name, alias, info, signature.defaults, pairs)
            for alias, info in sorted(signature.inputs.items())
        }
        records.append(encode_prediction_log(name, inputs, model_name))
    return records


def write_warmup_requests(
    export_dir: str | Path,
    examples: Sequence[str | tuple[str, str]] | None = None,
    *,
    signatures: Sequence[str] | None = None,
    model_name: str | None = None,
) -> Path:
    """Writes `EXPORT/assets.extra/tf_serving_warmup_requests` for a SavedModel.

    One `PredictionLog` record per signature (see `warmup_requests`), written to a temporary
    file and renamed over any existing one. The SavedModel itself is not touched, so this also
    adds the records to a version exported before them.

    Args:
        export_dir: str or Path. A SavedModel directory, e.g. `saved_models/dates/2`.
        examples: list of source strings or `(source, target)` pairs, or None for the
            model's own validation data (`warmup_examples`).
        signatures: list of signature names, or None for every signature. Defaults to None.
        model_name: str or None. `model_spec.name` of each request; None for the base path's
            name when `export_dir` is a numeric version directory, else `""`.

    Returns:
        Path of the written file.

    Raises:
        FileNotFoundError: `export_dir` holds no `saved_model.pb`.
        TypeError, ValueError: as `warmup_requests`.

    Example:
    >>> write_warmup_requests("saved_models/dates/2")  # doctest: +SKIP
    PosixPath('saved_models/dates/2/assets.extra/tf_serving_warmup_requests')
    """
    import tensorflow as tf

    export_dir = Path(export_dir)
    if model_name is None:
        model_name = export_dir.resolve().parent.name if export_dir.name.isdigit() else ""
    records = warmup_requests(export_dir, examples, signatures=signatures, model_name=model_name)
    path = warmup_path(export_dir)
    path.parent.mkdir(exist_ok=True)
    partial = path.with_name(f".{WARMUP_FILE}.partial")
    try:
        with tf.io.TFRecordWriter(str(partial)) as writer:
            for record in records:
                writer.write(record)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
