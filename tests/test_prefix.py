"""Tests for decoding.prefix: a forced target prefix in graph, translate, the CLI and exports."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from keras_seq2seq.cli import main
from keras_seq2seq.decoding import beam_search, greedy_search
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.prefix import batch_prefixes, force_prefix_fn, prefix_ids
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.serving.export import PREFIX_SIGNATURE, export_model, export_options

# Vocabulary: 0 [PAD], 1 [START], 2 [END], 3 "a", 4 "b". Next-token table by previous token:
# unforced, every output is "a" [END].
TABLE = np.log(
    [
        [0.1, 0.1, 0.4, 0.2, 0.2],
        [0.02, 0.02, 0.16, 0.5, 0.3],
        [0.1, 0.1, 0.6, 0.1, 0.1],
        [0.02, 0.02, 0.56, 0.2, 0.2],
        [0.02, 0.02, 0.36, 0.2, 0.4],
    ]
).astype("float32")
COMMON = {"start_id": 1, "end_id": 2, "max_length": 6}
TEXTS = ["abc", "hgfe", "a", "dcbah", "bb", "cafe"]


def step_fn(tokens, state, time):
    return tf.gather(TABLE, tokens), state, None


def test_greedy_search_takes_the_forced_tokens_then_decodes_freely():
    forced = force_prefix_fn(tf.ragged.constant([[4, 4], [], [3]], tf.int32))
    result = greedy_search(step_fn, {"h": tf.zeros([3, 1])}, adjust_fn=forced, **COMMON)
    # Row 0: forced "b b"; after "b" the likeliest is "b" again (0.4 > 0.36 for [END]), up
    # to the cap. Row 1 is free: "a" [END]. Row 2 forces "a", which it would take anyway.
    np.testing.assert_array_equal(result.ids.numpy()[1:], [[3, 2, 0, 0, 0, 0], [3, 2, 0, 0, 0, 0]])
    np.testing.assert_array_equal(result.ids.numpy()[0, :2], [4, 4])
    # The score holds the model's log-probabilities of the forced tokens.
    expected = TABLE[1, 4] + TABLE[4, 4] * 5
    np.testing.assert_allclose(result.scores.numpy()[0], expected, rtol=1e-6)


def test_beam_search_keeps_the_prefix_in_every_hypothesis():
    forced = force_prefix_fn(tf.ragged.constant([[4], []], tf.int32))
    result = beam_search(
        step_fn, {"h": tf.zeros([2, 1])}, beam_width=3, n_best=3, adjust_fn=forced, **COMMON
    )
    ids = result.ids.numpy()
    assert (ids[0, :, 0] == 4).all()
    free = beam_search(step_fn, {"h": tf.zeros([1, 1])}, beam_width=3, n_best=3, **COMMON)
    np.testing.assert_array_equal(ids[1], free.ids.numpy()[0][:, : ids.shape[2]])
    np.testing.assert_array_equal(result.scores.numpy()[1], free.scores.numpy()[0])


def test_batch_prefixes_broadcasts_and_checks_the_count():
    assert batch_prefixes(tf.constant([], tf.string), 2).numpy().tolist() == [b"", b""]
    assert batch_prefixes(tf.constant("x"), 2).numpy().tolist() == [b"x", b"x"]
    assert batch_prefixes(tf.constant(["x", "y"]), 2).numpy().tolist() == [b"x", b"y"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="one text per input"):
        batch_prefixes(tf.constant(["x", "y"]), 3)


@pytest.fixture(scope="module")
def translator(tiny_run):
    return load(tiny_run)


def test_unknown_prefix_tokens_refuse_the_input_in_graph(translator):
    ids, known = prefix_ids(translator.target_tokenizer, tf.constant(["", "ab", "aZ", "[END]"]))
    assert ids.to_list()[:2] == [[], [int(i) for i in translator.target_tokenizer.tokenize(
        tf.constant(["ab"]))[0]]]  # fmt: skip
    assert ids.row_lengths().numpy().tolist()[2:] == [0, 0]
    assert known.numpy().tolist() == [True, True, False, False]
    texts = tf.constant(["abc", "abc"])
    decoded = translator.decode_graph(texts, prefixes=tf.constant(["ab", "Z"]))
    assert decoded.accepted.numpy().tolist() == [[True], [False]]
    assert decoded.outputs.numpy()[1, 0] == b""
    assert decoded.outputs.numpy()[0, 0].startswith(b"ab")


@pytest.mark.parametrize("beam_width", [1, 3])
def test_outputs_start_with_the_prefix(translator, beam_width):
    outputs = translator.translate(TEXTS, beam_width=beam_width, prefix="hg")
    assert all(output.startswith("hg") for output in outputs)
    per_input = ["a", "", "bb", "h", "", "cafe"]
    outputs = translator.translate(TEXTS, beam_width=beam_width, prefix=per_input)
    assert all(out.startswith(pre) for out, pre in zip(outputs, per_input, strict=True))
    if beam_width > 1:
        hypotheses = translator.translate(TEXTS, beam_width=beam_width, n_best=beam_width,
                                          prefix=per_input)  # fmt: skip
        for row, prefix in zip(hypotheses, per_input, strict=True):
            assert all(h.text.startswith(prefix) for h in row)


@pytest.mark.parametrize("beam_width", [1, 3])
def test_empty_prefix_changes_nothing(translator, beam_width):
    (plain,) = translator.decode(TEXTS, beam_width=beam_width, n_best=beam_width)
    for prefix in ["", [""] * len(TEXTS)]:
        (forced,) = translator.decode(
            TEXTS, beam_width=beam_width, n_best=beam_width, prefix=prefix
        )
        np.testing.assert_array_equal(forced.outputs, plain.outputs)
        np.testing.assert_array_equal(forced.scores, plain.scores)


def test_a_prefix_longer_than_the_cap_is_cut(translator):
    assert translator.translate(["abc"], prefix="hhhhhh", max_length=3) == ["hhh"]


def test_prefix_errors(translator):
    with pytest.raises(ValueError, match=r"`prefix` 'aZ' \(input 1\) tokenizes to 'Z'"):
        translator.translate(["a", "b"], prefix=["a", "aZ"])
    with pytest.raises(ValueError, match="holds 1 prefixes for 2 inputs"):
        translator.translate(["a", "b"], prefix=["a"])
    with pytest.raises(TypeError, match="`prefix` must be a str"):
        DecodeOptions(prefix=3)
    with pytest.raises(TypeError, match="Item 1 is int"):
        DecodeOptions(prefix=["a", 2])
    assert DecodeOptions(prefix=["a", "b"]).prefix == ("a", "b")


def test_translate_flag(tiny_run, capsys):
    assert main(["translate", "--model", str(tiny_run), "--prefix", "ga", *TEXTS[:3]]) == 0
    lines = capsys.readouterr().out.split("\n")[:3]
    assert all(line.startswith("ga") for line in lines)


def test_export_signature_takes_an_optional_prefix(tiny_run, translator, tmp_path):
    with pytest.raises(ValueError, match="forced_prefix"):
        export_options(prefix="a")
    path = export_model(tiny_run, tmp_path / "m")
    loaded = tf.saved_model.load(str(path))
    signature = loaded.signatures[PREFIX_SIGNATURE]
    texts = tf.constant(TEXTS)
    width = {"beam_width": tf.constant(3), "n_best": tf.constant(2)}
    plain = loaded.signatures["beam_search"](inputs=texts, **width)
    empty = signature(inputs=texts, prefix=tf.constant([""] * len(TEXTS)), **width)
    np.testing.assert_array_equal(empty["outputs"], plain["outputs"])
    np.testing.assert_array_equal(empty["scores"], plain["scores"])
    per_input = ["a", "", "bb", "h", "", "cafe"]
    forced = signature(inputs=texts, prefix=tf.constant(per_input), **width)["outputs"].numpy()
    expected = translator.translate(TEXTS, beam_width=3, n_best=2, prefix=per_input)
    assert [[h.decode() for h in row] for row in forced] == [[h.text for h in row]
                                                              for row in expected]  # fmt: skip
    refused = signature(inputs=texts, prefix=tf.constant(["Z", *per_input[1:]]), **width)
    assert refused["accepted"].numpy()[:, 0].tolist() == [False] + [True] * (len(TEXTS) - 1)
    assert refused["outputs"].numpy()[0].tolist() == [b"", b""]
    np.testing.assert_array_equal(refused["outputs"][1:], forced[1:])
    # The SignatureDef default that TF Serving fills in for a missing `prefix` is no prefix.
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    defaults = proto.meta_graphs[0].signature_def[PREFIX_SIGNATURE].defaults
    default = tf.make_ndarray(defaults["prefix"])
    assert default.shape == (0,) and int(tf.make_ndarray(defaults["beam_width"])) == 4
    defaulted = signature(inputs=texts, prefix=tf.constant(default), **width)
    np.testing.assert_array_equal(defaulted["outputs"], plain["outputs"])
