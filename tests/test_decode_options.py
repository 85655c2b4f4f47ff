"""Tests for keras_seq2seq.decoding.options: one validated description of how to decode."""

import dataclasses
import subprocess
import sys

import pytest

from keras_seq2seq.decoding.options import DecodeOptions


def test_defaults_are_greedy_search():
    options = DecodeOptions()
    assert options.search == "greedy"
    assert options.to_dict() == {
        "beam_width": 1, "n_best": 1, "length_penalty": 0.0, "max_length": None,
        "max_length_ratio": None, "temperature": None, "top_k": 0, "seed": None,
        "no_repeat_ngram": 0, "coverage_penalty": 0.0, "min_score": None, "replace_unknown": False,
        "top_p": None, "prefix": None,
    }  # fmt: skip
    assert DecodeOptions(beam_width=4).search == "beam"
    assert DecodeOptions(temperature=0.7, top_k=5, seed=1).search == "sampling"


def test_options_are_frozen_hashable_and_normalized():
    options = DecodeOptions(beam_width=4, length_penalty=1, max_length_ratio=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.beam_width = 2  # type: ignore[misc]
    assert isinstance(options.length_penalty, float) and isinstance(options.max_length_ratio, float)
    assert options == DecodeOptions(beam_width=4, length_penalty=1.0, max_length_ratio=2.0)
    assert len({options, DecodeOptions(beam_width=4, length_penalty=1.0, max_length_ratio=2)}) == 1
    assert options.replace(n_best=2).n_best == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beam_width": 0}, r"`beam_width` must be a positive integer. Received: beam_width=0\."),
        ({"beam_width": 257}, r"`beam_width` must be at most 256"),
        ({"n_best": 3, "beam_width": 2}, r"`n_best` must be at most 2. Received: n_best=3"),
        ({"length_penalty": -0.5}, r"`length_penalty` must be a non-negative finite number"),
        ({"length_penalty": float("nan")}, r"`length_penalty` must be a non-negative finite"),
        ({"max_length": 0}, r"`max_length` must be a positive integer"),
        ({"max_length_ratio": 0}, r"`max_length_ratio` must be a positive finite number"),
        ({"temperature": 0.0}, r"`temperature` must be a positive finite number"),
        ({"temperature": 1.0, "beam_width": 2}, r"use beam_width=1"),
        ({"top_k": 3}, r"also pass `temperature`"),
        ({"seed": 7}, r"also pass `temperature`"),
        ({"top_k": -1, "temperature": 1.0}, r"`top_k` must be an integer >= 0"),
        ({"seed": 2**63, "temperature": 1.0}, r"`seed` must be at most"),
        ({"no_repeat_ngram": -1}, r"`no_repeat_ngram` must be an integer >= 0"),
        ({"coverage_penalty": -0.1, "beam_width": 4}, r"`coverage_penalty` must be a non-negative"),
    ],
)
def test_values_out_of_range_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DecodeOptions(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beam_width": 2.0}, r"`beam_width` must be a positive integer. Received: beam_width=2.0 "
         r"of type float"),
        ({"beam_width": True}, r"of type bool"),
        ({"n_best": "2"}, r"`n_best` must be a positive integer"),
        ({"length_penalty": "1"}, r"`length_penalty` must be a non-negative finite number"),
        ({"max_length": 3.5}, r"`max_length` must be a positive integer"),
        ({"temperature": "hot"}, r"`temperature` must be a positive finite number"),
    ],
)  # fmt: skip
def test_wrong_types_raise_type_error(kwargs, match):
    with pytest.raises(TypeError, match=match):
        DecodeOptions(**kwargs)


def test_coerce_takes_options_dicts_or_keywords():
    options = DecodeOptions(beam_width=3)
    assert DecodeOptions.coerce(options) is options
    assert DecodeOptions.coerce({"beam_width": 3}) == options
    assert DecodeOptions.coerce(beam_width=3) == options
    assert DecodeOptions.coerce() == DecodeOptions()
    with pytest.raises(TypeError, match=r"either as `options=DecodeOptions\(...\)` or as keywords"):
        DecodeOptions.coerce(options, n_best=2)
    with pytest.raises(TypeError, match=r"Unknown decoding option\(s\) \['beam'\]"):
        DecodeOptions.coerce(beam=3)


def test_importing_the_options_does_not_import_tensorflow():
    code = (
        "import sys; from keras_seq2seq.decoding.options import DecodeOptions; "
        "DecodeOptions(beam_width=2); print('tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
