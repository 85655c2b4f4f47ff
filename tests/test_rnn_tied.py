"""Tied embeddings for the RNN architecture: one matrix embeds both sides and projects."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.config import ModelConfig, TextConfig, TrainConfig
from keras_seq2seq.data.readers import read_pairs
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.models import build_model
from keras_seq2seq.models.layers import ReversibleEmbedding
from keras_seq2seq.models.protocol import SourceBatch
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.training.fit import train

PAIRS = read_pairs(Path(__file__).parent / "data" / "ddtp_en_de_sample.tsv")


def _config(**options):
    return ModelConfig(30, 30, units=16, embedding_dim=8, tie_embeddings=True, **options)


def _batch(copy: bool):
    rng = np.random.RandomState(0)
    source = rng.randint(4, 30, size=(3, 7)).astype("int32")
    source[0, 5:] = 0
    target = rng.randint(4, 30, size=(3, 5)).astype("int32")
    target[:, 0] = 2
    target[1, 3:] = 0
    copy_ids = np.where(source >= 25, 30 + np.arange(7), source).astype("int32") if copy else None
    return source, target, copy_ids


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cell": "gru", "num_layers": 2, "bidirectional": True},
        {"attention": "none"},
        {"attention": "additive", "input_feeding": True},
        {"copy_attention": True},
    ],
    ids=["lstm", "gru-2-layers-bidirectional", "no-attention", "input-feeding", "copy"],
)
def test_decoding_steps_reproduce_the_training_model(options):
    model = build_model(_config(**options))
    source, target, copy_ids = _batch(model.config.copy_attention)
    expected = model.teacher_forced_log_probs(source, target, copy_ids).numpy()
    copies = None if copy_ids is None else tf.constant(copy_ids)
    state, context = model.encode(SourceBatch(tf.constant(source), 8, copies))
    for t in range(target.shape[1]):
        log_probs, state = model.step(tf.constant(target[:, t]), state, context, tf.constant(t))[:2]
        real = (target[:, t] != 0)[:, None] & np.isfinite(expected[:, t])
        np.testing.assert_allclose(log_probs.numpy()[real], expected[:, t][real], atol=1e-4)


def test_one_matrix_embeds_both_sides_and_projects(tmp_path):
    model = build_model(_config())
    names = [layer.name for layer in model.training.layers]
    assert "output_projection" not in names and "source_embedding" not in names
    shared = model.training.get_layer("shared_embedding")
    assert isinstance(shared, ReversibleEmbedding)
    untied = build_model(ModelConfig(30, 30, units=16, embedding_dim=8))
    # Saved: the source embedding (30 x 8) and the projection (16 x 30 + 30); added: the
    # bridge down to the embedding width (16 x 8 + 8).
    saved = 30 * 8 + 16 * 30 + 30 - (16 * 8 + 8)
    assert untied.training.count_params() - model.training.count_params() == saved
    # The decoder-step model reads the same matrix: changing it changes its output.
    source, target, _ = _batch(copy=False)
    before = model.teacher_forced_log_probs(source, target).numpy()
    state, context = model.encode(SourceBatch(tf.constant(source), 8))
    step_before = model.step(tf.constant(target[:, 0]), state, context, tf.constant(0))[0]
    shared.embeddings.assign(shared.embeddings * 2.0)
    state, context = model.encode(SourceBatch(tf.constant(source), 8))
    step_after = model.step(tf.constant(target[:, 0]), state, context, tf.constant(0))[0]
    assert np.abs(step_after.numpy() - step_before.numpy()).max() > 1e-3
    model.training.save(tmp_path / "tied.keras")
    loaded = keras.saving.load_model(tmp_path / "tied.keras")  # no custom_objects
    np.testing.assert_allclose(
        loaded([source, target]).numpy(), model.training([source, target]).numpy(), atol=1e-6
    )
    assert not np.allclose(before, model.teacher_forced_log_probs(source, target).numpy())


def test_padding_does_not_change_the_tied_model():
    model = build_model(_config(bidirectional=True))
    source, target, _ = _batch(copy=False)
    wider = np.concatenate([source, np.zeros((3, 4), "int32")], axis=1)
    np.testing.assert_allclose(
        model.training([source, target]).numpy(),
        model.training([wider, target]).numpy(),
        atol=1e-5,
    )


def test_tied_embeddings_need_one_vocabulary(tmp_path):
    with pytest.raises(ValueError, match=r"same vocabulary; they have 30 and 20 tokens"):
        build_model(ModelConfig(30, 20, units=16, tie_embeddings=True))
    with pytest.raises(TypeError, match="tie_embeddings"):
        build_model(ModelConfig(30, 30, units=16, tie_embeddings="yes"))
    text = TextConfig(tokenizer="char")
    with pytest.raises(ValueError, match=r"vocabulary.*--shared-vocabulary"):
        train(PAIRS[:50], tmp_path / "run", model_options={"units": 16, "tie_embeddings": True},
              source_text=text, target_text=text, verbose=0)  # fmt: skip
    assert not (tmp_path / "run").exists()  # refused before learning any vocabulary


@pytest.mark.slow
def test_shared_vocabulary_trains_exports_and_serves_a_tied_lstm(tmp_path):
    text = TextConfig(
        tokenizer="sentencepiece", max_vocabulary_size=400, shared_vocabulary=True, max_length=32
    )
    result = train(
        PAIRS[:120],
        tmp_path / "run",
        validation_pairs=PAIRS[:20],
        model_options={
            "units": 16,
            "embedding_dim": 8,
            "bidirectional": True,
            "tie_embeddings": True,
        },
        source_text=text,
        target_text=text,
        train_config=TrainConfig(epochs=1, batch_size=32, patience=0),
        verbose=0,
    )
    translator = load(result.run_dir)
    assert translator.model.options.tie_embeddings
    texts = [source for source, _ in PAIRS[:8]]
    expected = translator.translate(texts)
    assert len(expected) == len(texts)
    exported = export_model(result.run_dir, tmp_path / "saved")
    assert load(exported).translate(texts) == expected
