"""Tests for the decoding protocol (keras_seq2seq.models.protocol) and the output heads."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.config import ModelConfig
from keras_seq2seq.decoding import greedy_search
from keras_seq2seq.models import (
    CopyHead,
    Decodable,
    Ensemble,
    OutputHead,
    RNNOptions,
    RNNSeq2Seq,
    SourceBatch,
    StepOutput,
    TransformerSeq2Seq,
    build_model,
)
from keras_seq2seq.models.output_head import output_head
from keras_seq2seq.models.protocol import gather_rows, repeat_rows
from keras_seq2seq.text.vocabulary import END_ID, UNK_ID

SOURCE = np.array([[5, 6, 7, END_ID], [8, END_ID, 0, 0]], "int32")


class Counter(Decodable):
    """Prefers token `time + 4` at every step; its state counts the steps."""

    def encode(self, batch):
        rows = tf.shape(batch.ids)[0]
        return {"steps": tf.zeros([rows], tf.int32)}, {"memory": tf.cast(batch.ids, tf.float32)}

    def step(self, tokens, state, context, time):
        logits = tf.one_hot(tf.fill(tf.shape(tokens), time + 4), 8) * 5.0
        return StepOutput(tf.nn.log_softmax(logits), {"steps": state["steps"] + 1}, None)


def test_expand_repeats_each_input_and_reorder_gathers_rows():
    model = Counter()
    state, context = model.encode(SourceBatch(tf.constant(SOURCE), 5))
    expanded_state, expanded_context = model.expand(state, context, 3)
    assert expanded_state["steps"].shape == (6,)
    np.testing.assert_array_equal(expanded_context["memory"].numpy()[:3], SOURCE[[0, 0, 0]])
    np.testing.assert_array_equal(expanded_context["memory"].numpy()[3:], SOURCE[[1, 1, 1]])
    assert model.expand(None, context, 2)[0] is None
    moved = model.reorder({"h": tf.constant([[1.0], [2.0], [3.0]])}, tf.constant([2, 2, 0]))
    np.testing.assert_array_equal(moved["h"].numpy(), [[3.0], [3.0], [1.0]])


def test_row_helpers_keep_none_and_nests():
    assert repeat_rows(None, 4) is None
    np.testing.assert_array_equal(repeat_rows((tf.constant([1, 2]),), 2)[0].numpy(), [1, 1, 2, 2])
    np.testing.assert_array_equal(gather_rows([tf.constant([7, 8])], tf.constant([1]))[0], [8])


def test_decoders_read_a_step_output_like_a_triple():
    model = Counter()
    state, context = model.encode(SourceBatch(tf.constant(SOURCE), 5))

    def as_output(tokens, state, time):
        return model.step(tokens, state, context, time)

    def as_triple(tokens, state, time):
        return tuple(model.step(tokens, state, context, time)[:3])

    common = {"start_id": 2, "end_id": 7, "max_length": 5}
    with_output = greedy_search(as_output, state, **common)
    with_triple = greedy_search(as_triple, state, **common)
    np.testing.assert_array_equal(with_output.ids.numpy(), [[4, 5, 6, 7]] * 2)
    np.testing.assert_array_equal(with_output.ids.numpy(), with_triple.ids.numpy())
    np.testing.assert_array_equal(with_output.scores.numpy(), with_triple.scores.numpy())


@pytest.mark.parametrize("architecture", ["rnn", "transformer"])
def test_architecture_steps_return_a_step_output(architecture):
    options = {"heads": 2} if architecture == "transformer" else {}
    model = build_model(ModelConfig(30, 20, architecture=architecture, units=8, **options))
    state, context = model.encode(SourceBatch(tf.constant(SOURCE), 6))
    state, context = model.expand(state, context, 2)
    output = model.step(tf.constant([2, 2, 2, 2]), state, context, tf.constant(0))
    assert isinstance(output, StepOutput)
    assert output.log_probs.shape == (4, 20) and output.attention.shape == (4, 4)
    np.testing.assert_allclose(np.exp(output.log_probs.numpy()).sum(-1), 1.0, atol=1e-5)
    # The Transformer gives its decoder output; the RNN's stays inside its step model.
    assert (output.hidden is None) == (architecture == "rnn")
    if output.hidden is not None:
        assert output.hidden.shape == (4, 8)


def test_an_ensemble_expands_and_reorders_every_member():
    members = [build_model(ModelConfig(30, 20, units=8)) for _ in range(2)]
    ensemble = Ensemble(members)
    state, context = ensemble.encode(SourceBatch(tf.constant(SOURCE), 6))
    no_state, expanded = ensemble.expand(None, context, 3)
    assert no_state is None and len(expanded) == 2
    assert expanded[1][0].shape[0] == 6  # each member's memory, one row per beam
    moved = ensemble.reorder(state, tf.constant([1, 1]))
    np.testing.assert_array_equal(moved[0][0].numpy()[0], state[0][0].numpy()[1])
    output = ensemble.step(tf.constant([2, 2]), state, context, tf.constant(0))
    single = [m.step(tf.constant([2, 2]), s, c, tf.constant(0)) for m, s, c in
              zip(members, state, context, strict=True)]  # fmt: skip
    mean = (single[0].log_probs.numpy() + single[1].log_probs.numpy()) / 2
    np.testing.assert_allclose(output.log_probs.numpy(), mean, rtol=1e-6)


def test_the_plain_head_is_a_log_softmax_and_takes_no_extras():
    head = output_head(ModelConfig(30, 20), RNNSeq2Seq, RNNOptions())
    assert type(head) is OutputHead and not head.extends_vocabulary and head.extra_names == ()
    logits = tf.constant([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(head.log_probs(logits), tf.nn.log_softmax(logits), rtol=1e-6)
    assert head.batch_extras(SourceBatch(tf.constant(SOURCE), 5)) == []


def test_copy_attention_selects_the_copy_head():
    config = ModelConfig(30, 20, copy_attention=True)
    head = output_head(config, TransformerSeq2Seq, None)
    assert isinstance(head, CopyHead) and head.extends_vocabulary
    np.testing.assert_array_equal(head.step_tokens(tf.constant([4, 19, 20, 25])),
                                  [4, 19, UNK_ID, UNK_ID])  # fmt: skip
    with pytest.raises(ValueError, match="copy ids"):
        head.batch_extras(SourceBatch(tf.constant(SOURCE), 5))
    with pytest.raises(ValueError, match="needs attention"):
        output_head(config, RNNSeq2Seq, RNNOptions(attention="none"))


def test_an_architecture_without_head_hooks_refuses_copy_attention():
    class Plain(RNNSeq2Seq):
        name = "plain"
        supports_output_heads = False

    with pytest.raises(ValueError, match="'plain' architecture has no copy attention"):
        output_head(ModelConfig(30, 20, copy_attention=True), Plain, RNNOptions())
