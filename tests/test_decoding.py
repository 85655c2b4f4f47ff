"""Tests for keras_seq2seq.decoding against fake step functions with hand-worked tables."""

import re

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.decoding import (
    BeamResult,
    DecodeResult,
    beam_search,
    greedy_search,
    sample_search,
    tile_beams,
)

# Vocabulary of the fake models.
PAD, START, END, A, B = range(5)
V = 5

MODES = ["eager", "graph"]


# ---------------------------------------------------------------------------------------------
# Fake step functions.
#
# A table has shape [examples, steps, V, V]: table[e, t, prev] is the next-token distribution of
# example e at step t after token prev (the last step's rows repeat for later steps); the step
# comes from the `time` argument, so the tables only come out right if the decoders pass it. The
# state carries the example id, a step counter (checked against `time`) and optionally a "path"
# vector returned as the attention: path_t = 0.5 * path_{t-1} + one_hot(token fed at step t).
# Because it is read back from the state, it only comes out right if the decoder reorders the
# state with the beams.


def rows(spec, num_steps=1):
    """Builds a [num_steps, V, V] table from {prev: {token: p}} or {(step, prev): {token: p}}.

    Rows not given put all their mass on END.
    """
    table = np.zeros([num_steps, V, V])
    table[..., END] = 1.0
    for key, dist in spec.items():
        steps, prev = (range(num_steps), key) if isinstance(key, int) else ([key[0]], key[1])
        for step in steps:
            table[step, prev] = 0.0
            for token, p in dist.items():
                table[step, prev, token] = p
    return table


def stack(*tables):
    num_steps = max(t.shape[0] for t in tables)
    return np.stack([np.broadcast_to(t, [num_steps, V, V]) for t in tables])


def random_tables(seed, num_examples, num_steps, vocabulary_size=V):
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.full(vocabulary_size, 0.7), size=[num_examples, num_steps, V])
    # Never generate PAD or START: keeps the outputs readable (the decoders would not mind).
    table[..., [PAD, START]] = 0.0
    return table / table.sum(-1, keepdims=True)


def make_step_fn(table, calls=None):
    log_table = tf.math.log(tf.constant(table, tf.float32))
    last_step = table.shape[1] - 1

    def step_fn(tokens, state, time):
        if calls is not None:
            calls.append(1)
        tf.debugging.assert_equal(state["step"], time, message="time differs from the step count")
        step = tf.fill(tf.shape(tokens), tf.minimum(time, last_step))
        log_probs = tf.gather_nd(log_table, tf.stack([state["example"], step, tokens], axis=1))
        new_state = dict(state, step=state["step"] + 1)
        attention = None
        if "path" in state:
            vocabulary_size = tf.shape(state["path"])[1]
            new_state["path"] = 0.5 * state["path"] + tf.one_hot(tokens, vocabulary_size)
            attention = new_state["path"]
        return log_probs, new_state, attention

    return step_fn


def make_state(examples, attention=False, vocabulary_size=V):
    examples = tf.constant(examples, tf.int32)
    state = {"step": tf.zeros_like(examples), "example": examples}
    if attention:
        state["path"] = tf.zeros([len(examples), vocabulary_size])
    return state


def path_attention(tokens, length, steps, vocabulary_size=V):
    """Expected [steps, vocabulary_size] attention of a hypothesis (zeros after its end)."""
    fed = [START, *tokens]
    out = np.zeros([steps, vocabulary_size], np.float32)
    current = np.zeros(vocabulary_size, np.float32)
    for t in range(length):
        current = 0.5 * current + np.eye(vocabulary_size, dtype=np.float32)[fed[t]]
        out[t] = current
    return out


def logp(*probs):
    """Sum of float32 log-probabilities, added left to right like the decoders do."""
    total = np.float32(0.0)
    for p in probs:
        total = total + np.log(np.float32(p))
    return total


def lp(length, alpha):
    return ((5.0 + length) / 6.0) ** alpha


def to_numpy(result):
    return type(result)(*[None if x is None else x.numpy() for x in result])


def decode(decoder, step_fn, state, mode, max_lengths=None, **kwargs):
    """Runs a decoder eagerly or in a tf.function whose batch dimension is unknown."""
    if max_lengths is not None:
        max_lengths = tf.constant(max_lengths, tf.int32)
    if mode == "eager":
        return to_numpy(decoder(step_fn, state, max_lengths=max_lengths, **kwargs))
    spec = tf.nest.map_structure(lambda t: tf.TensorSpec([None, *t.shape[1:]], t.dtype), state)
    if max_lengths is None:
        fn = tf.function(lambda s: decoder(step_fn, s, **kwargs), input_signature=[spec])
        return to_numpy(fn(state))
    fn = tf.function(
        lambda s, m: decoder(step_fn, s, max_lengths=m, **kwargs),
        input_signature=[spec, tf.TensorSpec([None], tf.int32)],
    )
    return to_numpy(fn(state, max_lengths))


# Example 0 reads "a b [END]"; example 1 ends at once.
GREEDY_TABLE = stack(
    rows({START: {A: 0.6, B: 0.3, END: 0.1}, A: {B: 0.5, A: 0.2, END: 0.3}, B: {END: 0.7, A: 0.3}}),
    rows({START: {END: 0.9, A: 0.1}}),
    # Example 2 loops on "a": it only stops at a cap.
    rows({START: {A: 0.8, END: 0.2}, A: {A: 0.8, END: 0.2}}),
)


# ---------------------------------------------------------------------------------------------
# Greedy search.


@pytest.mark.parametrize("mode", MODES)
def test_greedy_tokens_scores_lengths_and_padding(mode):
    # Example 0: START -> a (0.6) -> b (0.5) -> END (0.7). Example 1: START -> END (0.9), then
    # PAD while example 0 goes on. Both ended after 3 steps although max_length is 10.
    result = decode(
        greedy_search,
        make_step_fn(GREEDY_TABLE),
        make_state([0, 1], attention=True),
        mode,
        start_id=START,
        end_id=END,
        max_length=10,
    )
    assert isinstance(result, DecodeResult)
    np.testing.assert_array_equal(result.ids, [[A, B, END], [END, PAD, PAD]])
    np.testing.assert_array_equal(result.lengths, [3, 1])
    np.testing.assert_allclose(result.scores, [logp(0.6, 0.5, 0.7), logp(0.9)], rtol=1e-6)
    assert result.ids.dtype == np.int32 and result.lengths.dtype == np.int32
    assert result.scores.dtype == np.float32
    np.testing.assert_array_equal(
        result.attention,
        [path_attention([A, B, END], 3, 3), path_attention([END], 1, 3)],
    )


def test_greedy_stops_as_soon_as_all_ended():
    calls = []
    result = greedy_search(
        make_step_fn(GREEDY_TABLE, calls),
        make_state([0, 1]),
        start_id=START,
        end_id=END,
        max_length=10,
    )
    assert result.ids.shape == (2, 3)
    assert len(calls) == 3
    assert result.attention is None


@pytest.mark.parametrize("mode", MODES)
def test_greedy_max_length_cap(mode):
    # Example 0 is cut after "a b" (no END); example 1 had ended at step 1.
    result = decode(
        greedy_search,
        make_step_fn(GREEDY_TABLE),
        make_state([0, 1]),
        mode,
        start_id=START,
        end_id=END,
        max_length=2,
    )
    np.testing.assert_array_equal(result.ids, [[A, B], [END, PAD]])
    np.testing.assert_array_equal(result.lengths, [2, 1])
    np.testing.assert_allclose(result.scores, [logp(0.6, 0.5), logp(0.9)], rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_greedy_per_example_max_lengths(mode):
    # Caps are min(4, [2, 10]) = [2, 4]: example 0 is cut after "a b", the looping example 2
    # after four "a".
    result = decode(
        greedy_search,
        make_step_fn(GREEDY_TABLE),
        make_state([0, 2], attention=True),
        mode,
        max_lengths=[2, 10],
        start_id=START,
        end_id=END,
        max_length=4,
    )
    np.testing.assert_array_equal(result.ids, [[A, B, PAD, PAD], [A, A, A, A]])
    np.testing.assert_array_equal(result.lengths, [2, 4])
    np.testing.assert_allclose(result.scores, [logp(0.6, 0.5), logp(0.8, 0.8, 0.8, 0.8)], rtol=1e-6)
    np.testing.assert_array_equal(
        result.attention,
        [path_attention([A, B], 2, 4), path_attention([A, A, A, A], 4, 4)],
    )


@pytest.mark.parametrize("mode", MODES)
def test_greedy_zero_cap_generates_nothing(mode):
    result = decode(
        greedy_search,
        make_step_fn(GREEDY_TABLE),
        make_state([2, 2]),
        mode,
        max_lengths=[0, 1],
        start_id=START,
        end_id=END,
        max_length=5,
    )
    np.testing.assert_array_equal(result.ids, [[PAD], [A]])
    np.testing.assert_array_equal(result.lengths, [0, 1])
    np.testing.assert_allclose(result.scores, [0.0, logp(0.8)], rtol=1e-6)


def test_greedy_accepts_any_nested_state():
    table = tf.math.log(tf.constant(GREEDY_TABLE[0, 0], tf.float32))

    def step_fn(tokens, state, time):
        hidden, (cell,) = state
        return tf.gather(table, tokens), (hidden + 1.0, (cell,)), None

    state = (tf.zeros([3, 2]), (tf.zeros([3, 4, 1]),))
    result = greedy_search(step_fn, state, start_id=START, end_id=END, max_length=5)
    np.testing.assert_array_equal(result.ids, [[A, B, END]] * 3)
    assert result.attention is None


def test_graph_mode_outputs_have_unknown_batch_dimension():
    step_fn = make_step_fn(GREEDY_TABLE)
    state = make_state([0], attention=True)
    spec = tf.nest.map_structure(lambda t: tf.TensorSpec([None, *t.shape[1:]], t.dtype), state)
    greedy = tf.function(
        lambda s: greedy_search(step_fn, s, start_id=START, end_id=END, max_length=4),
        input_signature=[spec],
    ).get_concrete_function()
    assert greedy.structured_outputs.ids.shape.as_list() == [None, None]
    assert greedy.structured_outputs.attention.shape.as_list() == [None, None, V]
    beam = tf.function(
        lambda s: beam_search(
            step_fn, s, start_id=START, end_id=END, beam_width=3, max_length=4, n_best=2
        ),
        input_signature=[spec],
    ).get_concrete_function()
    assert beam.structured_outputs.ids.shape.as_list() == [None, 2, None]
    assert beam.structured_outputs.scores.shape.as_list() == [None, 2]


# ---------------------------------------------------------------------------------------------
# Beam search.

# Greedy picks "a" (0.6) then END (0.4): 0.24. Beam search keeps "b" (0.4) and finds
# "b END" = 0.4 * 0.9 = 0.36.
BETTER_THAN_GREEDY = rows(
    {
        (0, START): {A: 0.6, B: 0.4},
        (1, A): {A: 0.3, B: 0.3, END: 0.4},
        (1, B): {END: 0.9, A: 0.05, B: 0.05},
    },
    num_steps=3,
)


@pytest.mark.parametrize("mode", MODES)
def test_beam_k2_finds_more_probable_sequence_than_greedy(mode):
    step_fn = make_step_fn(stack(BETTER_THAN_GREEDY))
    greedy = decode(
        greedy_search, step_fn, make_state([0]), mode, start_id=START, end_id=END, max_length=5
    )
    np.testing.assert_array_equal(greedy.ids, [[A, END]])
    np.testing.assert_allclose(greedy.scores, [logp(0.6, 0.4)], rtol=1e-6)

    # Step 0 (only beam 0 alive): a 0.6, b 0.4.
    # Step 1 candidates: b END 0.36, a END 0.24, a a 0.18, a b 0.18, b a 0.02, b b 0.02.
    # Keep "b END" and "a END": both ended, so the search stops after 2 steps.
    result = decode(
        beam_search,
        step_fn,
        make_state([0]),
        mode,
        start_id=START,
        end_id=END,
        beam_width=2,
        max_length=5,
        n_best=2,
    )
    assert isinstance(result, BeamResult)
    np.testing.assert_array_equal(result.ids, [[[B, END], [A, END]]])
    np.testing.assert_array_equal(result.lengths, [[2, 2]])
    np.testing.assert_allclose(result.scores, [[logp(0.4, 0.9), logp(0.6, 0.4)]], rtol=1e-6)
    np.testing.assert_array_equal(result.normalized_scores, result.scores)
    assert result.attention is None


@pytest.mark.parametrize("mode", MODES)
def test_beam_n_best_ordering(mode):
    # K=3. Step 0: a 0.6, b 0.4, and a third beam of probability 0 (it counts as ended).
    # Step 1 candidates: b END 0.36, a END 0.24, a a 0.18, a b 0.18 (tie: the lower token id
    # "a" wins), ... Step 2: "a a" -> END (1.0) = 0.18; the two ended hypotheses are frozen.
    result = decode(
        beam_search,
        make_step_fn(stack(BETTER_THAN_GREEDY)),
        make_state([0]),
        mode,
        start_id=START,
        end_id=END,
        beam_width=3,
        max_length=5,
        n_best=3,
    )
    np.testing.assert_array_equal(result.ids, [[[B, END, PAD], [A, END, PAD], [A, A, END]]])
    np.testing.assert_array_equal(result.lengths, [[2, 2, 3]])
    np.testing.assert_allclose(
        result.scores, [[logp(0.4, 0.9), logp(0.6, 0.4), logp(0.6, 0.3, 1.0)]], rtol=1e-6
    )
    assert np.all(np.diff(result.scores[0]) <= 0)

    top2 = decode(
        beam_search,
        make_step_fn(stack(BETTER_THAN_GREEDY)),
        make_state([0]),
        mode,
        start_id=START,
        end_id=END,
        beam_width=3,
        max_length=5,
        n_best=2,
    )
    np.testing.assert_array_equal(top2.ids, result.ids[:, :2])
    np.testing.assert_array_equal(top2.scores, result.scores[:, :2])


# Step 0: a 0.6, END 0.3, b 0.1. Step 1 after "a": a 0.6, b 0.4. Step 2 after "a a": END 0.8,
# a 0.2. The short hypothesis "END" (0.3) ends at step 0 and must compete, frozen, with the long
# one "a a END" (0.288).
SHORT_VS_LONG = rows(
    {
        (0, START): {A: 0.6, END: 0.3, B: 0.1},
        (1, A): {A: 0.6, B: 0.4},
        (2, A): {END: 0.8, A: 0.2},
    },
    num_steps=3,
)


@pytest.mark.parametrize("mode", MODES)
def test_beam_frozen_short_hypothesis_wins_without_length_penalty(mode):
    # Step 1 candidates: a a 0.36, END (frozen) 0.3, a b 0.24 -> beams [a a, END].
    # Step 2 candidates: END (frozen) 0.3, a a END 0.288, a a a 0.072 -> beams [END, a a END]:
    # the parents swap (1, 0), which the attention check below relies on.
    result = decode(
        beam_search,
        make_step_fn(stack(SHORT_VS_LONG)),
        make_state([0], attention=True),
        mode,
        start_id=START,
        end_id=END,
        beam_width=2,
        max_length=6,
        n_best=2,
    )
    np.testing.assert_array_equal(result.ids, [[[END, PAD, PAD], [A, A, END]]])
    np.testing.assert_array_equal(result.lengths, [[1, 3]])
    # The table gives [PAD] probability 0 after END: a frozen hypothesis costs nothing anyway.
    np.testing.assert_allclose(result.scores, [[logp(0.3), logp(0.6, 0.6, 0.8)]], rtol=1e-6)
    np.testing.assert_array_equal(result.normalized_scores, result.scores)
    np.testing.assert_array_equal(
        result.attention,
        [[path_attention([END], 1, 3), path_attention([A, A, END], 3, 3)]],
    )


@pytest.mark.parametrize("mode", MODES)
def test_beam_length_penalty_changes_the_winner(mode):
    # alpha = 1, lp(len) = (5 + len) / 6, candidates ranked by log p / lp:
    # step 1: a a  log(0.36) / (7/6) = -0.876, END log(0.3) / 1 = -1.204,
    #         a b  log(0.24) / (7/6) = -1.223 -> beams [a a, END];
    # step 2: a a END  log(0.288) / (8/6) = -0.934, END -1.204 -> the long hypothesis wins.
    result = decode(
        beam_search,
        make_step_fn(stack(SHORT_VS_LONG)),
        make_state([0], attention=True),
        mode,
        start_id=START,
        end_id=END,
        beam_width=2,
        max_length=6,
        n_best=2,
        length_penalty=1.0,
    )
    np.testing.assert_array_equal(result.ids, [[[A, A, END], [END, PAD, PAD]]])
    np.testing.assert_array_equal(result.lengths, [[3, 1]])
    long_score, short_score = logp(0.6, 0.6, 0.8), logp(0.3)
    np.testing.assert_allclose(result.scores, [[long_score, short_score]], rtol=1e-6)
    np.testing.assert_allclose(
        result.normalized_scores, [[long_score / lp(3, 1.0), short_score / lp(1, 1.0)]], rtol=1e-6
    )
    np.testing.assert_array_equal(
        result.attention,
        [[path_attention([A, A, END], 3, 3), path_attention([END], 1, 3)]],
    )


@pytest.mark.parametrize("mode", MODES)
def test_beam_ranks_by_normalized_score_at_every_step(mode):
    # Step 0: a 0.6, END 0.35, b 0.05. Step 1 after "a": a 0.5, b 0.5; then END.
    # With alpha = 1 the step 1 candidates rank a a = a b = log(0.3) / (7/6) = -1.032 above the
    # frozen END = log(0.35) / 1 = -1.050, so END leaves the beam (ranking by raw log-prob
    # would have kept it: 0.35 > 0.3). Step 2: a a END, a b END, both log(0.3) / (8/6).
    table = rows({(0, START): {A: 0.6, END: 0.35, B: 0.05}, (1, A): {A: 0.5, B: 0.5}}, num_steps=3)
    result = decode(
        beam_search,
        make_step_fn(stack(table)),
        make_state([0]),
        mode,
        start_id=START,
        end_id=END,
        beam_width=2,
        max_length=5,
        n_best=2,
        length_penalty=1.0,
    )
    np.testing.assert_array_equal(result.ids, [[[A, A, END], [A, B, END]]])
    expected = logp(0.6, 0.5, 1.0)
    np.testing.assert_allclose(result.scores, [[expected, expected]], rtol=1e-6)
    np.testing.assert_allclose(result.normalized_scores, [[expected / lp(3, 1.0)] * 2], rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_beam_first_step_has_no_duplicates_and_impossible_beams_do_not_hold_the_loop(mode):
    # Only a, b and END are possible after START, and everything ends after one more token, so
    # with K=5 two beams hold hypotheses of probability 0. They count as ended: the search still
    # stops after 2 steps, and they come last.
    table = rows({START: {A: 0.5, B: 0.3, END: 0.2}, A: {END: 1.0}, B: {END: 1.0}})
    result = decode(
        beam_search,
        make_step_fn(stack(table)),
        make_state([0]),
        mode,
        start_id=START,
        end_id=END,
        beam_width=5,
        max_length=10,
        n_best=4,
    )
    assert result.ids.shape == (1, 4, 2)
    np.testing.assert_array_equal(result.ids[0, :3], [[A, END], [B, END], [END, PAD]])
    np.testing.assert_allclose(
        result.scores[0, :3], [logp(0.5, 1.0), logp(0.3, 1.0), logp(0.2)], rtol=1e-6
    )
    assert result.scores[0, 3] == -np.inf


@pytest.mark.parametrize("mode", MODES)
def test_beam_forced_stop_at_caps(mode):
    # Example 2 loops on "a" (0.8) or ends (0.2). K=2:
    # step 0: a 0.8, END 0.2; step 1: a a 0.64, END 0.2 (frozen), a END 0.16;
    # step 2: a a a 0.512, END 0.2, a a END 0.128. A cap of 3 stops here: the best hypothesis
    # has no END. With a cap of 2 the search stops after step 1.
    result = decode(
        beam_search,
        make_step_fn(GREEDY_TABLE),
        make_state([2, 2], attention=True),
        mode,
        max_lengths=[2, 7],
        start_id=START,
        end_id=END,
        beam_width=2,
        max_length=3,
        n_best=2,
    )
    np.testing.assert_array_equal(
        result.ids, [[[A, A, PAD], [END, PAD, PAD]], [[A, A, A], [END, PAD, PAD]]]
    )
    np.testing.assert_array_equal(result.lengths, [[2, 1], [3, 1]])
    np.testing.assert_allclose(
        result.scores,
        [[logp(0.8, 0.8), logp(0.2)], [logp(0.8, 0.8, 0.8), logp(0.2)]],
        rtol=1e-6,
    )
    np.testing.assert_array_equal(
        result.attention[0], [path_attention([A, A], 2, 3), path_attention([END], 1, 3)]
    )


def _random_case(seed, num_examples, num_steps=6):
    table = random_tables(seed, num_examples, num_steps)
    return make_step_fn(table), make_state(list(range(num_examples)), attention=True)


@pytest.mark.parametrize("mode", MODES)
def test_beam_width_one_equals_greedy_exactly(mode):
    step_fn, state = _random_case(seed=0, num_examples=6)
    kwargs = dict(start_id=START, end_id=END, max_length=6, max_lengths=[6, 5, 4, 3, 6, 6])
    greedy = decode(greedy_search, step_fn, state, mode, **kwargs)
    beam = decode(beam_search, step_fn, state, mode, beam_width=1, **kwargs)
    assert beam.ids.shape[1] == 1
    np.testing.assert_array_equal(beam.ids[:, 0], greedy.ids)
    np.testing.assert_array_equal(beam.lengths[:, 0], greedy.lengths)
    np.testing.assert_array_equal(beam.scores[:, 0], greedy.scores)
    np.testing.assert_array_equal(beam.attention[:, 0], greedy.attention)
    # The random tables make the examples end at different steps.
    assert len(set(greedy.lengths.tolist())) > 1


@pytest.mark.parametrize("mode", MODES)
def test_beam_batch_equals_one_example_at_a_time(mode):
    step_fn, state = _random_case(seed=1, num_examples=3)
    kwargs = dict(
        start_id=START, end_id=END, beam_width=3, n_best=3, max_length=6, length_penalty=0.6
    )
    batch = decode(beam_search, step_fn, state, mode, **kwargs)
    steps = batch.ids.shape[-1]
    for example in range(3):
        alone = decode(beam_search, step_fn, make_state([example], attention=True), mode, **kwargs)
        pad = steps - alone.ids.shape[-1]
        np.testing.assert_array_equal(np.pad(alone.ids[0], [(0, 0), (0, pad)]), batch.ids[example])
        np.testing.assert_array_equal(alone.lengths[0], batch.lengths[example])
        np.testing.assert_allclose(alone.scores[0], batch.scores[example], rtol=1e-6)
        np.testing.assert_allclose(
            alone.normalized_scores[0], batch.normalized_scores[example], rtol=1e-6
        )
        np.testing.assert_allclose(
            np.pad(alone.attention[0], [(0, 0), (0, pad), (0, 0)]), batch.attention[example]
        )
        assert np.all(np.diff(batch.normalized_scores[example]) <= 0)
        for rank, length in enumerate(batch.lengths[example]):
            tokens = batch.ids[example, rank, :length].tolist()
            np.testing.assert_array_equal(
                batch.attention[example, rank], path_attention(tokens, length, steps)
            )


def test_tile_beams_layout():
    state = {"h": tf.constant([[1.0], [2.0]]), "c": (tf.constant([3, 4]),)}
    tiled = tile_beams(state, beam_width=3)
    np.testing.assert_array_equal(tiled["h"], [[1.0]] * 3 + [[2.0]] * 3)
    np.testing.assert_array_equal(tiled["c"][0], [3, 3, 3, 4, 4, 4])


# ---------------------------------------------------------------------------------------------
# Sampling.


@pytest.mark.parametrize("mode", MODES)
def test_sample_is_reproducible_with_a_seed(mode):
    step_fn, state = _random_case(seed=2, num_examples=8)
    kwargs = dict(start_id=START, end_id=END, max_length=6)
    first = decode(sample_search, step_fn, state, mode, seed=3, **kwargs)
    again = decode(sample_search, step_fn, state, mode, seed=3, **kwargs)
    other = decode(sample_search, step_fn, state, mode, seed=4, **kwargs)
    np.testing.assert_array_equal(first.ids, again.ids)
    np.testing.assert_array_equal(first.scores, again.scores)
    assert first.ids.shape != other.ids.shape or np.any(first.ids != other.ids)
    # Ended sequences are padded, scores are the model's log-probabilities of the draws.
    for ids, length in zip(first.ids, first.lengths, strict=True):
        assert np.all(ids[length:] == PAD)
        assert length == ids.shape[0] or ids[length - 1] == END


@pytest.mark.parametrize("mode", MODES)
def test_sample_top_k_1_and_low_temperature_equal_greedy(mode):
    step_fn, state = _random_case(seed=4, num_examples=6)
    kwargs = dict(start_id=START, end_id=END, max_length=6)
    greedy = decode(greedy_search, step_fn, state, mode, **kwargs)
    top1 = decode(sample_search, step_fn, state, mode, top_k=1, temperature=3.0, seed=1, **kwargs)
    cold = decode(sample_search, step_fn, state, mode, temperature=1e-6, seed=1, **kwargs)
    for result in (top1, cold):
        np.testing.assert_array_equal(result.ids, greedy.ids)
        np.testing.assert_array_equal(result.lengths, greedy.lengths)
        np.testing.assert_array_equal(result.scores, greedy.scores)
        np.testing.assert_array_equal(result.attention, greedy.attention)


def _first_token_frequencies(mode, **kwargs):
    # One step from START: a 0.6, b 0.3, END 0.1.
    table = stack(rows({START: {A: 0.6, B: 0.3, END: 0.1}}))
    result = decode(
        sample_search,
        make_step_fn(table),
        make_state([0] * 4000),
        mode,
        start_id=START,
        end_id=END,
        max_length=1,
        seed=11,
        **kwargs,
    )
    first = result.ids[:, 0]
    expected_scores = np.log(np.array([1.0, 1.0, 0.1, 0.6, 0.3], np.float32))[first]
    np.testing.assert_allclose(result.scores, expected_scores, rtol=1e-6)
    return np.bincount(first, minlength=V) / len(first)


@pytest.mark.parametrize("mode", MODES)
def test_sample_temperature_and_top_k_shape_the_distribution(mode):
    np.testing.assert_allclose(
        _first_token_frequencies(mode)[[A, B, END]], [0.6, 0.3, 0.1], atol=0.03
    )
    # temperature 2: p ** (1/2) renormalized = [0.775, 0.548, 0.316] / 1.639.
    np.testing.assert_allclose(
        _first_token_frequencies(mode, temperature=2.0)[[A, B, END]],
        [0.473, 0.334, 0.193],
        atol=0.03,
    )
    # temperature 0.5: p ** 2 renormalized = [0.36, 0.09, 0.01] / 0.46.
    np.testing.assert_allclose(
        _first_token_frequencies(mode, temperature=0.5)[[A, B, END]],
        [0.783, 0.196, 0.022],
        atol=0.03,
    )
    # top_k 2: END is never drawn, a and b keep their 2:1 ratio.
    np.testing.assert_allclose(
        _first_token_frequencies(mode, top_k=2)[[A, B, END]], [2 / 3, 1 / 3, 0.0], atol=0.03
    )


def test_sample_without_seed_runs():
    step_fn, state = _random_case(seed=5, num_examples=4)
    result = sample_search(step_fn, state, start_id=START, end_id=END, max_length=4, top_k=3)
    assert result.ids.shape[0] == 4
    assert result.attention.shape[:2] == result.ids.shape


# ---------------------------------------------------------------------------------------------
# Argument validation.


def _dummy_step_fn(tokens, state, time):
    return tf.zeros([tf.shape(tokens)[0], V]), state, None


DUMMY_STATE = {"h": tf.zeros([2, 3])}
BASE = dict(start_id=START, end_id=END, max_length=5)


def _raises(error, message):
    return pytest.raises(error, match=re.escape(message))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"beam_width": 0},
            ValueError,
            "`beam_width` must be a positive integer. Received: beam_width=0.",
        ),
        (
            {"beam_width": 2.0},
            TypeError,
            "`beam_width` must be a positive integer. Received: beam_width=2.0 of type float.",
        ),
        ({"n_best": 0}, ValueError, "`n_best` must be an integer between 1 and `beam_width` (2)."),
        (
            {"n_best": 3},
            ValueError,
            "`n_best` must be an integer between 1 and `beam_width` (2). Received: n_best=3.",
        ),
        ({"n_best": True}, TypeError, "`n_best` must be an integer"),
        (
            {"length_penalty": -0.5},
            ValueError,
            "`length_penalty` must be a non-negative finite number. Received: length_penalty=-0.5.",
        ),
        ({"length_penalty": "1"}, TypeError, "`length_penalty` must be a non-negative"),
        (
            {"max_length": 0},
            ValueError,
            "`max_length` must be a positive integer. Received: max_length=0.",
        ),
    ],
)
def test_beam_search_argument_errors(kwargs, error, message):
    arguments = {**BASE, "beam_width": 2, **kwargs}
    with _raises(error, message):
        beam_search(_dummy_step_fn, DUMMY_STATE, **arguments)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"temperature": 0},
            ValueError,
            "`temperature` must be a positive finite number. Received: temperature=0.",
        ),
        ({"temperature": -1.0}, ValueError, "`temperature` must be a positive finite number."),
        ({"temperature": float("nan")}, ValueError, "`temperature` must be a positive finite"),
        (
            {"temperature": None},
            TypeError,
            "`temperature` must be a positive finite number. "
            "Received: temperature=None of type NoneType.",
        ),
        ({"top_k": -1}, ValueError, "`top_k` must be a non-negative integer. Received: top_k=-1."),
        ({"top_k": 1.5}, TypeError, "`top_k` must be a non-negative integer."),
        (
            {"seed": -1},
            ValueError,
            "`seed` must be a non-negative integer or None. Received: seed=-1.",
        ),
        ({"seed": "7"}, TypeError, "`seed` must be a non-negative integer or None."),
        ({"max_length": -3}, ValueError, "`max_length` must be a positive integer."),
    ],
)
def test_sample_search_argument_errors(kwargs, error, message):
    with _raises(error, message):
        sample_search(_dummy_step_fn, DUMMY_STATE, **dict(BASE, **kwargs))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"max_length": 0},
            ValueError,
            "`max_length` must be a positive integer. Received: max_length=0.",
        ),
        ({"max_length": 2.5}, TypeError, "`max_length` must be a positive integer."),
        ({"start_id": -1}, ValueError, "`start_id` must be a non-negative integer."),
        ({"end_id": 0}, ValueError, "`end_id` must differ from the padding id 0"),
        ({"end_id": None}, TypeError, "`end_id` must be a non-negative integer."),
        ({"initial_state": {}}, ValueError, "`initial_state` must contain at least one tensor"),
        ({"initial_state": tf.constant(1.0)}, ValueError, "needs a leading batch dimension"),
        (
            {"initial_state": (tf.zeros([2]), tf.zeros([3]))},
            ValueError,
            "same leading (batch) dimension. Received leading dimensions [2, 3].",
        ),
        (
            {"step_fn": lambda tokens, state, time: (tf.zeros([2, V]), state, tf.zeros([2, 3, 4]))},
            ValueError,
            "attention weights of shape [batch, source_length] (or None). Received shape",
        ),
        (
            {"max_lengths": tf.zeros([2, 1], tf.int32)},
            ValueError,
            "`max_lengths` must be an integer tensor of shape [batch]. Received shape (2, 1).",
        ),
        (
            {"max_lengths": [1.0, 2.0]},
            TypeError,
            "`max_lengths` must be an integer tensor of shape [batch]. Received dtype float32.",
        ),
        ({"step_fn": "not callable"}, TypeError, "`step_fn` must be a callable"),
        (
            {"step_fn": lambda tokens, state, time: (tf.zeros([2, V]), state)},
            TypeError,
            "`step_fn` must return a triple",
        ),
        (
            {"step_fn": lambda tokens, state, time: (tf.zeros([2, V]), [state], None)},
            ValueError,
            "`step_fn` must return a new state with the same structure",
        ),
        (
            {"step_fn": lambda tokens, state, time: (tf.zeros([2]), state, None)},
            ValueError,
            "log-probabilities of shape [batch, vocabulary_size]. Received shape (2,).",
        ),
    ],
)
@pytest.mark.parametrize("decoder", ["greedy", "beam", "sample"])
def test_common_argument_errors(decoder, kwargs, error, message):
    arguments = {**BASE, "step_fn": _dummy_step_fn, "initial_state": DUMMY_STATE, **kwargs}
    step_fn, state = arguments.pop("step_fn"), arguments.pop("initial_state")
    if decoder == "beam":
        arguments["beam_width"] = 2
    function = {"greedy": greedy_search, "beam": beam_search, "sample": sample_search}[decoder]
    with _raises(error, message):
        function(step_fn, state, **arguments)


def test_tile_beams_argument_errors():
    with _raises(ValueError, "`beam_width` must be a positive integer. Received: beam_width=0."):
        tile_beams(DUMMY_STATE, 0)
    with _raises(TypeError, "`beam_width` must be a positive integer."):
        tile_beams(DUMMY_STATE, "2")


# ---------------------------------------------------------------------------------------------
# Beam width and n-best as tensors (one traced graph for every width, as in an export).


def _tensor_width_search(step_fn, state):
    spec = tf.nest.map_structure(lambda t: tf.TensorSpec([None, *t.shape[1:]], t.dtype), state)
    scalar = tf.TensorSpec([], tf.int32)

    @tf.function(input_signature=[spec, scalar, scalar])
    def search(s, beam_width, n_best):
        return beam_search(
            step_fn, s, start_id=START, end_id=END, max_length=6, length_penalty=0.6,
            beam_width=beam_width, n_best=n_best,
        )  # fmt: skip

    return search


def test_beam_tensor_width_equals_int_width():
    step_fn, state = _random_case(seed=2, num_examples=4)
    search = _tensor_width_search(step_fn, state)
    for beam_width in (1, 2, 3, 5):
        for n_best in sorted({1, beam_width}):
            expected = decode(
                beam_search, step_fn, state, "graph", start_id=START, end_id=END, max_length=6,
                length_penalty=0.6, beam_width=beam_width, n_best=n_best,
            )  # fmt: skip
            result = to_numpy(search(state, tf.constant(beam_width), tf.constant(n_best)))
            np.testing.assert_array_equal(result.ids, expected.ids)
            np.testing.assert_array_equal(result.lengths, expected.lengths)
            np.testing.assert_array_equal(result.scores, expected.scores)
            np.testing.assert_allclose(result.normalized_scores, expected.normalized_scores)
            np.testing.assert_array_equal(result.attention, expected.attention)
    # Eagerly too, with one of the two a tensor.
    eager = beam_search(
        step_fn, state, start_id=START, end_id=END, max_length=6, beam_width=tf.constant(3),
        n_best=2,
    )  # fmt: skip
    expected = decode(beam_search, step_fn, state, "eager", start_id=START, end_id=END,
                      max_length=6, beam_width=3, n_best=2)  # fmt: skip
    np.testing.assert_array_equal(eager.ids.numpy(), expected.ids)


@pytest.mark.parametrize(
    ("beam_width", "n_best", "message"),
    [
        (0, 1, "`beam_width` must be a positive integer."),
        (2, 3, "`n_best` must be an integer between 1 and `beam_width`."),
        (2, 0, "`n_best` must be an integer between 1 and `beam_width`."),
    ],
)
def test_beam_tensor_width_checked_when_the_graph_runs(beam_width, n_best, message):
    step_fn, state = _random_case(seed=3, num_examples=2)
    search = _tensor_width_search(step_fn, state)
    with _raises(tf.errors.InvalidArgumentError, message):
        search(state, tf.constant(beam_width), tf.constant(n_best))


def test_beam_tensor_width_argument_errors():
    arguments = {**BASE, "n_best": 1}
    with _raises(TypeError, "`beam_width` must be a positive integer. Received a tensor of dtype"):
        beam_search(_dummy_step_fn, DUMMY_STATE, beam_width=tf.constant(2.0), **arguments)
    with _raises(ValueError, "a Python int or a scalar tensor. Received a tensor of shape (1,)"):
        beam_search(_dummy_step_fn, DUMMY_STATE, beam_width=tf.constant([2]), **arguments)
    tiled = tile_beams({"h": tf.constant([[1.0], [2.0]])}, tf.constant(2, tf.int64))
    np.testing.assert_array_equal(tiled["h"], [[1.0], [1.0], [2.0], [2.0]])


@pytest.mark.parametrize("beam_width", [1, 3, 6, tf.constant(3)])
def test_beam_candidates_per_hypothesis_select_as_one_top_k_over_all(beam_width):
    # Without penalties beam search takes each hypothesis's best extensions first, then the
    # best of those: the same tokens, parents and scores as one `top_k` over all of them,
    # ties included (log-probs on a coarse grid tie often), with finished and impossible
    # hypotheses (score -inf) among them, and a vocabulary smaller than the beam.
    from keras_seq2seq.decoding.beam import _select_all, _select_by_rows

    rng = np.random.default_rng(5)
    width = int(beam_width)
    for vocabulary in (4, 9):
        log_probs = np.round(rng.normal(-3.0, 1.0, (7, width, vocabulary)) * 2) / 2
        log_probs[0, :, 1] = -np.inf  # a blocked token
        scores = np.round(rng.normal(-4.0, 2.0, (7, width)) * 2) / 2
        scores[1, 1:] = -np.inf  # the first step: one live hypothesis
        finished = rng.random((7, width)) < 0.3
        finished[2] = True
        loop_vars = {"scores": tf.constant(scores, tf.float32), "finished": tf.constant(finished),
                     "lengths": tf.ones(finished.shape, tf.int32)}  # fmt: skip
        log_probs = tf.constant(log_probs, tf.float32)
        expected = _select_all(0.0, 0.0, beam_width)(log_probs, loop_vars)
        got = _select_by_rows(beam_width)(log_probs, loop_vars)
        for name in ("tokens", "scores", "parents"):
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), name)
