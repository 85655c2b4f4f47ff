"""Tests for keras_seq2seq.decoding.constraints: n-gram blocking and the coverage penalty."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.decoding import beam_search, greedy_search
from keras_seq2seq.decoding.constraints import blocked_tokens, coverage_penalty, no_repeat_ngram_fn
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.search import decode

PAD, START, END, A, B, C = range(6)
V = 6


def _blocked(history, n):
    return [sorted(np.flatnonzero(row)) for row in blocked_tokens(tf.constant(history), n, V)]


def test_blocked_tokens_by_hand():
    # "a b a": the 2-gram "a b" exists, the prefix is "a", so "b" is blocked.
    assert _blocked([[A, B, A]], 2) == [[B]]
    # 3-grams: prefix "b a"; "a b a" has no earlier "b a" followed by anything.
    assert _blocked([[A, B, A]], 3) == [[]]
    assert _blocked([[A, B, A, B]], 3) == [[A]]
    # n = 1 blocks every token seen; short histories block nothing.
    assert _blocked([[A, C, C]], 1) == [[A, C]]
    assert _blocked([[A]], 3) == [[]]
    assert _blocked(np.zeros([2, 0], np.int32), 2) == [[], []]
    # Rows are independent.
    assert _blocked([[A, B, A], [B, B, B]], 2) == [[B], [B]]


def _looping_step(tokens, state, time):
    # Always prefers "a b a b ...": after a -> b (0.6), after anything else -> a (0.6).
    table = np.full([V, V], 0.05, np.float32)
    table[:, A] = 0.6
    table[A, A] = 0.05
    table[A, B] = 0.6
    table[:, END] = 0.1
    table /= table.sum(axis=1, keepdims=True)
    return tf.gather(tf.math.log(tf.constant(table)), tokens), state, None


def test_no_repeat_ngram_stops_a_loop_in_greedy_and_beam():
    state = {"x": tf.zeros([1, 1])}
    common = {"start_id": START, "end_id": END, "max_length": 8}
    looping = greedy_search(_looping_step, state, **common).ids.numpy()[0]
    assert list(looping[:4]) == [A, B, A, B]
    for decoder in ("greedy", "beam"):
        options = DecodeOptions(beam_width=1 if decoder == "greedy" else 3, no_repeat_ngram=2)
        ids = decode(_looping_step, state, options, **common).ids.numpy()[0, 0]
        tokens = [t for t in ids if t not in (PAD, END)]
        bigrams = list(itertools.pairwise(tokens))
        assert len(bigrams) == len(set(bigrams)), tokens


def test_no_repeat_ngram_fn_sets_blocked_to_minus_infinity():
    adjust = no_repeat_ngram_fn(2)
    log_probs = tf.zeros([1, 2, V])
    ids = tf.constant([[A, B, A], [C, C, B]])
    out = adjust(log_probs, {"ids": ids}).numpy()
    assert np.isneginf(out[0, 0, B]) and np.isfinite(out[0, 0]).sum() == V - 1
    assert np.isfinite(out[0, 1]).all()


def test_coverage_penalty_by_hand():
    coverage = tf.constant([[0.5, 2.0, 0.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(coverage_penalty(coverage, 0.2), [0.2 * np.log(0.5), 0.0])


def test_coverage_penalty_prefers_the_hypothesis_that_reads_the_whole_source():
    # Two ways to finish: "a [END]" (slightly likelier, attends to source position 0 only) or
    # "b [END]" (attends to both positions). Coverage flips the choice.
    def step(tokens, state, time):
        first = tf.math.log(tf.constant([[0.0, 0.0, 0.0, 0.52, 0.48, 0.0]]) + 1e-9)
        later = tf.math.log(tf.constant([[1e-9, 1e-9, 1.0, 1e-9, 1e-9, 1e-9]]))
        rows = tf.shape(tokens)[0]
        log_probs = tf.tile(tf.where(time == 0, first, later), [rows, 1])
        attention = tf.where(
            (tokens == B)[:, None], tf.constant([[0.5, 0.5]]), tf.constant([[1.0, 0.0]])
        )
        attention = tf.where(time == 0, tf.constant([[0.5, 0.5]]), attention)
        return log_probs, state, attention

    state = {"x": tf.zeros([1, 1])}
    common = {"start_id": START, "end_id": END, "max_length": 3, "beam_width": 2}
    plain = beam_search(step, state, **common).ids.numpy()[0, 0]
    covered = beam_search(step, state, coverage_penalty=1.0, **common).ids.numpy()[0, 0]
    assert plain[0] == A and covered[0] == B


def test_coverage_penalty_needs_beam_search_and_attention():
    with pytest.raises(ValueError, match=r"`coverage_penalty` ranks the hypotheses of beam search"):
        DecodeOptions(coverage_penalty=0.2)
    state = {"x": tf.zeros([1, 1])}
    with pytest.raises(ValueError, match=r"needs the model's attention weights"):
        beam_search(_looping_step, state, start_id=START, end_id=END, max_length=3,
                    beam_width=2, coverage_penalty=0.5)  # fmt: skip
