"""Tests for copy attention (models.copying, models.copy_generator) and replace_unknown."""

import random

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.config import ModelConfig, RunConfig, TextConfig, TrainConfig
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.translator import Translator, load
from keras_seq2seq.evaluation.scoring import score_pairs
from keras_seq2seq.models import Ensemble, build_model
from keras_seq2seq.models.copy_generator import CopyGenerator
from keras_seq2seq.models.copying import CopyVocabulary
from keras_seq2seq.models.protocol import SourceBatch
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.serving.op_check import check_saved_model_ops
from keras_seq2seq.text.tokenizers import WordTokenizer
from keras_seq2seq.text.vocabulary import END_ID, PAD_ID, RESERVED_TOKENS, UNK_ID
from keras_seq2seq.text.wordpiece import WordPieceTokenizer
from keras_seq2seq.training.fit import train
from tests.test_export import _b64, _decoded, serve_in_fresh_process

TARGET_WORDS = ["tools", "for", "audio", "video", "library"]


def _word_tokenizer(words):
    return WordTokenizer(list(RESERVED_TOKENS) + words)


@pytest.fixture(scope="module")
def copy_vocabulary():
    source = _word_tokenizer(["the", "package", "provides", "tools", "for", "audio"])
    return CopyVocabulary(source, _word_tokenizer(TARGET_WORDS), max_source_length=10)


# -- the extended vocabulary ----------------------------------------------------------------


def test_copy_ids_map_known_words_to_target_ids_and_unknown_ones_to_their_first_position(
    copy_vocabulary,
):
    texts = tf.constant(["zork tools for zork blip", "audio"])
    source_ids = tf.constant([[1, 4, 5, 1, 1, END_ID], [9, END_ID, 0, 0, 0, 0]])
    surfaces = copy_vocabulary.source_surfaces(texts)
    assert surfaces.numpy().tolist()[0] == [b"zork", b"tools", b"for", b"zork", b"blip", b""]
    copy_ids = copy_vocabulary.copy_ids(surfaces, source_ids).numpy()
    v = copy_vocabulary.vocabulary_size
    # "zork" twice -> one extended id (its first position); "tools"/"for" -> target ids.
    assert copy_ids[0].tolist() == [v + 0, 4, 5, v + 0, v + 4, END_ID]
    assert copy_ids[1].tolist() == [6, END_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID]


def test_extended_targets_point_unknown_target_words_at_the_source(copy_vocabulary):
    surfaces = copy_vocabulary.source_surfaces(tf.constant(["the zork package", "a b"]))
    source_ids = tf.constant([[4, 1, 5, END_ID], [1, 1, END_ID, 0]])
    copy_ids = copy_vocabulary.copy_ids(surfaces, source_ids)
    target_ids = tf.constant([[4, UNK_ID, UNK_ID], [UNK_ID, 0, 0]])
    target_text = tf.constant([[b"tools", b"zork", b"gnu"], [b"c", b"", b""]])
    extended = copy_vocabulary.extended_targets(target_ids, target_text, surfaces, copy_ids)
    v = copy_vocabulary.vocabulary_size
    # "zork" is copied from position 1; "gnu" and "c" are in no source: they stay [UNK].
    assert extended.numpy().tolist() == [[4, v + 1, UNK_ID], [UNK_ID, 0, 0]]


def test_extended_ids_detokenize_to_the_source_text(copy_vocabulary):
    surfaces = tf.constant([[b"libzork2", b"tools", b""]])
    v = copy_vocabulary.vocabulary_size
    ids = tf.constant([[4, v + 0, 5, END_ID, 0]])
    assert copy_vocabulary.detokenize(ids, surfaces).numpy().tolist() == [b"tools libzork2 for"]


def test_an_id_outside_the_extended_vocabulary_is_an_error_not_clamped(copy_vocabulary):
    surfaces = tf.constant([[b"zork", b""]])
    v = copy_vocabulary.vocabulary_size
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the vocabulary"):
        copy_vocabulary.detokenize(tf.constant([[4, v + 2]]), surfaces)


def test_detokenizing_an_id_outside_the_vocabulary_is_an_error():
    tokenizer = _word_tokenizer(TARGET_WORDS)
    assert tokenizer.detokenize(tf.constant([[4, 5]])).numpy().tolist() == [b"tools for"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the vocabulary"):
        tokenizer.detokenize(tf.constant([[4, tokenizer.vocabulary_size]]))


def test_wordpiece_surface_of_an_unknown_word_is_the_word():
    vocabulary = list(RESERVED_TOKENS) + ["lib", "##foo", "tools"]
    tokenizer = WordPieceTokenizer(vocabulary)
    texts = tf.constant(["libfoo tools Zoë"])
    assert tokenizer.tokenize(texts).to_list() == [[4, 5, 6, UNK_ID]]
    surfaces = tokenizer.tokenize_to_surface(texts).to_list()
    assert surfaces == [[b"lib", b"##foo", b"tools", "Zoë".encode()]]


def test_sentencepiece_copy_needs_one_vocabulary():
    class Piece(WordTokenizer):
        kind = "sentencepiece"

    source = Piece(list(RESERVED_TOKENS) + ["a"])
    with pytest.raises(ValueError, match="--shared-vocabulary"):
        CopyVocabulary(source, Piece(list(RESERVED_TOKENS) + ["b"]), 8)


# -- the copy generator -----------------------------------------------------------------------


def test_copy_generator_mixes_a_distribution_over_the_extended_vocabulary():
    layer = CopyGenerator()
    logits = tf.random.normal([2, 3, 6])
    # No attention on padding (row 1, position 3), as with a source mask.
    padding = np.zeros([2, 1, 4], "float32")
    padding[1, 0, 3] = -1e9
    attention = tf.nn.softmax(tf.random.normal([2, 3, 4]) + padding)
    # Ids >= V: V + the first position of the token (as CopyVocabulary gives them).
    copy_ids = tf.constant([[6, 4, 8, END_ID], [6, 6, END_ID, 0]])
    mask = tf.ones([2, 3], tf.bool)
    log_probs = layer([logits, attention, tf.zeros([2, 3, 5]), copy_ids, mask])
    probs = np.exp(log_probs.numpy())
    assert log_probs.shape == (2, 3, 10)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    # Extended ids that no source position maps to can never be chosen.
    assert np.isneginf(log_probs.numpy()[0][:, [7, 9]]).all()
    assert np.isneginf(log_probs.numpy()[1][:, [7, 8, 9]]).all()
    # p = p_gen * softmax + (1 - p_gen) * attention summed per copy id.
    p_gen = tf.sigmoid(layer.gate(tf.zeros([2, 3, 5]))).numpy()
    generated = p_gen * tf.nn.softmax(logits).numpy()
    a = attention.numpy()
    np.testing.assert_allclose(
        probs[0, :, 4], generated[0, :, 4] + (1 - p_gen[0, :, 0]) * a[0, :, 1], rtol=1e-5
    )
    np.testing.assert_allclose(probs[0, :, 8], (1 - p_gen[0, :, 0]) * a[0, :, 2], rtol=1e-5)
    np.testing.assert_allclose(probs[0, :, 5], generated[0, :, 5], rtol=1e-5)
    # Row 1 copies positions 0 and 1 into the same extended id 6: their attention adds up.
    np.testing.assert_allclose(
        probs[1, :, 6], (1 - p_gen[1, :, 0]) * a[1, :, :2].sum(-1), rtol=1e-5
    )
    np.testing.assert_allclose(
        probs[1, :, END_ID], generated[1, :, END_ID] + (1 - p_gen[1, :, 0]) * a[1, :, 2], rtol=1e-5
    )


def _dense_reference(logits, attention, p_gen, copy_ids):
    """log(p_gen * softmax(logits) + (1 - p_gen) * attention added at the copy ids)."""
    batch, steps, length = attention.shape
    generated = tf.pad(tf.nn.softmax(logits) * p_gen, [[0, 0], [0, 0], [0, length]])
    index = np.array(
        [[[(b, t, int(copy_ids[b, j])) for j in range(length)] for t in range(steps)]
         for b in range(batch)]
    )  # fmt: skip
    return tf.math.log(tf.tensor_scatter_nd_add(generated, index, attention * (1 - p_gen)))


def test_copy_generator_gradients_match_the_dense_formula():
    layer = CopyGenerator()
    rng = np.random.RandomState(3)
    logits = tf.constant(rng.normal(size=(2, 3, 6)), tf.float32)
    scores = rng.normal(size=(2, 3, 4))
    scores[1, :, 3] = -1e9  # padding
    attention = tf.constant(scores, tf.float32)
    features = tf.constant(rng.normal(size=(2, 3, 5)), tf.float32)
    copy_ids = tf.constant([[6, 4, 6, END_ID], [5, 8, END_ID, 0]])
    mask = tf.ones([2, 3], tf.bool)
    weights = tf.constant(rng.uniform(size=(2, 3, 10)), tf.float32)
    layer([logits, tf.nn.softmax(attention), features, copy_ids, mask])  # builds the gate
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([logits, attention, features])
        probs = tf.nn.softmax(attention)
        ours = layer([logits, probs, features, copy_ids, mask], training=True)
        p_gen = tf.sigmoid(layer.gate(features))
        reference = _dense_reference(logits, probs, p_gen, copy_ids.numpy())
        real = tf.math.is_finite(reference)
        ours_loss = tf.reduce_sum(tf.where(real, ours * weights, 0.0))
        reference_loss = tf.reduce_sum(tf.where(real, reference * weights, 0.0))
    np.testing.assert_allclose(ours.numpy()[real.numpy()], reference.numpy()[real.numpy()],
                               atol=1e-5)  # fmt: skip
    assert np.isneginf(ours.numpy()[~real.numpy()]).all()
    for variable in (logits, attention, features, *layer.gate.trainable_variables):
        np.testing.assert_allclose(
            tape.gradient(ours_loss, variable).numpy(),
            tape.gradient(reference_loss, variable).numpy(),
            atol=1e-5,
        )


def test_coverage_loss_is_added_in_training_only():
    layer = CopyGenerator(coverage_weight=1.0)
    inputs = [
        tf.zeros([1, 2, 6]),
        tf.constant([[[1.0, 0.0], [1.0, 0.0]]]),
        tf.zeros([1, 2, 3]),
        tf.constant([[7, END_ID]]),
        tf.constant([[True, True]]),
    ]
    layer(inputs, training=False)
    assert not layer.losses
    layer(inputs, training=True)
    assert len(layer.losses) == 1 and abs(float(layer.losses[0]) - 0.5) < 1e-6


@pytest.mark.parametrize("architecture", ["rnn", "transformer"])
def test_decoding_steps_reproduce_the_training_model(architecture):
    options = {"heads": 2} if architecture == "transformer" else {}
    config = ModelConfig(
        30, 20, architecture=architecture, units=16, copy_attention=True, **options
    )
    model = build_model(config)
    rng = np.random.RandomState(0)
    source = rng.randint(4, 30, size=(3, 7)).astype("int32")
    source[0, 5:] = 0
    source[np.arange(3), [4, 6, 6]] = END_ID
    copy_ids = np.where(source >= 20, 20 + np.arange(7), source).astype("int32")
    target = rng.randint(4, 20, size=(3, 5)).astype("int32")
    target[:, 0] = 2
    target[1, 2] = 22  # a copied id fed back: read as [UNK]
    expected = model.teacher_forced_log_probs(source, np.where(target >= 20, UNK_ID, target),
                                              copy_ids).numpy()  # fmt: skip
    state, context = model.encode(SourceBatch(tf.constant(source), 8, tf.constant(copy_ids)))
    for t in range(target.shape[1]):
        log_probs, state = model.step(tf.constant(target[:, t]), state, context, tf.constant(t))[:2]
        real = np.isfinite(expected[:, t])
        np.testing.assert_allclose(log_probs.numpy()[real], expected[:, t][real], atol=1e-4)


def test_configuration_errors_say_what_to_change():
    with pytest.raises(ValueError, match="needs attention"):
        build_model(ModelConfig(30, 20, units=8, attention="none", copy_attention=True))
    with pytest.raises(ValueError, match="copy_attention=True"):
        ModelConfig(30, 20, coverage_loss=1.0)
    with pytest.raises(TypeError, match="copy_attention"):
        ModelConfig(30, 20, copy_attention="yes")
    copying = build_model(ModelConfig(30, 20, units=8, copy_attention=True))
    plain = build_model(ModelConfig(30, 20, units=8))
    with pytest.raises(ValueError, match="all have copy attention"):
        Ensemble([copying, plain])
    with pytest.raises(ValueError, match="copy ids"):
        copying.encode(SourceBatch(tf.constant([[4, END_ID]]), 5))


# -- trained models ------------------------------------------------------------------------


COMMON_NAMES = ["alpha", "beta", "gamma", "delta", "omega"]


def _name_pairs(count, seed=0):
    """Synopses that repeat the package name of their description.

    Half the names are common (in the vocabularies), half are one-offs (`[UNK]` without
    copying); the name moves within the description, so writing it takes attention.
    """
    rng = random.Random(seed)
    letters = "bcdfghjklmnpqrstvwxz"
    pairs = []
    for _ in range(count):
        name = rng.choice(COMMON_NAMES)
        if rng.random() < 0.5:
            name = "".join(rng.choice(letters) for _ in range(rng.randint(4, 7)))
        kind = rng.choice(["audio", "video", "text"])
        source = rng.choice([
            f"the package {name} provides tools for {kind}",
            f"tools for {kind} : {name} is the package",
        ])  # fmt: skip
        pairs.append((source, f"{kind} tools {name}"))
    return pairs


NEW_NAMES = ["zqxvw", "blorptk", "mnbvc"]
NEW_SOURCES = [
    "the package zqxvw provides tools for audio",
    "tools for audio : blorptk is the package",
    "the package mnbvc provides tools for audio",
]


def _train(tmp_path_factory, name, **model_options):
    run_dir = tmp_path_factory.mktemp(name) / "run"
    text = TextConfig(tokenizer="word", min_count=3)
    train(
        _name_pairs(1500),
        run_dir,
        source_text=text,
        target_text=text,
        model_options={"units": 32, **model_options},
        train_config=TrainConfig(epochs=4, batch_size=32, learning_rate=3e-3),
        verbose=0,
    )
    return run_dir


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory):
    return _train(
        tmp_path_factory, "copy", architecture="transformer", heads=2, copy_attention=True
    )


@pytest.mark.slow
def test_a_copy_model_writes_names_it_never_saw(copy_run):
    translator = load(copy_run)
    assert all(name not in translator.target_tokenizer.vocabulary for name in NEW_NAMES)
    expected = [f"audio tools {name}" for name in NEW_NAMES]
    assert translator.translate(NEW_SOURCES) == expected
    assert translator.translate(NEW_SOURCES, beam_width=4) == expected
    assert translator.translate(NEW_SOURCES, temperature=0.3, seed=3) == expected


@pytest.mark.slow
def test_score_of_a_copied_output_equals_the_beam_score(copy_run):
    translator = load(copy_run)
    [batch] = translator.decode(NEW_SOURCES, DecodeOptions(beam_width=4))
    texts = [text.decode() for text in batch.outputs[:, 0]]
    scores = score_pairs(translator, list(zip(NEW_SOURCES, texts, strict=True)))
    np.testing.assert_allclose([s.score for s in scores], batch.scores[:, 0], atol=1e-4)


@pytest.mark.slow
def test_a_copy_model_exports_and_serves_the_same_outputs(copy_run, tmp_path_factory):
    exported = export_model(copy_run, tmp_path_factory.mktemp("copy-export") / "copy")
    assert "TensorScatterUpdate" in check_saved_model_ops(exported)  # raises on a missing op
    calls = [
        {"signature": "serving_default", "texts": _b64(NEW_SOURCES)},
        {"signature": "beam_search", "texts": _b64(NEW_SOURCES), "beam_width": 4, "n_best": 2},
    ]
    answers = serve_in_fresh_process(
        exported, calls, _b64(NEW_SOURCES), tmp_path_factory.mktemp("copy-loader")
    )
    translator = load(copy_run)
    greedy = _decoded(answers["results"][0]["outputs"]).tolist()
    assert [text.decode() for text in greedy] == translator.translate(NEW_SOURCES)
    [batch] = translator.decode(NEW_SOURCES, DecodeOptions(beam_width=4, n_best=2))
    beam = _decoded(answers["results"][1]["outputs"]).reshape(-1, 2)
    assert beam.tolist() == batch.outputs.tolist()


@pytest.mark.slow
def test_replace_unknown_writes_the_attended_source_word(tmp_path_factory):
    run_dir = _train(tmp_path_factory, "unknown", attention="dot")
    translator = load(run_dir)
    plain = translator.translate(NEW_SOURCES)
    assert all(text.endswith("[UNK]") for text in plain), plain
    replaced = translator.translate(NEW_SOURCES, replace_unknown=True)
    assert replaced == [f"audio tools {name}" for name in NEW_NAMES]


def test_replace_unknown_needs_attention():
    config = ModelConfig(10, 10, units=8, attention="none")
    tokenizer = _word_tokenizer(["a", "b", "c", "d", "e", "f"])
    run_config = RunConfig(config, TextConfig(), TextConfig(), TrainConfig())
    translator = Translator(build_model(config), tokenizer, tokenizer, run_config)
    with pytest.raises(ValueError, match="no attention"):
        translator.translate("a b", replace_unknown=True)
