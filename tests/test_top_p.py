"""Tests for decoding.nucleus: top-p (nucleus) sampling, its option and its flag."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.cli import main
from keras_seq2seq.decoding.nucleus import nucleus_mask, top_p_processor
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.search import decode
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.serving.export import export_options

# Vocabulary: 0 [PAD], 1 [START], 2 [END], 3.. tokens. After [START] the next token has
# probabilities 0.5 (id 3), 0.3 (id 4), 0.2 (id 5); after any other token [END] is certain.
FIRST = np.log([1e-9, 1e-9, 1e-9, 0.5, 0.3, 0.2]).astype("float32")
AFTER = np.log([1e-9, 1e-9, 1.0, 1e-9, 1e-9, 1e-9]).astype("float32")
COMMON = {"start_id": 1, "end_id": 2, "max_length": 3}
TEXTS = ["abc", "hgfe", "a", "dcbah", "bb", "cafe"]


def step_fn(tokens, state, time):
    rows = tf.where((tokens == 1)[:, None], FIRST[None], AFTER[None])
    return rows, state, None


def _first_tokens(options, batch=400):
    result = decode(step_fn, {"h": tf.zeros([batch, 1])}, options, **COMMON)
    return result.ids.numpy()[:, 0, 0]


def test_nucleus_mask_by_hand():
    logits = tf.math.log([[0.1, 0.6, 0.3]])
    np.testing.assert_array_equal(nucleus_mask(logits, 0.7), [[False, True, True]])
    np.testing.assert_array_equal(nucleus_mask(logits, 0.6), [[False, True, False]])
    np.testing.assert_array_equal(nucleus_mask(logits, 0.95), [[True, True, True]])
    np.testing.assert_array_equal(nucleus_mask(logits, 1.0), [[True, True, True]])
    # Ties go to the lowest id, as in greedy search; rank 3 ([batch, beam, V]) works too.
    ties = tf.zeros([1, 2, 3])
    np.testing.assert_array_equal(nucleus_mask(ties, 0.2), [[[True, False, False]] * 2])


def test_sampling_draws_only_from_the_nucleus():
    # 0.5 + 0.3 >= 0.7: ids 3 and 4 are the nucleus; id 5 (probability 0.2) is never drawn.
    drawn = _first_tokens(DecodeOptions(temperature=1.0, top_p=0.7, seed=1))
    assert set(drawn) == {3, 4}
    assert set(_first_tokens(DecodeOptions(temperature=1.0, seed=1))) == {3, 4, 5}
    # The nucleus is taken from the tempered distribution: at temperature 2 the probabilities
    # become about 0.415, 0.322 and 0.263, so 0.45 of the mass needs two tokens, not one.
    assert set(_first_tokens(DecodeOptions(temperature=1.0, top_p=0.45, seed=1))) == {3}
    assert set(_first_tokens(DecodeOptions(temperature=2.0, top_p=0.45, seed=1))) == {3, 4}


def test_scores_stay_the_untempered_log_probabilities():
    options = DecodeOptions(temperature=2.0, top_p=0.7, seed=4)
    result = decode(step_fn, {"h": tf.zeros([50, 1])}, options, **COMMON)
    first = result.ids.numpy()[:, 0, 0]
    np.testing.assert_allclose(result.scores.numpy()[:, 0], FIRST[first] + AFTER[2], rtol=1e-6)


@pytest.fixture(scope="module")
def translator(tiny_run):
    return load(tiny_run)


def _decoded(translator, **options):
    (batch,) = translator.decode(TEXTS, **options)
    return batch.outputs, batch.scores


def test_top_p_one_equals_plain_sampling(translator):
    plain = _decoded(translator, temperature=1.5, seed=3)
    nucleus = _decoded(translator, temperature=1.5, top_p=1.0, seed=3)
    np.testing.assert_array_equal(nucleus[0], plain[0])
    np.testing.assert_array_equal(nucleus[1], plain[1])


def test_tiny_top_p_equals_greedy(translator):
    greedy = _decoded(translator)
    nucleus = _decoded(translator, temperature=1.5, top_p=1e-6, seed=3)
    np.testing.assert_array_equal(nucleus[0], greedy[0])
    np.testing.assert_array_equal(nucleus[1], greedy[1])
    # A plain sample at that temperature differs from greedy (the check above can fail).
    assert not np.array_equal(_decoded(translator, temperature=1.5, seed=3)[0], greedy[0])


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"temperature": 1.0, "top_p": 0.0}, ValueError, r"`top_p` must be a number in \(0, 1\]"),
        ({"temperature": 1.0, "top_p": 1.5}, ValueError, r"`top_p` must be a number in \(0, 1\]"),
        ({"temperature": 1.0, "top_p": "0.5"}, TypeError, "top_p"),
        ({"top_p": 0.9}, ValueError, "`top_p` applies to sampling: also pass `temperature`"),
        ({"top_p": 0.9, "beam_width": 2}, ValueError, "`top_p` applies to sampling"),
    ],
)
def test_option_errors(options, error, match):
    with pytest.raises(error, match=match):
        DecodeOptions(**options)


def test_processor_only_with_top_p_below_one():
    assert top_p_processor(DecodeOptions(temperature=1.0), {}) is None
    assert top_p_processor(DecodeOptions(temperature=1.0, top_p=1.0), {}) is None
    adjust = top_p_processor(DecodeOptions(temperature=1.0, top_p=0.6), {})
    out = adjust(tf.math.log([[[0.1, 0.6, 0.3]]]), {})
    np.testing.assert_allclose(np.exp(out.numpy()), [[[0.0, 0.6, 0.0]]], rtol=1e-6)


def test_sampling_is_not_exported():
    with pytest.raises(ValueError, match="not exported"):
        export_options(DecodeOptions(temperature=1.0, top_p=0.5))


def test_translate_flag(tiny_run, translator, capsys):
    args = ["translate", "--model", str(tiny_run), *TEXTS[:3]]
    assert main([*args, "--temperature", "1.5", "--top-p", "1e-6", "--seed", "2"]) == 0
    assert capsys.readouterr().out.split("\n")[:3] == translator.translate(TEXTS[:3])
    assert main([*args, "--top-p", "0.5"]) != 0
    assert "--top-p" in capsys.readouterr().err
