"""TF Serving warm-up records: decoded independently and replayed against the export."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,
)
from google.protobuf.unknown_fields import UnknownFieldSet
from tensorflow.core.framework import tensor_pb2
from tensorflow.core.protobuf import saved_model_pb2

from keras_seq2seq.data.datasets import load_dataset
from keras_seq2seq.serving.export import DEFAULT_BEAM_WIDTH, DEFAULT_N_BEST, export_model
from keras_seq2seq.serving.warmup import (
    PLACEHOLDER_EXAMPLES,
    WARMUP_FILE,
    encode_prediction_log,
    warmup_examples,
    warmup_path,
    warmup_requests,
    write_warmup_requests,
)

# -- an independent decoder: the PredictionLog path as a FileDescriptorProto ----------------
# Field numbers from tensorflow_serving/apis/{prediction_log,predict,model}.proto. The
# `map<string, TensorProto> inputs` of PredictRequest is, on the wire, a repeated entry
# message {key = 1, value = 2}; the value is kept as bytes and parsed as a TensorProto.

_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_BYTES = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
_MESSAGES = {
    "ModelSpec": [("name", 1, _STRING, None), ("signature_name", 3, _STRING, None)],
    "InputsEntry": [("key", 1, _STRING, None), ("value", 2, _BYTES, None)],
    "PredictRequest": [
        ("model_spec", 1, _MESSAGE, "ModelSpec"),
        ("inputs", 2, _MESSAGE, "InputsEntry"),
    ],
    "PredictLog": [("request", 1, _MESSAGE, "PredictRequest")],
    "PredictionLog": [("predict_log", 6, _MESSAGE, "PredictLog")],
}


def _prediction_log_class():
    file = descriptor_pb2.FileDescriptorProto(
        name="warmup_test.proto", package="warmuptest", syntax="proto3"
    )
    for message_name, fields in _MESSAGES.items():
        message = file.message_type.add(name=message_name)
        for name, number, kind, type_name in fields:
            field = message.field.add(name=name, number=number, type=kind)
            field.label = _REPEATED if name == "inputs" else _OPTIONAL
            if type_name:
                field.type_name = f".warmuptest.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("warmuptest.PredictionLog"))


PredictionLog = _prediction_log_class()


def read_records(path):
    """Each record as `(model_name, signature_name, {input: np.ndarray})`, in file order."""
    records = []
    for raw in tf.data.TFRecordDataset(str(path)):
        log = PredictionLog.FromString(raw.numpy())
        assert log.HasField("predict_log")
        request = log.predict_log.request
        inputs = {}
        for entry in request.inputs:
            assert entry.key not in inputs
            inputs[entry.key] = tf.make_ndarray(tensor_pb2.TensorProto.FromString(entry.value))
        records.append((request.model_spec.name, request.model_spec.signature_name, inputs))
    return records


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("warmup") / "tiny"
    return export_model(tiny_run, base, check_ops=False)


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported))


@pytest.fixture
def version_copy(exported, tmp_path):
    copy = tmp_path / "copy" / "7"
    shutil.copytree(exported, copy)
    return copy


# -- the records of an export ---------------------------------------------------------------


@pytest.mark.slow
def test_export_writes_one_valid_record_per_signature(exported, loaded):
    path = exported / "assets.extra" / WARMUP_FILE
    assert path == warmup_path(exported) and path.is_file()
    records = read_records(path)
    assert sorted(name for _, name, _ in records) == sorted(loaded.signatures)
    assert len(records) == len(loaded.signatures)
    assert {"serving_default", "beam_search", "score"} <= set(loaded.signatures)
    for model_name, name, inputs in records:
        assert model_name == "tiny"  # the base path's name
        _, specs = loaded.signatures[name].structured_input_signature
        assert set(inputs) == set(specs)
        for key, value in inputs.items():
            assert tf.as_dtype(value.dtype) == specs[key].dtype, (name, key)
            assert specs[key].shape.is_compatible_with(value.shape), (name, key)


@pytest.mark.slow
def test_every_record_runs_on_its_signature(exported, loaded):
    for _, name, inputs in read_records(warmup_path(exported)):
        function = loaded.signatures[name]
        outputs = function(**{key: tf.constant(value) for key, value in inputs.items()})
        assert set(outputs) == set(function.structured_outputs)
        batch = len(inputs.get("inputs", inputs.get("sources")))
        assert batch >= 1
        assert all(value.shape[0] == batch for value in outputs.values()), name


@pytest.mark.slow
def test_records_parse_with_the_tensorflow_serving_protos(exported, loaded):
    # The classes TF Serving itself reads the file with (tensorflow-serving-api, dev extra).
    prediction_log_pb2 = pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
    raw = [r.numpy() for r in tf.data.TFRecordDataset(str(warmup_path(exported)))]
    logs = [prediction_log_pb2.PredictionLog.FromString(record) for record in raw]
    assert len(logs) == len(loaded.signatures)
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log"] * len(logs)
    assert sorted(log.predict_log.request.model_spec.signature_name for log in logs) == sorted(
        loaded.signatures
    )
    for log in logs:
        request = log.predict_log.request
        parts = [log, log.predict_log, request, request.model_spec, *request.inputs.values()]
        assert all(len(UnknownFieldSet(part)) == 0 for part in parts)  # all known to the schema
        inputs = {key: tf.make_ndarray(value) for key, value in request.inputs.items()}
        function = loaded.signatures[request.model_spec.signature_name]
        specs = function.structured_input_signature[1]
        assert set(inputs) == set(specs)
        outputs = function(**{key: tf.constant(value) for key, value in inputs.items()})
        assert set(outputs) == set(function.structured_outputs)


@pytest.mark.slow
def test_inputs_with_defaults_get_the_signature_defaults(exported):
    saved_model = saved_model_pb2.SavedModel.FromString((exported / "saved_model.pb").read_bytes())
    (meta_graph,) = saved_model.meta_graphs
    checked = 0
    for _, name, inputs in read_records(warmup_path(exported)):
        for key, default in meta_graph.signature_def[name].defaults.items():
            np.testing.assert_array_equal(inputs[key], tf.make_ndarray(default))
            checked += 1
    assert checked >= 2  # beam_width and n_best of beam_search at least


@pytest.mark.slow
def test_records_carry_the_export_defaults_and_placeholder_texts(exported):
    records = {name: inputs for _, name, inputs in read_records(warmup_path(exported))}
    beam = records["beam_search"]
    assert beam["beam_width"].shape == () and int(beam["beam_width"]) == DEFAULT_BEAM_WIDTH
    assert int(beam["n_best"]) == DEFAULT_N_BEST
    # The tiny run was trained on pairs given in Python, so no validation data is known.
    sources = [source.encode() for source, _ in PLACEHOLDER_EXAMPLES]
    targets = [target.encode() for _, target in PLACEHOLDER_EXAMPLES]
    assert records["serving_default"]["inputs"].tolist() == sources
    assert beam["inputs"].tolist() == sources
    assert records["score"]["sources"].tolist() == sources
    assert records["score"]["targets"].tolist() == targets


@pytest.mark.slow
def test_given_examples_replace_the_file(version_copy, loaded):
    path = write_warmup_requests(version_copy, [("abc", "cba"), "dd"])
    assert path == warmup_path(version_copy)
    decoded = read_records(path)
    assert len(decoded) == len(loaded.signatures)  # rewritten, not appended to
    records = {name: (model, inputs) for model, name, inputs in decoded}
    assert records["serving_default"][0] == "copy"
    assert records["serving_default"][1]["inputs"].tolist() == [b"abc", b"dd"]
    assert records["score"][1]["targets"].tolist() == [b"cba", b"dd"]
    assert sorted(p.name for p in path.parent.iterdir()) == [WARMUP_FILE]  # no partial file
    score_inputs = {key: tf.constant(value) for key, value in records["score"][1].items()}
    assert loaded.signatures["score"](**score_inputs)["scores"].shape == [2]


@pytest.mark.slow
def test_a_subset_of_signatures_and_a_model_name(version_copy):
    path = write_warmup_requests(version_copy, ["x"], signatures=["score"], model_name="m")
    assert [(model, name) for model, name, _ in read_records(path)] == [("m", "score")]
    with pytest.raises(ValueError, match=r"Unknown signature\(s\) \['nope'\].*'score'"):
        warmup_requests(version_copy, ["x"], signatures=["nope"])
    with pytest.raises(TypeError, match="`signatures` must be a list"):
        warmup_requests(version_copy, ["x"], signatures="score")


@pytest.mark.slow
def test_example_errors(version_copy):
    with pytest.raises(ValueError, match="`examples` is empty"):
        write_warmup_requests(version_copy, [])
    with pytest.raises(TypeError, match="`examples` must be a list"):
        write_warmup_requests(version_copy, "abc")
    with pytest.raises(TypeError, match=r"`examples\[1\]` must be a str or a \(source, target\)"):
        write_warmup_requests(version_copy, ["a", ("b",)])
    with pytest.raises(TypeError, match=r"`examples\[0\]`"):
        write_warmup_requests(version_copy, [(b"a", "b")])


# -- examples, errors and the wire format without a trained model ---------------------------


def test_examples_come_from_the_builtin_validation_split(tmp_path):
    (tmp_path / "training.json").write_text(json.dumps({"data": {"source": "dates"}}))
    expected = load_dataset("dates", "validation", max_examples=2)
    assert warmup_examples(tmp_path, 2) == expected
    ensemble = tmp_path / "ensemble"
    (ensemble / "members" / "0").mkdir(parents=True)
    shutil.copy(tmp_path / "training.json", ensemble / "members" / "0" / "training.json")
    assert warmup_examples(ensemble, 2) == expected


def test_examples_fall_back_to_placeholders(tmp_path):
    assert warmup_examples(tmp_path) == list(PLACEHOLDER_EXAMPLES)
    (tmp_path / "training.json").write_text(json.dumps({"data": {"source": "pairs.tsv"}}))
    assert warmup_examples(tmp_path, 1) == list(PLACEHOLDER_EXAMPLES[:1])
    (tmp_path / "training.json").write_text("{not json")
    assert warmup_examples(tmp_path) == list(PLACEHOLDER_EXAMPLES)
    with pytest.raises(ValueError, match="`num_examples` must be a positive integer"):
        warmup_examples(tmp_path, 0)


def test_a_directory_without_a_saved_model(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"saved_model.pb not found: pass a SavedModel"):
        write_warmup_requests(tmp_path)
    assert not (tmp_path / "assets.extra").exists()


def test_inputs_that_are_not_strings_or_scalars_are_refused(tmp_path):
    module = tf.Module()
    module.f = tf.function(
        lambda x: {"y": x * 2.0}, input_signature=[tf.TensorSpec([None], tf.float32, name="x")]
    )
    tf.saved_model.save(module, str(tmp_path), signatures={"double": module.f})
    with pytest.raises(ValueError, match=r"'double' has input 'x' of dtype float32.*scalars only"):
        write_warmup_requests(tmp_path, ["a"])
    assert not warmup_path(tmp_path).exists()


def test_wire_format_worked_out_by_hand():
    # ModelSpec{signature_name(3)="s"} = 1a 01 73; PredictRequest{model_spec(1)} = 0a 03 ...;
    # PredictLog{request(1)} = 0a 05 ...; PredictionLog{predict_log(6)} = 32 07 ...
    assert encode_prediction_log("s", {}) == bytes.fromhex("3207 0a05 0a03 1a0173")
    # With a model name (field 1, before field 3) and one input entry {key(1), value(2)}.
    assert encode_prediction_log("s", {"k": b"\x08\x03"}, "m") == bytes.fromhex(
        "3213 0a11 0a06 0a016d 1a0173 1207 0a016b 12020803"
    )


def test_wire_format_decodes_with_long_fields():
    text = "é" * 200  # 400 bytes: two-byte length prefixes at every level
    tensor = tf.make_tensor_proto([text.encode()] * 3, tf.string).SerializeToString()
    log = PredictionLog.FromString(
        encode_prediction_log("sig" * 50, {"b": tensor, "a": b""}, model_name="n" * 130)
    )
    request = log.predict_log.request
    assert request.model_spec.signature_name == "sig" * 50
    assert request.model_spec.name == "n" * 130
    assert [entry.key for entry in request.inputs] == ["a", "b"]
    value = tf.make_ndarray(tensor_pb2.TensorProto.FromString(request.inputs[1].value))
    np.testing.assert_array_equal(value, np.array([text.encode()] * 3, dtype=object))


def test_wire_format_argument_errors():
    with pytest.raises(TypeError, match=r"serialized TensorProtos \(bytes\)"):
        encode_prediction_log("s", {"k": "not bytes"})
    with pytest.raises(TypeError, match="`signature_name` must be a str"):
        encode_prediction_log(b"s", {})


# -- the batching parameters the serving docs ship ------------------------------------------


def _batching_parameters_class():
    """`BatchingParameters` of tensorflow_serving/servables/tensorflow/session_bundle_config."""
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    file = descriptor_pb2.FileDescriptorProto(
        name="batching_test.proto",
        package="batchingtest",
        syntax="proto3",
        dependency=[wrappers.name],
    )
    message = file.message_type.add(name="BatchingParameters")
    int64 = ".google.protobuf.Int64Value"
    for name, number, type_name in [
        ("max_batch_size", 1, int64),
        ("batch_timeout_micros", 2, int64),
        ("max_enqueued_batches", 3, int64),
        ("num_batch_threads", 4, int64),
        ("thread_pool_name", 5, ".google.protobuf.StringValue"),
    ]:
        message.field.add(name=name, number=number, type=_MESSAGE, type_name=type_name)
    repeated = descriptor_pb2.FieldDescriptorProto.TYPE_INT64
    message.field.add(name="allowed_batch_sizes", number=6, type=repeated, label=_REPEATED)
    boolean = descriptor_pb2.FieldDescriptorProto.TYPE_BOOL
    message.field.add(name="pad_variable_length_inputs", number=7, type=boolean)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(wrappers)
    pool.Add(file)
    name = "batchingtest.BatchingParameters"
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def test_docs_batching_parameters_parse_as_the_server_reads_them():
    path = Path(__file__).parents[1] / "docs" / "batching_parameters.txt"
    params = text_format.Parse(path.read_text(encoding="utf-8"), _batching_parameters_class()())
    assert params.max_batch_size.value == 64
    assert 0 <= params.batch_timeout_micros.value <= 10_000  # the guide's 0 to 10 ms
    assert params.num_batch_threads.value >= 1
    assert params.max_enqueued_batches.value >= params.num_batch_threads.value
    assert not params.pad_variable_length_inputs  # 1-D string inputs need no padding
    docs = (path.parent / "serving.md").read_text(encoding="utf-8")
    for field in ("max_batch_size", "batch_timeout_micros", "num_batch_threads"):
        value = getattr(params, field).value
        assert f"| `{field}` | {value} |" in docs, field
