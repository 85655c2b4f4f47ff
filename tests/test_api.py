"""Tests for the top-level API of keras_seq2seq: lazy names, no TensorFlow until one is used."""

import importlib
import inspect
import os
import re
import subprocess
import sys

import pytest

import keras_seq2seq
from keras_seq2seq.quiet import is_noise

PUBLIC = {
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


def _python(code: str, env_update: dict[str, str | None] | None = None):
    env = dict(os.environ)
    for name, value in (env_update or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )


def test_all_lists_the_public_names_and_the_version():
    assert set(keras_seq2seq.__all__) == {"__version__", *PUBLIC}
    assert dir(keras_seq2seq) == sorted(keras_seq2seq.__all__)
    assert keras_seq2seq.__version__ == "0.1.0"


def test_import_alone_imports_no_tensorflow():
    done = _python(
        "import sys, keras_seq2seq as ks\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
        "print(dir(ks) == sorted(ks.__all__))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "True"]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_resolves_to_its_module_and_has_an_example(name):
    value = getattr(keras_seq2seq, name)
    assert value is getattr(importlib.import_module(PUBLIC[name]), name)
    assert keras_seq2seq.__dict__[name] is value  # cached: the next use is a plain lookup
    doc = inspect.getdoc(value) or ""
    assert re.search(r"\nExamples?:\n\s*>>> ", doc), f"{name} has no Example section"


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match=r"module 'keras_seq2seq' has no attribute 'trian'"):
        keras_seq2seq.trian  # noqa: B018
    assert not hasattr(keras_seq2seq, "distil")


@pytest.mark.parametrize(
    ("env_update", "setup", "expected"),
    [
        ({"TF_CPP_MIN_LOG_LEVEL": None}, "", "3"),  # not set: the package quiets TensorFlow
        ({"TF_CPP_MIN_LOG_LEVEL": "0"}, "", "0"),  # the user's level wins
        # TensorFlow imported before the package: the package leaves the level alone.
        (
            {"TF_CPP_MIN_LOG_LEVEL": None},
            "import sys, types; sys.modules['tensorflow'] = types.ModuleType('tensorflow')\n",
            "None",
        ),
    ],
)
def test_tensorflow_log_level_default(env_update, setup, expected):
    done = _python(
        setup + "import os, keras_seq2seq\nprint(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))",
        env_update,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


@pytest.mark.slow
def test_top_level_names_work_and_tensorflow_log_lines_stay_out():
    done = _python(
        "import sys, keras_seq2seq as ks\n"
        "assert 'tensorflow' not in sys.modules\n"
        "ks.train; ks.load; ks.Translator; ks.export_model; ks.read_pairs\n"
        "import tensorflow as tf\n"
        "print(int(tf.reduce_sum(tf.constant([1, 2]))))\n"
        "print('a message of the program', file=sys.stderr)\n",
        {"TF_CPP_MIN_LOG_LEVEL": None},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    lines = done.stderr.splitlines()
    assert "a message of the program" in lines
    assert [line for line in lines if is_noise(line.encode())] == []
    assert "cuInit" not in done.stderr and "oneDNN" not in done.stderr
