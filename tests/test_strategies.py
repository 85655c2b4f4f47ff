"""Tests for decoding.strategies: the strategy and processor registries."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.decoding import beam_search, greedy_search, sample_search
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.prefix import MODEL_LOG_PROBS
from keras_seq2seq.decoding.strategies import (
    PROCESSORS,
    STRATEGIES,
    Beam,
    Greedy,
    OneHypothesis,
    Sampling,
    chain_processors,
    get_strategy,
    log_prob_processors,
    make_strategy,
)

# Vocabulary: 0 [PAD], 1 [START], 2 [END], 3 "a", 4 "b". Next-token table by previous token.
TABLE = np.log(
    [
        [0.1, 0.1, 0.4, 0.2, 0.2],
        [0.02, 0.02, 0.16, 0.5, 0.3],
        [0.1, 0.1, 0.6, 0.1, 0.1],
        [0.02, 0.02, 0.36, 0.2, 0.4],
        [0.02, 0.02, 0.56, 0.3, 0.1],
    ]
).astype("float32")
COMMON = {"start_id": 1, "end_id": 2, "max_length": 6}


def step_fn(tokens, state, time):
    return tf.gather(TABLE, tokens), state, None


def _state(batch=3):
    return {"h": tf.zeros([batch, 2])}


def test_registry_holds_the_three_strategies():
    assert {"greedy": Greedy, "beam": Beam, "sampling": Sampling} == STRATEGIES
    for name, cls in STRATEGIES.items():
        assert get_strategy(name) is cls
        assert cls.name == name


def test_unknown_strategy_names_the_registered_ones():
    with pytest.raises(ValueError, match=r"Unknown decoding strategy 'nucleus'.*'beam'"):
        get_strategy("nucleus")


@pytest.mark.parametrize(
    "options, name, width",
    [
        (DecodeOptions(), "greedy", 1),
        (DecodeOptions(beam_width=4, n_best=2), "beam", 4),
        (DecodeOptions(temperature=0.5), "sampling", 1),
    ],
)
def test_make_strategy_builds_what_the_options_ask_for(options, name, width):
    strategy = make_strategy(options)
    assert strategy.name == name == options.search
    assert strategy.width == width
    assert strategy.options is options


def test_tensor_widths_always_mean_beam_search():
    strategy = make_strategy(DecodeOptions(), beam_width=tf.constant(3), n_best=tf.constant(2))
    assert strategy.name == "beam"
    assert int(strategy.width) == 3
    with pytest.raises(tf.errors.InvalidArgumentError, match="n_best"):
        make_strategy(DecodeOptions(), beam_width=tf.constant(2), n_best=tf.constant(3))


def _same(result, expected_ids, expected_scores):
    np.testing.assert_array_equal(result.ids.numpy(), expected_ids)
    np.testing.assert_array_equal(result.scores.numpy(), expected_scores)


def test_strategies_equal_the_search_functions_in_one_result_type():
    greedy = make_strategy(DecodeOptions()).decode(step_fn, _state(), **COMMON)
    reference = greedy_search(step_fn, _state(), **COMMON)
    _same(greedy, reference.ids.numpy()[:, None], reference.scores.numpy()[:, None])
    np.testing.assert_array_equal(greedy.normalized_scores, greedy.scores)

    options = DecodeOptions(beam_width=3, n_best=2, length_penalty=0.6)
    beam = make_strategy(options).decode(step_fn, _state(), **COMMON)
    reference = beam_search(step_fn, _state(), beam_width=3, n_best=2, length_penalty=0.6, **COMMON)
    _same(beam, reference.ids, reference.scores)
    np.testing.assert_array_equal(beam.normalized_scores, reference.normalized_scores)

    options = DecodeOptions(temperature=1.3, top_k=3, seed=5)
    sampled = make_strategy(options).decode(step_fn, _state(8), **COMMON)
    reference = sample_search(step_fn, _state(8), temperature=1.3, top_k=3, seed=5, **COMMON)
    _same(sampled, reference.ids.numpy()[:, None], reference.scores.numpy()[:, None])


def test_strategy_checks_the_common_arguments():
    with pytest.raises(ValueError, match="end_id"):
        make_strategy(DecodeOptions()).decode(step_fn, _state(), start_id=1, end_id=0,
                                              max_length=3)  # fmt: skip


def test_a_new_strategy_is_one_class_and_one_registry_line(monkeypatch):
    class Worst(OneHypothesis):
        name = "worst"

        def choice(self):
            return lambda log_probs, step: tf.argmin(log_probs, axis=-1, output_type=tf.int32)

    monkeypatch.setitem(STRATEGIES, "worst", Worst)
    result = get_strategy("worst")(DecodeOptions()).decode(step_fn, _state(1), **COMMON)
    # The least likely token after [START] is [PAD] (id 0, ties to the lowest id).
    assert result.ids.numpy()[0, 0, 0] == 0


def test_processor_registry_order_and_defaults():
    assert list(PROCESSORS) == ["no_repeat_ngram", "top_p", "prefix"]
    assert log_prob_processors(DecodeOptions()) is None
    assert log_prob_processors(DecodeOptions(temperature=1.0, top_p=1.0)) is None
    assert log_prob_processors(DecodeOptions(no_repeat_ngram=2)) is not None
    assert log_prob_processors(DecodeOptions(temperature=1.0, top_p=0.5)) is not None


def test_chain_applies_in_order_and_keeps_the_model_log_probs():
    seen = []

    def add_one(log_probs, loop_vars):
        return log_probs + 1.0

    def record(log_probs, loop_vars):
        seen.append((log_probs.numpy(), loop_vars[MODEL_LOG_PROBS].numpy()))
        return log_probs * 2.0

    chained = chain_processors([add_one, record])
    out = chained(tf.constant([[[1.0, 2.0]]]), {"step": tf.constant(0)})
    np.testing.assert_array_equal(out.numpy(), [[[4.0, 6.0]]])
    np.testing.assert_array_equal(seen[0][0], [[[2.0, 3.0]]])
    np.testing.assert_array_equal(seen[0][1], [[[1.0, 2.0]]])
