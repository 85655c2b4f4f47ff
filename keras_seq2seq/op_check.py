"""The serving-op audit: can stock TF Serving run every op of a SavedModel?

Serving-op check. Stock TF Serving runs TF core ops plus the TF-Text ops it links: its model
server binary depends on `@org_tensorflow_text//tensorflow_text:ops_lib`
(`SUPPORTED_TENSORFLOW_OPS` in tensorflow_serving/model_servers/BUILD), pinned by
tensorflow_serving/workspace.bzl to a TF-Text release that lags far behind pip (v2.8.2 in the
version read), and exercised by its `test_tf_text` regression model, built by
tensorflow/text oss_scripts/model_server/save_models.py. `TF_TEXT_SERVING_OPS` lists the op
types of exactly the TF-Text functions that regression model calls (traced with tensorflow-text
2.21); newer ops such as `TFText>ByteSplitByOffsets` (used by today's
`StateBasedSentenceBreaker`) are left out on purpose. "Core" means registered by a plain
`import tensorflow` in a fresh interpreter that never imports tensorflow_text. Python callbacks
(`PyFunc`, `PyFuncStateless`, `EagerPyFunc`: `tf.py_function`, `tf.numpy_function`) are core ops
but cannot run in a C++ server, so they are rejected too. The model server must be at least the
TensorFlow version that exported the model.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TF_TEXT_SERVING_OPS = frozenset(
    {
        # text.viterbi_constrained_sequence
        "ConstrainedSequence",
        # text.normalize_utf8_with_offsets_map, text.find_source_offsets
        "NormalizeUTF8WithOffsetsMap",
        "FindSourceOffsets",
        # text.max_spanning_tree
        "MaxSpanningTree",
        # text.case_fold_utf8, text.normalize_utf8 (the tokenizers here use NormalizeUTF8)
        "CaseFoldUTF8",
        "NormalizeUTF8",
        # text.regex_split
        "RegexSplitWithOffsets",
        # text.metrics.rouge_l
        "RougeL",
        # text.sentence_fragments, StateBasedSentenceBreaker
        "SentenceFragments",
        "SentenceFragmentsV2",
        # SentencepieceTokenizer: tokenize, detokenize, with offsets, vocab_size, id/string
        "SentencepieceOp",
        "SentencepieceTokenizeOp",
        "SentencepieceTokenizeWithOffsetsOp",
        "SentencepieceDetokenizeOp",
        "SentencepieceVocabSizeOp",
        "SentencepieceIdToStringOp",
        "SentencepieceStringToIdOp",
        # SplitMergeTokenizer, SplitMergeFromLogitsTokenizer
        "SplitMergeTokenizeWithOffsets",
        "TokenizerFromLogits",
        # UnicodeScriptTokenizer, WhitespaceTokenizer, WordpieceTokenizer
        "UnicodeScriptTokenizeWithOffsets",
        "TFText>WhitespaceTokenizeWithOffsetsV2",
        "WordpieceTokenizeWithOffsets",
    }
)
"""TF-Text op types that stock TF Serving links and tests (see the module docstring)."""

PYTHON_CALLBACK_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
"""Core ops that call back into Python: a C++ model server cannot run them."""

_CORE_OPS_SCRIPT = """
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
try:
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session as c_api
    op_list = op_def_pb2.OpList()
    op_list.ParseFromString(c_api.TF_GetBuffer(c_api.TF_GetAllOpList()))
    names = [op.name for op in op_list.op]
except Exception:  # The private API moved: tf.raw_ops is generated from core ops only.
    names = [name for name in dir(tf.raw_ops) if not name.startswith("_")]
if "tensorflow_text" in sys.modules:
    sys.exit("tensorflow_text was imported; cannot list the core ops")
json.dump(sorted(names), sys.stdout)
"""


class ServingOpsError(ValueError):
    """A SavedModel uses ops that stock TF Serving cannot run.

    Attributes:
        path: Path of the SavedModel.
        offending: dict mapping a reason to the sorted op types it applies to.
    """

    def __init__(self, path: Path, offending: dict[str, list[str]]):
        self.path = path
        self.offending = offending
        lines = [f"{path} uses ops that stock TF Serving cannot run:"]
        lines += [f"  {reason}: {', '.join(ops)}" for reason, ops in offending.items()]
        lines.append(
            "Fix: build the graph from TF core ops (tf.strings, tf.lookup, ...) and the TF-Text "
            "ops in keras_seq2seq.op_check.TF_TEXT_SERVING_OPS; replace tf.py_function/"
            "tf.numpy_function with TensorFlow ops, or serve with a model server built with "
            "the custom op library."
        )
        super().__init__("\n".join(lines))


@functools.lru_cache(maxsize=1)
def core_op_names() -> frozenset[str]:
    """Op types registered by a plain `import tensorflow` (no tensorflow_text).

    Runs once per process, in a fresh interpreter, since this one has loaded TF-Text ops.

    Returns:
        frozenset of op type names.

    Raises:
        RuntimeError: the interpreter could not list them (its error output is included).
    """
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CORE_OPS_SCRIPT],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tempfile.gettempdir(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(
            f"Could not list the core TensorFlow ops with {sys.executable}: {error}"
        ) from error
    if done.returncode != 0:
        raise RuntimeError(
            f"Could not list the core TensorFlow ops: `{sys.executable} -c ...` exited with "
            f"status {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return frozenset(json.loads(done.stdout))


def _read_saved_model(path: Path) -> Any:
    from tensorflow.core.protobuf import saved_model_pb2

    if not path.is_dir():
        raise FileNotFoundError(f"SavedModel directory not found: {path}")
    message = saved_model_pb2.SavedModel()
    binary, text = path / "saved_model.pb", path / "saved_model.pbtxt"
    if binary.is_file():
        message.ParseFromString(binary.read_bytes())
    elif text.is_file():
        from google.protobuf import text_format

        text_format.Parse(text.read_text(encoding="utf-8"), message)
    else:
        versions = sorted(child.name for child in path.iterdir() if child.name.isdigit())
        hint = (
            f" It holds version directories ({', '.join(versions)}): pass one of them."
            if versions
            else ""
        )
        raise FileNotFoundError(
            f"{path} is not a SavedModel directory: no saved_model.pb or saved_model.pbtxt.{hint}"
        )
    return message


def saved_model_op_types(path: str | Path) -> list[str]:
    """Lists the op types used anywhere in a SavedModel.

    Every meta graph is read: the nodes of its `graph_def` and of every function in its function
    library. Nodes that call a library function by name are calls, not ops, and are skipped.

    Args:
        path: str or Path. A SavedModel directory (holding `saved_model.pb`).

    Returns:
        Sorted list of op type names.

    Raises:
        FileNotFoundError: the directory or its `saved_model.pb` is missing.

    Example:
    >>> saved_model_op_types("saved_models/dates/1")[:3]  # doctest: +SKIP
    ['AddV2', 'All', 'Any']
    """
    message = _read_saved_model(Path(path))
    types: set[str] = set()
    functions: set[str] = set()
    for meta_graph in message.meta_graphs:
        graph = meta_graph.graph_def
        types.update(node.op for node in graph.node)
        for function in graph.library.function:
            functions.add(function.signature.name)
            types.update(node.op for node in function.node_def)
    return sorted(types - functions)


def check_saved_model_ops(path: str | Path, *, allowed: Iterable[str] = ()) -> list[str]:
    """Checks that stock TF Serving can run every op of a SavedModel.

    Allowed: ops registered by plain TensorFlow, except the Python callbacks
    (`PYTHON_CALLBACK_OPS`), plus the TF-Text ops TF Serving links (`TF_TEXT_SERVING_OPS`) and
    `allowed`.

    Args:
        path: str or Path. A SavedModel directory.
        allowed: iterable of str. More op types to accept (ops of a custom model server).
            Defaults to none.

    Returns:
        Sorted list of the op types the SavedModel uses.

    Raises:
        FileNotFoundError: `path` is not a SavedModel directory.
        ServingOpsError: some ops are not available; the message lists them by reason.

    Example:
    >>> "NormalizeUTF8" in check_saved_model_ops("saved_models/dates/1")  # doctest: +SKIP
    True
    """
    path = Path(path)
    op_types = saved_model_op_types(path)
    core = core_op_names()
    extra = TF_TEXT_SERVING_OPS | frozenset(allowed)
    callbacks = [op for op in op_types if op in PYTHON_CALLBACK_OPS]
    missing = [op for op in op_types if op not in core and op not in extra]
    offending: dict[str, list[str]] = {}
    if callbacks:
        offending["Python callbacks (tf.py_function / tf.numpy_function)"] = callbacks
    if missing:
        from tensorflow.python.framework import op_def_registry

        library = [op for op in missing if op_def_registry.get(op) is not None]
        unknown = [op for op in missing if op not in library]
        if library:
            offending[
                "ops of a library loaded here (e.g. a newer tensorflow_text) that stock TF "
                "Serving does not link"
            ] = library
        if unknown:
            offending["ops not registered in TensorFlow (unknown custom ops)"] = unknown
    if offending:
        raise ServingOpsError(path, offending)
    return op_types
