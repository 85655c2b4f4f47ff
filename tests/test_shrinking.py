"""Greedy search dropping finished rows (`keras_seq2seq.decoding.shrinking`)."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.decoding import beam_search, greedy_search
from keras_seq2seq.decoding.constraints import no_repeat_ngram_fn
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.shrinking import ContextStep, can_shrink
from keras_seq2seq.decoding.strategies import log_prob_processors
from tests.test_decoding import END, START, decode, make_state, make_step_fn, random_tables


def context_step(table, rows_seen=None):
    """The fake model of test_decoding with its example ids moved from the state to a context."""
    inner = make_step_fn(table)

    def model_step(tokens, state, context, time):
        if rows_seen is not None:
            rows_seen.append(int(tf.shape(tokens)[0]))
        log_probs, new_state, attention = inner(tokens, {**state, **context}, time)
        return log_probs, {k: v for k, v in new_state.items() if k not in context}, attention

    return model_step


def split_state(examples, attention):
    state = make_state(examples, attention=attention)
    return {k: v for k, v in state.items() if k != "example"}, {"example": state["example"]}


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("attention", [False, True])
def test_dropping_finished_rows_changes_no_output(mode, attention):
    # END is likely enough that outputs end at many different steps; some run to the cap.
    table = random_tables(seed=7, num_examples=12, num_steps=9)
    table[..., END] *= 3.0
    table /= table.sum(-1, keepdims=True)
    examples = list(range(12))
    caps = [0, 1, 2, 9, 9, 9, 3, 9, 9, 5, 9, 9]  # a zero cap: nothing to generate
    expected = decode(greedy_search, make_step_fn(table), make_state(examples, attention),
                      mode, max_lengths=caps, start_id=START, end_id=END, max_length=9)  # fmt: skip
    state, context = split_state(examples, attention)
    model_step = context_step(table)
    if mode == "eager":
        got = decode(greedy_search, ContextStep(model_step, context), state, mode,
                     max_lengths=caps, start_id=START, end_id=END, max_length=9)  # fmt: skip
    else:  # the context is a graph input too, its batch dimension unknown
        spec = tf.TensorSpec([None], tf.int32)

        @tf.function(input_signature=[{"step": spec}, spec, spec]
                     + ([tf.TensorSpec([None, 5])] if attention else []))  # fmt: skip
        def run(state, example, caps, *path):
            if path:
                state = {**state, "path": path[0]}
            step_fn = ContextStep(model_step, {"example": example})
            return greedy_search(step_fn, state, max_lengths=caps, start_id=START, end_id=END,
                                 max_length=9)  # fmt: skip

        extra = [state["path"]] if attention else []
        got = run({"step": state["step"]}, context["example"], tf.constant(caps), *extra)
        got = type(got)(*[None if x is None else x.numpy() for x in got])
    np.testing.assert_array_equal(got.ids, expected.ids)
    np.testing.assert_array_equal(got.lengths, expected.lengths)
    np.testing.assert_array_equal(got.scores, expected.scores)
    assert len(set(expected.lengths.tolist())) >= 4  # the rows did end at different steps
    if attention:
        np.testing.assert_array_equal(got.attention, expected.attention)
    else:
        assert got.attention is None


def test_later_steps_run_on_the_rows_still_decoding():
    table = random_tables(seed=3, num_examples=8, num_steps=6)
    examples, caps = list(range(8)), [1, 1, 2, 2, 3, 6, 6, 6]
    state, context = split_state(examples, attention=False)
    rows_seen = []
    result = greedy_search(ContextStep(context_step(table, rows_seen), context), state,
                           max_lengths=tf.constant(caps), start_id=START, end_id=END,
                           max_length=6)  # fmt: skip
    steps = result.ids.shape[1]
    assert rows_seen[0] == 8 and len(rows_seen) == steps
    assert rows_seen == sorted(rows_seen, reverse=True) and rows_seen[-1] < 8
    # Each row is stepped exactly as many times as its output is long.
    assert sum(rows_seen) == int(tf.reduce_sum(result.lengths))
    # A processor reads batch-sized inputs: with one, every row runs every step.
    rows_seen.clear()
    greedy_search(ContextStep(context_step(table, rows_seen), context), state,
                  max_lengths=tf.constant(caps), start_id=START, end_id=END, max_length=6,
                  adjust_fn=lambda log_probs, v: log_probs)  # fmt: skip
    assert set(rows_seen) == {8}


def test_only_row_local_processors_let_inputs_leave():
    step = ContextStep(lambda *arguments: None, {})
    assert can_shrink(step, None) and can_shrink(step, no_repeat_ngram_fn(3))
    assert not can_shrink(step, lambda log_probs, v: log_probs)  # might read batch inputs
    assert not can_shrink(lambda tokens, state, time: None, None)  # context captured
    blocking = log_prob_processors(DecodeOptions(no_repeat_ngram=3))
    assert can_shrink(step, blocking)
    prefix = {"prefix_ids": tf.ragged.constant([[4], [5]])}  # batch-sized: rows can't leave
    assert not can_shrink(step, log_prob_processors(DecodeOptions(no_repeat_ngram=3), prefix))


def test_context_step_is_an_ordinary_step_function():
    table = random_tables(seed=1, num_examples=3, num_steps=4)
    state, context = split_state([0, 1, 2], attention=False)
    step = ContextStep(context_step(table), context)
    log_probs, new_state, _ = step(tf.fill([3], START), state, tf.constant(0))
    assert log_probs.shape == (3, 5) and set(new_state) == {"step"}
    with pytest.raises(TypeError, match="`model_step` must be a callable"):
        ContextStep("not a function", context)


def per_input_step(model_step):
    """`model_step` over a context with one row per input, repeated here for its hypotheses
    (what a model whose `context_per_input` is true does inside its step)."""

    def step(tokens, state, context, time):
        width = tf.shape(tokens)[0] // tf.shape(context["example"])[0]
        return model_step(tokens, state, {"example": tf.repeat(context["example"], width)}, time)

    return step


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("options", [{}, {"length_penalty": 0.6, "n_best": 3},
                                     {"coverage_penalty": 0.4, "n_best": 2}, {"n_best": 2},
                                     {"adjust_fn": no_repeat_ngram_fn(2)}, {"per_input": True},
                                     {"per_input": True, "length_penalty": 0.6}])  # fmt: skip
def test_beam_search_dropping_finished_inputs_changes_no_output(mode, options):
    options = dict(options)
    per_input = options.pop("per_input", False)
    table = random_tables(seed=11, num_examples=10, num_steps=8)
    table[..., END] *= 2.5
    table /= table.sum(-1, keepdims=True)
    examples = list(range(10))
    caps = [0, 8, 1, 8, 3, 8, 8, 2, 8, 5]
    arguments = {"start_id": START, "end_id": END, "max_length": 8, "beam_width": 3, **options}
    expected = decode(beam_search, make_step_fn(table), make_state(examples, attention=True),
                      mode, max_lengths=caps, **arguments)  # fmt: skip
    state, context = split_state(examples, attention=True)
    rows_seen = []
    model_step = context_step(table, rows_seen if mode == "eager" else None)

    def run(state, example, caps):
        if per_input:  # one context row per input, dropped with its hypotheses
            step_fn = ContextStep(per_input_step(model_step), {"example": example}, True)
        else:  # as `Translator` does for most models: `beam_width` context rows per input
            step_fn = ContextStep(model_step, {"example": tf.repeat(example, 3)})
        return beam_search(step_fn, state, max_lengths=caps, **arguments)

    if mode == "graph":
        spec = tf.TensorSpec([None], tf.int32)
        run = tf.function(run, input_signature=[
            {"step": spec, "path": tf.TensorSpec([None, 5])}, spec, spec])  # fmt: skip
    got = run(state, context["example"], tf.constant(caps))
    # Without penalties an input leaves once its n-best hypotheses have ended, so the loop
    # may stop steps earlier: the results then end in fewer [PAD] columns.
    steps = expected.ids.shape[2]
    assert got.ids.shape[2] <= steps
    for name in ("ids", "lengths", "scores", "normalized_scores", "attention"):
        value = getattr(got, name).numpy()
        if name in ("ids", "attention"):
            padding = [(0, 0)] * value.ndim
            padding[2] = (0, steps - value.shape[2])
            value = np.pad(value, padding)
        np.testing.assert_allclose(value, getattr(expected, name), rtol=0, atol=0, err_msg=name)
    if not options:  # here every input's best hypothesis has ended by step 3 of 8
        assert got.ids.shape[2] == 3 < steps
    if mode == "eager":
        assert rows_seen[0] == 9 * 3 and rows_seen[-1] < rows_seen[0]
        assert all(n % 3 == 0 for n in rows_seen)  # whole inputs leave, all their beams
