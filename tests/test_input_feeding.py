"""Tests for Luong input feeding (keras_seq2seq.models.input_feeding, RNN option)."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.config import ModelConfig, TrainConfig
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.evaluation.evaluate import evaluate
from keras_seq2seq.models import build_model
from keras_seq2seq.models.input_feeding import InputFeedingDecoder
from keras_seq2seq.models.protocol import SourceBatch
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.training.fit import train
from tests.conftest import reverse_pairs
from tests.test_export import _b64, _decoded, serve_in_fresh_process


def _batch(copy: bool):
    rng = np.random.RandomState(0)
    source = rng.randint(4, 30, size=(3, 7)).astype("int32")
    source[0, 5:] = 0
    target = rng.randint(4, 20, size=(3, 5)).astype("int32")
    target[:, 0] = 2
    copy_ids = np.where(source >= 20, 20 + np.arange(7), source).astype("int32") if copy else None
    return source, target, copy_ids


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"cell": "gru", "num_layers": 2, "bidirectional": True},
        {"attention": "additive", "copy_attention": True},
    ],
    ids=["lstm", "gru-2-layers-bidirectional", "additive-copy"],
)
def test_decoding_steps_reproduce_the_training_model(options):
    config = ModelConfig(30, 20, units=16, input_feeding=True, **options)
    model = build_model(config)
    source, target, copy_ids = _batch(config.copy_attention)
    expected = model.teacher_forced_log_probs(source, target, copy_ids).numpy()
    copies = None if copy_ids is None else tf.constant(copy_ids)
    state, context = model.encode(SourceBatch(tf.constant(source), 8, copies))
    for t in range(target.shape[1]):
        log_probs, state = model.step(tf.constant(target[:, t]), state, context, tf.constant(t))[:2]
        real = np.isfinite(expected[:, t])
        np.testing.assert_allclose(log_probs.numpy()[real], expected[:, t][real], atol=1e-4)


def test_each_step_reads_the_previous_attentional_vector():
    model = build_model(ModelConfig(30, 20, units=16, embedding_dim=8, input_feeding=True))
    decoder = model.training.get_layer("decoder")
    assert isinstance(decoder, InputFeedingDecoder)
    assert tuple(decoder.cells[0].kernel.shape) == (8 + 16, 4 * 16)  # token + fed vector
    source, target, _ = _batch(copy=False)
    state, context = model.encode(SourceBatch(tf.constant(source), 8))
    assert len(state) == 3 and not np.any(state[-1].numpy())  # h, c, then a zero feed
    tokens = tf.constant(target[:, 0])
    plain = model.step(tokens, state, context, tf.constant(0)).log_probs
    fed = [*state[:-1], tf.ones_like(state[-1])]
    changed = model.step(tokens, fed, context, tf.constant(0)).log_probs
    assert np.abs(plain.numpy() - changed.numpy()).max() > 1e-3


def test_input_feeding_needs_attention():
    with pytest.raises(ValueError, match="needs attention"):
        build_model(ModelConfig(30, 20, units=16, input_feeding=True, attention="none"))
    with pytest.raises(TypeError, match="input_feeding"):
        build_model(ModelConfig(30, 20, units=16, input_feeding="yes"))


@pytest.fixture(scope="module")
def feeding_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("feeding") / "run"
    train(
        reverse_pairs(3000, seed=0),
        run_dir,
        validation_pairs=reverse_pairs(200, seed=1),
        model_options={"units": 32, "embedding_dim": 16, "input_feeding": True},
        train_config=TrainConfig(epochs=10, batch_size=32, patience=0),
        verbose=0,
    )
    return run_dir


@pytest.mark.slow
def test_an_input_feeding_model_trains_and_decodes(feeding_run):
    held_out = reverse_pairs(200, seed=7)
    report = evaluate(feeding_run, held_out, progress=False)
    assert report["exact_match"] > 80.0, report["exact_match"]
    translator = load(feeding_run)  # from the saved .keras file
    assert translator.model.config.options["input_feeding"] is True
    sources = [source for source, _ in held_out[:50]]
    [greedy] = translator.decode(sources, DecodeOptions())
    [beam_1] = translator.decode(sources, DecodeOptions(beam_width=1))
    assert greedy.outputs.tolist() == beam_1.outputs.tolist()
    np.testing.assert_allclose(greedy.scores, beam_1.scores, atol=1e-5)


@pytest.mark.slow
def test_an_input_feeding_model_exports_and_serves_the_same_outputs(feeding_run, tmp_path):
    sources = [source for source, _ in reverse_pairs(20, seed=9)]
    exported = export_model(feeding_run, tmp_path / "export" / "feeding")
    calls = [
        {"signature": "serving_default", "texts": _b64(sources)},
        {"signature": "beam_search", "texts": _b64(sources), "beam_width": 4, "n_best": 1},
    ]
    answers = serve_in_fresh_process(exported, calls, _b64(sources), tmp_path)
    translator = load(feeding_run)
    greedy = _decoded(answers["results"][0]["outputs"]).tolist()
    assert [text.decode() for text in greedy] == translator.translate(sources)
    beam = [text.decode() for text in _decoded(answers["results"][1]["outputs"]).tolist()]
    assert beam == translator.translate(sources, beam_width=4)
