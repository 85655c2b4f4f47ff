"""SavedModel export for TF Serving, the serving-op check and the TF Serving clients."""

import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import zipfile
from concurrent import futures
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.cli import main
from keras_seq2seq.decoding.translator import Hypothesis, load
from keras_seq2seq.serving import op_check as op_check_lib
from keras_seq2seq.serving.client import (
    BEAM_SIGNATURE,
    SERVING_SIGNATURE,
    RestTranslator,
    ServingError,
    build_grpc_request,
    build_predict_body,
    grpc_predict,
    parse_grpc_response,
    parse_predict_response,
    predict_url,
)
from keras_seq2seq.serving.export import export_model, next_version
from keras_seq2seq.serving.op_check import (
    ServingOpsError,
    check_saved_model_ops,
    saved_model_op_types,
)
from keras_seq2seq.training.run_dir import RUN_FILES
from tests.conftest import reverse_pairs

TEXTS = [source for source, _ in reverse_pairs(200, seed=7)]
ODD_INPUTS = [b"", b"   ", b"\xff\xfeab", b"a\x00b", b"\xc3", "é€😀".encode(), b"x" * 300]

# Runs in a fresh interpreter that imports only tensorflow and tensorflow_text: what a
# consumer of the exported model has. It answers the calls listed in a JSON spec.
LOADER_SCRIPT = r"""
import base64, json, os, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers NormalizeUTF8)

path, spec_path, out_path = sys.argv[1:]
with open(spec_path) as f:
    spec = json.load(f)

def encode(value):
    value = value.numpy() if hasattr(value, "numpy") else value
    flat = value.reshape(-1)
    if value.dtype == object:
        flat = [base64.b64encode(item).decode() for item in flat]
    else:
        flat = flat.tolist()
    return {"shape": list(value.shape), "values": flat}

loaded = tf.saved_model.load(path)
results = []
for call in spec["calls"]:
    texts = tf.constant([base64.b64decode(t) for t in call["texts"]], tf.string)
    try:
        if call["signature"] == "serving_default":
            out = loaded.signatures["serving_default"](inputs=texts)
        else:
            out = loaded.signatures["beam_search"](
                inputs=texts,
                beam_width=tf.constant(call["beam_width"]),
                n_best=tf.constant(call["n_best"]),
            )
        results.append({name: encode(value) for name, value in out.items()})
    except tf.errors.InvalidArgumentError as error:
        results.append({"error": error.message})

# TF Serving runs a signature in a TF1 session and feeds only the inputs of the request; the
# SignatureDef defaults (PlaceholderWithDefault) supply the others.
with tf.compat.v1.Session(graph=tf.Graph()) as session:
    meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
    signature = meta.signature_def["beam_search"]
    defaults = {k: tf.make_ndarray(v).tolist() for k, v in signature.defaults.items()}
    texts = [base64.b64decode(t) for t in spec["session_texts"]]
    fetches = {name: info.name for name, info in signature.outputs.items()}
    fed = session.run(fetches, {signature.inputs["inputs"].name: texts})
    session_result = {name: encode(value) for name, value in fed.items()}

leaked = sorted(m for m in sys.modules if m.split(".")[0] == "keras_seq2seq")
with open(out_path, "w") as f:
    json.dump({"results": results, "defaults": defaults, "session": session_result,
               "leaked": leaked}, f)
"""


def serve_in_fresh_process(saved_model, calls, session_texts, work):
    """Runs `LOADER_SCRIPT` on a SavedModel in a fresh interpreter; returns its answers.

    Args:
        saved_model: the version directory.
        calls: list of `{"signature", "texts" (base64), "beam_width", "n_best"}`.
        session_texts: base64 texts for the TF1-session (TF Serving) call of `beam_search`.
        work: a directory for the spec and the answers.
    """
    (work / "spec.json").write_text(json.dumps({"calls": calls, "session_texts": session_texts}))
    done = subprocess.run(
        [sys.executable, "-c", LOADER_SCRIPT, str(saved_model), "spec.json", "out.json"],
        cwd=work,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((work / "out.json").read_text())


def _b64(texts):
    return [base64.b64encode(t if isinstance(t, bytes) else t.encode()).decode() for t in texts]


def _decoded(column):
    values = column["values"]
    if values and isinstance(values[0], str):
        values = [base64.b64decode(v) for v in values]
    return np.array(values, dtype=object if values and isinstance(values[0], bytes) else None)


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(reverse_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("serving") / "saved_models" / "reverse"
    return export_model(reverse_run.run_dir, base)


@pytest.fixture(scope="module")
def translator(reverse_run):
    return load(reverse_run.run_dir)


@pytest.fixture(scope="module")
def fresh_process(exported, tmp_path_factory):
    """Calls the exported signatures from a fresh `python` that imports only TF and TF-Text."""
    work = tmp_path_factory.mktemp("loader")
    calls = [
        {"signature": SERVING_SIGNATURE, "texts": _b64(TEXTS)},
        {"signature": BEAM_SIGNATURE, "texts": _b64(TEXTS), "beam_width": 4, "n_best": 3},
        {"signature": BEAM_SIGNATURE, "texts": _b64(TEXTS), "beam_width": 1, "n_best": 1},
        {"signature": SERVING_SIGNATURE, "texts": _b64(ODD_INPUTS)},
        {"signature": BEAM_SIGNATURE, "texts": _b64(ODD_INPUTS), "beam_width": 3, "n_best": 2},
        {"signature": SERVING_SIGNATURE, "texts": []},
        {"signature": BEAM_SIGNATURE, "texts": [], "beam_width": 2, "n_best": 2},
        {"signature": SERVING_SIGNATURE, "texts": _b64(["abc"])},
        {"signature": SERVING_SIGNATURE, "texts": _b64((TEXTS * 2)[:256])},
        {"signature": BEAM_SIGNATURE, "texts": _b64(["abc"]), "beam_width": 17, "n_best": 1},
        {"signature": BEAM_SIGNATURE, "texts": _b64(["abc"]), "beam_width": 2, "n_best": 3},
    ]
    return serve_in_fresh_process(exported, calls, _b64(TEXTS[:20]), work)


# -- layout and signatures ------------------------------------------------------------------


@pytest.mark.slow
def test_version_directory_layout(exported):
    assert exported.name == "1"
    names = {path.name for path in exported.iterdir()}
    assert {"saved_model.pb", "variables", *RUN_FILES} <= names
    # Nothing else in the base path: no temporary directory left behind.
    assert [path.name for path in exported.parent.iterdir()] == ["1"]
    umask = os.umask(0)
    os.umask(umask)
    assert exported.stat().st_mode & 0o777 == 0o777 & ~umask  # readable by a server user
    assert next_version(exported.parent) == 2


@pytest.mark.slow
def test_export_keeps_the_weights_not_the_optimizer(exported, reverse_run):
    def weights_file(path):
        with zipfile.ZipFile(path) as archive:
            return archive.read("model.weights.h5")

    trained, shipped = (weights_file(d / "model.keras") for d in (reverse_run.run_dir, exported))
    assert b"optimizer" in trained and b"optimizer" not in shipped
    assert len(shipped) < 0.6 * len(trained)  # Adam's two slots per weight are gone


@pytest.mark.slow
def test_load_works_on_the_export(exported, translator):
    texts = TEXTS[:20]
    expected = translator.translate(texts)
    assert load(exported).translate(texts) == expected
    assert load(exported.parent).translate(texts) == expected  # base path: newest version


@pytest.mark.slow
def test_saved_model_cli_lists_string_signatures(exported):
    cli = Path(sys.executable).parent / "saved_model_cli"
    done = subprocess.run(
        [str(cli), "show", "--dir", str(exported), "--all"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout
    for signature in (SERVING_SIGNATURE, BEAM_SIGNATURE):
        block = text.split(f"signature_def['{signature}']:")[1].split("signature_def[")[0]
        inputs = block.split("output(s):")[0]
        assert "inputs['inputs'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in (
            inputs
        )
        assert "outputs['outputs'] tensor_info:\n        dtype: DT_STRING" in block
        assert "outputs['scores'] tensor_info:\n        dtype: DT_FLOAT" in block
        assert "outputs['accepted'] tensor_info:\n        dtype: DT_BOOL" in block
        assert "Method name is: tensorflow/serving/predict" in block
    beam = text.split(f"signature_def['{BEAM_SIGNATURE}']:")[1]
    for name in ("beam_width", "n_best"):
        assert f"inputs['{name}'] tensor_info:\n        dtype: DT_INT32\n        shape: ()" in beam


# -- the exported graph in a fresh process --------------------------------------------------


@pytest.mark.slow
def test_fresh_process_imports_nothing_of_this_package(fresh_process):
    assert fresh_process["leaked"] == []


@pytest.mark.slow
def test_greedy_signature_matches_translator(fresh_process, translator):
    (expected,) = translator.decode(TEXTS)
    result = fresh_process["results"][0]
    assert result["outputs"]["shape"] == [200]
    assert list(_decoded(result["outputs"])) == list(expected.outputs[:, 0])
    np.testing.assert_array_equal(
        np.float32(result["scores"]["values"]), expected.scores[:, 0].astype(np.float32)
    )
    # The model does reverse strings: the comparison is not between two empty answers.
    outputs = _decoded(result["outputs"])
    reversed_ = sum(o == t[::-1].encode() for o, t in zip(outputs, TEXTS, strict=True))
    assert reversed_ >= 180


@pytest.mark.slow
def test_beam_signature_matches_translator(fresh_process, translator):
    (expected,) = translator.decode(TEXTS, beam_width=4, n_best=3)
    result = fresh_process["results"][1]
    assert result["outputs"]["shape"] == [200, 3]
    assert list(_decoded(result["outputs"])) == list(expected.outputs.reshape(-1))
    np.testing.assert_allclose(
        np.float32(result["scores"]["values"]), expected.scores.reshape(-1), rtol=1e-6
    )
    np.testing.assert_allclose(
        np.float32(result["normalized_scores"]["values"]),
        expected.normalized_scores.reshape(-1),
        rtol=1e-6,
    )


@pytest.mark.slow
def test_beam_width_one_equals_greedy(fresh_process):
    greedy, beam = fresh_process["results"][0], fresh_process["results"][2]
    assert beam["outputs"]["shape"] == [200, 1]
    assert beam["outputs"]["values"] == greedy["outputs"]["values"]
    assert beam["scores"]["values"] == greedy["scores"]["values"]


@pytest.mark.slow
def test_signature_defaults_fill_missing_inputs(fresh_process, translator):
    assert fresh_process["defaults"] == {"beam_width": 4, "n_best": 1}
    (expected,) = translator.decode(TEXTS[:20], beam_width=4, n_best=1)
    session = fresh_process["session"]
    assert session["outputs"]["shape"] == [20, 1]
    assert list(_decoded(session["outputs"])) == list(expected.outputs[:, 0])


@pytest.mark.slow
def test_odd_inputs_come_back_as_strings(fresh_process):
    greedy, beam = fresh_process["results"][3], fresh_process["results"][4]
    assert greedy["outputs"]["shape"] == [len(ODD_INPUTS)]
    assert beam["outputs"]["shape"] == [len(ODD_INPUTS), 2]
    for column in (greedy["outputs"], beam["outputs"]):
        for value in _decoded(column):
            value.decode("utf-8")  # valid UTF-8 even for invalid input bytes
    assert _decoded(greedy["outputs"])[0] == b""  # empty in, [END] out: empty string
    assert all(np.isfinite(greedy["scores"]["values"]))


@pytest.mark.slow
def test_batches_of_0_1_and_256(fresh_process, translator):
    empty_greedy, empty_beam = fresh_process["results"][5], fresh_process["results"][6]
    assert empty_greedy["outputs"] == {"shape": [0], "values": []}
    assert empty_greedy["scores"] == {"shape": [0], "values": []}
    assert empty_beam["outputs"] == {"shape": [0, 2], "values": []}
    one, many = fresh_process["results"][7], fresh_process["results"][8]
    assert list(_decoded(one["outputs"])) == [translator.translate("abc").encode()]
    assert many["outputs"]["shape"] == [256]
    assert _decoded(many["outputs"])[200] == _decoded(fresh_process["results"][0]["outputs"])[0]


@pytest.mark.slow
def test_out_of_range_beam_inputs_are_rejected(fresh_process):
    too_wide, too_many = fresh_process["results"][9], fresh_process["results"][10]
    assert "`beam_width` must be at most 16" in too_wide["error"]
    assert "`n_best` must be an integer between 1 and `beam_width`" in too_many["error"]


# -- versions: refuse, force, failure -------------------------------------------------------


@pytest.mark.slow
def test_refuses_to_overwrite_a_version(exported, reverse_run, capsys):
    with pytest.raises(FileExistsError, match=r"1 already exists.*--force"):
        export_model(reverse_run.run_dir, exported.parent, version=1)
    code = main(
        ["export", "--model", str(reverse_run.run_dir), "--output", str(exported.parent),
         "--version", "1"]
    )  # fmt: skip
    assert code == 2
    assert "already exists" in capsys.readouterr().err
    assert (exported / "saved_model.pb").is_file()


@pytest.mark.slow
def test_force_replaces_a_version(reverse_run, tmp_path, capsys):
    base = tmp_path / "model"
    (base / "3").mkdir(parents=True)
    (base / "3" / "stale.txt").write_text("old")
    (base / "1").mkdir()
    assert next_version(base) == 4
    code = main(
        ["export", "--model", str(reverse_run.run_dir), "--output", str(base), "--version", "3",
         "--force", "--beam-width", "2", "--n-best", "2"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "Exported to" in capsys.readouterr().out
    assert sorted(path.name for path in base.iterdir()) == ["1", "3"]
    assert not (base / "3" / "stale.txt").exists()
    assert (base / "3" / "saved_model.pb").is_file()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((base / "3" / "saved_model.pb").read_bytes())
    defaults = proto.meta_graphs[0].signature_def[BEAM_SIGNATURE].defaults
    assert {key: tf.make_ndarray(value) for key, value in defaults.items()} == {
        "beam_width": 2,
        "n_best": 2,
    }


@pytest.mark.slow
def test_failed_save_leaves_no_version(reverse_run, tmp_path, monkeypatch):
    base = tmp_path / "model"

    def broken_save(obj, export_dir, signatures=None, options=None):
        Path(export_dir, "saved_model.pb").write_bytes(b"half written")
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_model(reverse_run.run_dir, base)
    assert list(base.iterdir()) == []


@pytest.mark.slow
def test_failed_op_check_leaves_no_version(reverse_run, tmp_path, monkeypatch):
    # As if the server linked no TF-Text op: the tokenizer's NormalizeUTF8 must be refused.
    monkeypatch.setattr(op_check_lib, "TF_TEXT_SERVING_OPS", frozenset())
    base = tmp_path / "model"
    with pytest.raises(ServingOpsError, match=r"does not link: NormalizeUTF8"):
        export_model(reverse_run.run_dir, base)
    assert list(base.iterdir()) == []


def test_export_argument_errors(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="Model path not found"):
        export_model(tmp_path / "missing", tmp_path / "out")
    assert main(["export", "--output", str(tmp_path / "out")]) == 2
    assert "export needs --model RUN_DIR and --output" in capsys.readouterr().err
    assert main(["export", "--check", str(tmp_path), "--model", "x"]) == 2
    assert "leave out --model/--output" in capsys.readouterr().err


@pytest.mark.slow
def test_export_option_errors(reverse_run, tmp_path):
    with pytest.raises(ValueError, match=r"`n_best` must be at most 2\. Received: n_best=3"):
        export_model(reverse_run.run_dir, tmp_path / "m", beam_width=2, n_best=3)
    with pytest.raises(ValueError, match=r"`beam_width` must be at most 16"):
        export_model(reverse_run.run_dir, tmp_path / "m", beam_width=17)
    with pytest.raises(ValueError, match=r"`version` must be an integer >= 1"):
        export_model(reverse_run.run_dir, tmp_path / "m", version=0)
    assert not (tmp_path / "m").exists()


# -- the op check ---------------------------------------------------------------------------


class _Toy(tf.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = tf.function(fn, input_signature=[tf.TensorSpec([None], tf.float32)])


def _save_toy(path, fn):
    toy = _Toy(fn)
    tf.saved_model.save(toy, str(path), signatures={SERVING_SIGNATURE: toy.fn})
    return path


@pytest.mark.slow
def test_op_check_accepts_the_export(exported, capsys):
    op_types = check_saved_model_ops(exported)
    assert op_types == saved_model_op_types(exported)
    assert "NormalizeUTF8" in op_types and "While" in op_types
    assert not set(op_types) & op_check_lib.PYTHON_CALLBACK_OPS
    assert main(["export", "--check", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "all available in stock TF Serving" in out and "NormalizeUTF8" in out


@pytest.mark.slow
def test_op_check_rejects_py_function(tmp_path, capsys):
    path = _save_toy(tmp_path / "py", lambda x: tf.py_function(lambda t: t * 2, [x], tf.float32))
    with pytest.raises(ServingOpsError, match=r"Python callbacks.*: EagerPyFunc") as caught:
        check_saved_model_ops(path)
    assert "EagerPyFunc" in caught.value.offending[next(iter(caught.value.offending))]
    assert str(path) in str(caught.value)
    assert main(["export", "--check", str(path)]) == 2
    assert "EagerPyFunc" in capsys.readouterr().err


@pytest.mark.slow
def test_op_check_rejects_numpy_function(tmp_path):
    path = _save_toy(tmp_path / "np", lambda x: tf.numpy_function(lambda t: t * 2, [x], tf.float32))
    with pytest.raises(ServingOpsError, match=r"Python callbacks.*PyFunc"):
        check_saved_model_ops(path)


@pytest.mark.slow
def test_op_check_rejects_unknown_ops(tmp_path):
    from tensorflow.core.protobuf import saved_model_pb2

    path = _save_toy(tmp_path / "custom", lambda x: x * 2.0 + 1.0)
    message = saved_model_pb2.SavedModel()
    message.ParseFromString((path / "saved_model.pb").read_bytes())
    renamed = 0
    for function in message.meta_graphs[0].graph_def.library.function:
        for node in function.node_def:
            if node.op == "AddV2":
                node.op = "FancyCustomOp"
                renamed += 1
    assert renamed
    (path / "saved_model.pb").write_bytes(message.SerializeToString())
    assert "FancyCustomOp" in saved_model_op_types(path)
    with pytest.raises(ServingOpsError, match=r"unknown custom ops\): FancyCustomOp"):
        check_saved_model_ops(path)
    assert "FancyCustomOp" in check_saved_model_ops(path, allowed=["FancyCustomOp"])


@pytest.mark.slow
def test_op_check_compares_tf_text_attributes(tmp_path):
    import tensorflow_text as tf_text
    from tensorflow.core.protobuf import saved_model_pb2

    def normalize(x):
        return tf.strings.length(tf_text.normalize_utf8(tf.strings.as_string(x), "NFKC"))

    path = _save_toy(tmp_path / "text", normalize)
    assert op_check_lib.tf_text_attribute_mismatches(path) == []
    assert "NormalizeUTF8" in check_saved_model_ops(path)
    message = saved_model_pb2.SavedModel()
    message.ParseFromString((path / "saved_model.pb").read_bytes())
    for function in message.meta_graphs[0].graph_def.library.function:
        for node in function.node_def:
            if node.op == "NormalizeUTF8":
                node.attr["newer_option"].b = True  # as a newer TF-Text might write
                del node.attr["normalization_form"]  # required by the served release
    (path / "saved_model.pb").write_bytes(message.SerializeToString())
    assert op_check_lib.tf_text_attribute_mismatches(path) == [
        "NormalizeUTF8: attribute 'newer_option' unknown to TF-Text 2.20.0",
        "NormalizeUTF8: required attribute 'normalization_form' missing",
    ]
    with pytest.raises(
        ServingOpsError, match=r"TF-Text nodes that TF-Text 2\.20\.0 would not load"
    ):
        check_saved_model_ops(path)


def test_tf_text_signatures_are_those_stock_serving_links():
    from keras_seq2seq.serving.tf_text_ops import TF_TEXT_OP_ATTRS, TF_TEXT_VERSION

    assert TF_TEXT_VERSION == "2.20.0"
    needed = {"NormalizeUTF8", "WordpieceTokenizeWithOffsets", "SentencepieceOp",
              "SentencepieceTokenizeOp", "SentencepieceDetokenizeOp"}  # fmt: skip
    assert needed <= op_check_lib.TF_TEXT_SERVING_OPS == set(TF_TEXT_OP_ATTRS)
    assert TF_TEXT_OP_ATTRS["NormalizeUTF8"] == {"normalization_form": False}


def test_op_check_needs_a_saved_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="SavedModel directory not found"):
        check_saved_model_ops(tmp_path / "missing")
    (tmp_path / "7").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no saved_model\.pb.*version directories \(7\)"):
        check_saved_model_ops(tmp_path)


@pytest.mark.slow
def test_core_ops_exclude_tf_text():
    core = op_check_lib.core_op_names()
    assert {"While", "StatefulPartitionedCall", "UnicodeTranscode", "PyFunc"} <= core
    assert not core & op_check_lib.TF_TEXT_SERVING_OPS


# -- REST bodies and replies ----------------------------------------------------------------


def test_row_and_columnar_bodies():
    body = build_predict_body(["abc", "é"])
    assert body == {"signature_name": "serving_default", "instances": ["abc", "é"]}
    assert json.loads(json.dumps(body)) == body
    body = build_predict_body([b"ok", b"\xff\x00"], columnar=True)
    assert body == {
        "signature_name": "serving_default",
        "inputs": {"inputs": ["ok", {"b64": base64.b64encode(b"\xff\x00").decode()}]},
    }
    body = build_predict_body(["abc"], signature_name="beam_search", beam_width=4, n_best=2)
    assert body == {
        "signature_name": "beam_search",
        "inputs": {"inputs": ["abc"], "beam_width": 4, "n_best": 2},
    }
    with pytest.raises(ValueError, match="cannot be sent in the row format"):
        build_predict_body(["abc"], beam_width=4, columnar=False)
    with pytest.raises(ValueError, match=r"`beam_width` must be a positive integer.*=0"):
        build_predict_body(["abc"], beam_width=0)
    with pytest.raises(TypeError, match=r"`texts` must be a sequence.*Received: str"):
        build_predict_body("abc")
    with pytest.raises(TypeError, match="Item 1 is int"):
        build_predict_body(["a", 3])


def test_parse_replies_in_both_layouts():
    row = {"predictions": [{"outputs": "cba", "scores": -0.5}, {"outputs": "", "scores": -1.0}]}
    assert parse_predict_response(json.dumps(row)) == {
        "outputs": ["cba", ""],
        "scores": [-0.5, -1.0],
    }
    columnar = {"outputs": {"outputs": [["cba", "cab"]], "scores": [[-0.1, -2.0]]}}
    assert parse_predict_response(json.dumps(columnar).encode()) == columnar["outputs"]
    assert parse_predict_response({"predictions": ["x", {"b64": "/w=="}]}) == {
        "outputs": ["x", "\ufffd"]
    }
    assert parse_predict_response({"outputs": ["x"]}, output_name="y") == {"y": ["x"]}
    assert parse_predict_response({"outputs": {"o_bytes": [{"b64": "YQ=="}]}}) == {"o_bytes": ["a"]}
    with pytest.raises(ServingError, match="TF Serving error: Missing named input: n_best"):
        parse_predict_response({"error": "Missing named input: n_best in 'inputs' object."})
    with pytest.raises(ServingError, match="neither `predictions` nor `outputs`"):
        parse_predict_response({"result": 1})
    with pytest.raises(ServingError, match="not JSON"):
        parse_predict_response("<html>")


def test_predict_url():
    assert predict_url("http://h:8501/v1/models/m") == "http://h:8501/v1/models/m:predict"
    assert predict_url("http://h:8501/v1/models/m/versions/2/") == (
        "http://h:8501/v1/models/m/versions/2:predict"
    )
    assert predict_url("https://h/v1/models/m:predict") == "https://h/v1/models/m:predict"
    with pytest.raises(ValueError, match=r"http://HOST:8501/v1/models/NAME"):
        predict_url("saved_models/m")
    with pytest.raises(ValueError, match="not a TF Serving model URL"):
        predict_url("http://h:8501/m")


# -- a local stand-in for TF Serving --------------------------------------------------------


class _FakeTFServing(http.server.BaseHTTPRequestHandler):
    """Answers `:predict` like TF Serving's REST API (json_tensor.cc), from a loaded SavedModel."""

    signatures: ClassVar[dict] = {}
    requests: ClassVar[list] = []

    def log_message(self, *args):
        pass

    def _reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(body)
        if not self.path.endswith(":predict"):
            return self._reply(404, {"error": f"Malformed request: POST {self.path}"})
        name = body.get("signature_name", SERVING_SIGNATURE)
        function = self.signatures[name]
        specs = function.structured_input_signature[1]

        def tensor(name, value):
            if specs[name].dtype == tf.string:
                items = [base64.b64decode(v["b64"]) if isinstance(v, dict) else v for v in value]
                return tf.constant(items, tf.string)
            return tf.constant(value, specs[name].dtype)

        if "instances" in body:
            if len(specs) > 1:
                error = "instances is a plain list, but expecting list of objects"
                return self._reply(400, {"error": error})
            inputs = {"inputs": tensor("inputs", body["instances"])}
        else:
            missing = sorted(set(specs) - set(body["inputs"]))
            if missing:
                return self._reply(
                    400, {"error": f"Missing named input: {missing[0]} in 'inputs' object."}
                )
            inputs = {key: tensor(key, value) for key, value in body["inputs"].items()}
        try:
            outputs = function(**inputs)
        except tf.errors.InvalidArgumentError as error:
            return self._reply(400, {"error": error.message})
        columns = {}
        for key, value in outputs.items():
            value = value.numpy()
            if value.dtype == object:
                value = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(value)
            columns[key] = value.tolist()
        if "instances" in body:
            count = len(body["instances"])
            rows = [{key: columns[key][i] for key in columns} for i in range(count)]
            return self._reply(200, {"predictions": rows})
        return self._reply(200, {"outputs": columns})


@pytest.fixture(scope="module")
def fake_server(exported):
    loaded = tf.saved_model.load(str(exported))
    _FakeTFServing.signatures = dict(loaded.signatures)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeTFServing)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    # A watchdog, so the server stops by itself even if the test run is interrupted.
    watchdog = threading.Timer(600, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/models/reverse"
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.slow
def test_translate_over_rest(fake_server, translator, capsys):
    texts = ["abc", "hgfe", "", "a b"]
    assert main(["translate", "--model", fake_server, *texts]) == 0
    assert capsys.readouterr().out.splitlines() == translator.translate(texts)
    # One request, its texts in length order (the server decodes a batch as long as its longest).
    in_length_order = ["", "abc", "a b", "hgfe"]
    assert _FakeTFServing.requests[-1] == {
        "signature_name": "serving_default",
        "instances": in_length_order,
    }

    beam_args = ["--beam-width", "3", "--n-best", "2"]
    assert main(["translate", "--model", fake_server, *beam_args, "abc"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = translator.translate("abc", beam_width=3, n_best=2)
    assert [line.split("\t")[2] for line in lines] == [hyp.text for hyp in expected]
    assert [float(line.split("\t")[1]) for line in lines] == pytest.approx(
        [hyp.normalized_score for hyp in expected], abs=1e-4
    )
    sent = _FakeTFServing.requests[-1]["inputs"]
    assert sent == {"inputs": ["abc"], "beam_width": 3, "n_best": 2}


@pytest.mark.slow
def test_rest_translator_matches_in_process(fake_server, translator):
    client = RestTranslator(fake_server)
    texts = TEXTS[:30]
    assert client.translate(texts, batch_size=8) == translator.translate(texts)
    assert client.translate("abc", beam_width=4) == translator.translate("abc", beam_width=4)
    hyps = client.translate(["abc", "de"], beam_width=3, n_best=3)
    assert all(isinstance(h, Hypothesis) for row in hyps for h in row)
    assert [[h.text for h in row] for row in hyps] == [
        [h.text for h in row] for row in translator.translate(["abc", "de"], beam_width=3, n_best=3)
    ]
    assert client.translate([]) == []


@pytest.mark.slow
def test_rest_errors_are_clear(fake_server, capsys):
    client = RestTranslator(fake_server)
    with pytest.raises(ServingError, match=r"(?s)HTTP 400: .*`beam_width` must be at most 16"):
        client.translate("abc", beam_width=17)
    with pytest.raises(ServingError, match="HTTP 400: Missing named input: n_best"):
        client.predict(
            {"signature_name": "beam_search", "inputs": {"inputs": ["a"], "beam_width": 2}}
        )
    with pytest.raises(ValueError, match="fixed when the model is exported"):
        client.translate("abc", length_penalty=0.5)
    assert main(["translate", "--model", fake_server, "--max-length", "3", "abc"]) == 2
    assert "fixed when the model is exported" in capsys.readouterr().err
    with pytest.raises(ServingError, match=r"Could not reach TF Serving at http://127\.0\.0\.1:9/"):
        RestTranslator("http://127.0.0.1:9/v1/models/x", timeout=5).translate("abc")


# -- gRPC -----------------------------------------------------------------------------------


def test_grpc_request_without_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_serving", None)
    monkeypatch.setitem(sys.modules, "tensorflow_serving.apis", None)
    with pytest.raises(ImportError, match=r'pip install "keras-seq2seq\[serving\]"'):
        build_grpc_request("m", ["abc"])


def test_grpc_request_fields():
    pytest.importorskip("tensorflow_serving.apis.predict_pb2")
    request = build_grpc_request(
        "reverse", ["abc", b"\xff"], signature_name=BEAM_SIGNATURE, beam_width=4, version=3
    )
    assert request.model_spec.name == "reverse"
    assert request.model_spec.signature_name == BEAM_SIGNATURE
    assert request.model_spec.version.value == 3
    assert sorted(request.inputs) == ["beam_width", "inputs"]  # n_best: server default
    assert list(tf.make_ndarray(request.inputs["inputs"])) == [b"abc", b"\xff"]
    assert tf.make_ndarray(request.inputs["beam_width"]) == 4
    assert request.inputs["beam_width"].dtype == tf.int32.as_datatype_enum


@pytest.mark.slow
def test_grpc_round_trip_with_signature_defaults(exported, translator):
    pytest.importorskip("tensorflow_serving.apis.predict_pb2")
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    loaded = tf.saved_model.load(str(exported))
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((exported / "saved_model.pb").read_bytes())
    signature_defs = proto.meta_graphs[0].signature_def

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        """Fills missing inputs from SignatureDef.defaults, as TF Serving's predict_util does."""

        def Predict(self, request, context):  # noqa: N802 (gRPC's name)
            name = request.model_spec.signature_name or SERVING_SIGNATURE
            inputs = {key: tf.make_ndarray(value) for key, value in request.inputs.items()}
            for key, value in signature_defs[name].defaults.items():
                inputs.setdefault(key, tf.make_ndarray(value))
            outputs = loaded.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
            response = predict_pb2.PredictResponse()
            for key, value in outputs.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        target = f"127.0.0.1:{port}"
        texts = ["abc", "hgfe"]
        greedy = grpc_predict(target, build_grpc_request("reverse", texts), timeout=60)
        assert [o.decode() for o in greedy["outputs"]] == translator.translate(texts)
        beam = grpc_predict(
            target, build_grpc_request("reverse", texts, signature_name=BEAM_SIGNATURE)
        )
        assert beam["outputs"].shape == (2, 1)  # n_best default 1
        assert [o.decode() for o in beam["outputs"][:, 0]] == translator.translate(
            texts, beam_width=4
        )
    finally:
        server.stop(grace=None)
    with pytest.raises(ServingError, match=r"gRPC call to 127.0.0.1:9 failed: UNAVAILABLE"):
        grpc_predict("127.0.0.1:9", build_grpc_request("reverse", ["a"]), timeout=5)


def test_parse_grpc_response():
    pytest.importorskip("tensorflow_serving.apis.predict_pb2")
    from tensorflow_serving.apis import predict_pb2

    response = predict_pb2.PredictResponse()
    response.outputs["outputs"].CopyFrom(tf.make_tensor_proto(np.array([b"cba"], dtype=object)))
    response.outputs["scores"].CopyFrom(tf.make_tensor_proto(np.float32([-0.5])))
    parsed = parse_grpc_response(response)
    assert list(parsed["outputs"]) == [b"cba"] and parsed["scores"].tolist() == [-0.5]


REST_WITHOUT_TENSORFLOW = r"""
import http.server, json, sys, threading
from keras_seq2seq.serving.client import RestTranslator

class Reply(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["signature_name"] == "beam_search":
            texts = body["inputs"]["inputs"]
            n = body["inputs"]["n_best"]
            reply = {"outputs": {"outputs": [[t[::-1]] * n for t in texts],
                                 "scores": [[-1.0] * n for _ in texts]}}
        else:
            reply = {"predictions": [{"outputs": t[::-1], "scores": -1.0}
                                     for t in body["instances"]]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

server = http.server.HTTPServer(("127.0.0.1", 0), Reply)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = RestTranslator(f"http://127.0.0.1:{server.server_address[1]}/v1/models/m")
greedy = client.translate(["abc", "de"])
beam = client.translate(["abc"], beam_width=2, n_best=2)
print(json.dumps({"greedy": greedy, "beam": [[h.text for h in row] for row in beam],
                  "tensorflow": "tensorflow" in sys.modules}))
server.shutdown()
"""


def test_rest_client_runs_without_tensorflow():
    done = subprocess.run(
        [sys.executable, "-c", REST_WITHOUT_TENSORFLOW], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out == {"greedy": ["cba", "ed"], "beam": [["cba", "cba"]], "tensorflow": False}
