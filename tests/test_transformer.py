"""Tests for the Transformer architecture (keras_seq2seq.models.transformer) and its layers."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.config import ModelConfig, TrainConfig
from keras_seq2seq.decoding.beam import beam_search
from keras_seq2seq.decoding.greedy import greedy_search
from keras_seq2seq.decoding.shrinking import ContextStep
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.models import TransformerSeq2Seq, build_model
from keras_seq2seq.models.layers import ReversibleEmbedding, sinusoidal_positions
from keras_seq2seq.models.protocol import SourceBatch
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.training.fit import train
from tests.conftest import reverse_pairs
from tests.test_export import _b64, _decoded, serve_in_fresh_process

VARIANTS = [
    {"num_layers": 1},
    {"num_layers": 2, "dropout": 0.2, "ffn_dim": 24},
    {"num_layers": 2, "tie_embeddings": True},
]


def _config(**options):
    options = {"heads": 2, **options}
    return ModelConfig(30, 30, architecture="transformer", units=16, **options)


def _batch(seed=0):
    rng = np.random.RandomState(seed)
    source = rng.randint(4, 30, size=(4, 9)).astype("int32")
    source[0, 3:] = 0
    source[1, 7:] = 0
    target = rng.randint(4, 30, size=(4, 6)).astype("int32")
    target[:, 0] = 2
    target[2, 4:] = 0
    return source, target


def _step_log_probs(model, source, target, max_length):
    state, context = model.encode(SourceBatch(tf.constant(source), max_length))
    steps, attention = [], []
    for t in range(target.shape[1]):
        log_probs, state, weights, _ = model.step(
            tf.constant(target[:, t]), state, context, tf.constant(t)
        )
        steps.append(log_probs.numpy())
        attention.append(weights.numpy())
    return np.stack(steps, axis=1), np.stack(attention, axis=1)


@pytest.mark.parametrize("options", VARIANTS)
def test_step_by_step_reproduces_the_training_model(options):
    model = build_model(_config(**options))
    source, target = _batch()
    expected = tf.nn.log_softmax(model.training([source, target], training=False)).numpy()
    stepped, attention = _step_log_probs(model, source, target, max_length=10)
    valid = target != 0
    assert np.abs(stepped[valid] - expected[valid]).max() <= 1e-4
    # Cross-attention over the source: rows sum to one, nothing on padding.
    np.testing.assert_allclose(attention.sum(-1), 1.0, rtol=1e-5)
    assert (attention[0, :, 3:] == 0).all()


def test_cache_length_does_not_change_the_outputs():
    model = build_model(_config(num_layers=2))
    source, target = _batch(1)
    short, _ = _step_log_probs(model, source, target, max_length=6)
    long, _ = _step_log_probs(model, source, target, max_length=40)
    np.testing.assert_allclose(short, long, atol=1e-5)


def test_sinusoidal_positions_have_no_maximum_length():
    far = sinusoidal_positions(tf.constant([5000, 100_000]), 8).numpy()
    assert np.isfinite(far).all() and far.shape == (2, 8)
    np.testing.assert_allclose(sinusoidal_positions(tf.constant([0]), 4).numpy(), [[0, 0, 1, 1]])


def test_tied_embeddings_share_one_matrix(tmp_path):
    model = build_model(_config(tie_embeddings=True))
    shared = [layer for layer in model.training.layers if isinstance(layer, ReversibleEmbedding)]
    assert len(shared) == 1
    untied = build_model(_config())
    assert model.training.count_params() < untied.training.count_params()
    model.training.save(tmp_path / "tied.keras")
    loaded = keras.saving.load_model(tmp_path / "tied.keras")  # no custom_objects
    source, target = _batch()
    np.testing.assert_allclose(
        loaded([source, target]), model.training([source, target]), atol=1e-6
    )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"heads": 3}, r"`units` \(16\) must be a multiple of `heads` \(3\)"),
        ({"heads": 0}, r"`heads` must be a positive integer"),
        ({"cell": "lstm"}, r"Unknown option\(s\) \['cell'\] for architecture 'transformer'"),
    ],
)
def test_option_errors(options, match):
    with pytest.raises(ValueError, match=match):
        build_model(_config(**options))


def test_tied_embeddings_need_one_vocabulary():
    config = ModelConfig(30, 20, architecture="transformer", units=16, heads=2, tie_embeddings=True)
    with pytest.raises(ValueError, match=r"same vocabulary; they have 30 and 20 tokens"):
        build_model(config)


# -- trained end to end ---------------------------------------------------------------------

TEXTS = ["abc", "hgfedcba", "", "abcabcab", "d"]


@pytest.fixture(scope="module")
def transformer_run(tmp_path_factory):
    return train(
        reverse_pairs(3000, seed=0),
        tmp_path_factory.mktemp("transformer"),
        validation_pairs=reverse_pairs(200, seed=1),
        model_options={"architecture": "transformer", "units": 32, "num_layers": 2, "heads": 4},
        train_config=TrainConfig(
            epochs=8,
            batch_size=32,
            patience=0,
            learning_rate=2e-3,
            lr_schedule="inverse_sqrt",
            warmup_steps=200,
            label_smoothing=0.1,
        ),
        verbose=0,
    )


@pytest.mark.slow
def test_trained_transformer_reverses_and_beam_one_is_greedy(transformer_run):
    translator = load(transformer_run.run_dir)
    assert isinstance(translator.model, TransformerSeq2Seq)
    pairs = reverse_pairs(200, seed=3)
    outputs = translator.translate([s for s, _ in pairs])
    accuracy = np.mean([o == t for o, (_, t) in zip(outputs, pairs, strict=True)])
    assert accuracy >= 0.8, accuracy
    (greedy,) = translator.decode(TEXTS)
    (beam,) = translator.decode(TEXTS, beam_width=1)
    np.testing.assert_array_equal(beam.ids, greedy.ids)
    np.testing.assert_array_equal(beam.scores, greedy.scores)


@pytest.mark.slow
def test_beam_search_reorders_the_cache(transformer_run):
    translator = load(transformer_run.run_dir)
    batched = translator.translate(TEXTS, beam_width=3, n_best=2)
    for text, hypotheses in zip(TEXTS, batched, strict=True):
        alone = translator.translate([text], beam_width=3, n_best=2)[0]
        assert [h.text for h in alone] == [h.text for h in hypotheses]
        np.testing.assert_allclose(
            [h.score for h in alone], [h.score for h in hypotheses], atol=1e-4
        )


@pytest.mark.slow
def test_transformer_exports_and_serves_in_a_fresh_process(transformer_run, tmp_path):
    version = export_model(transformer_run.run_dir, tmp_path / "saved" / "t")
    calls = [
        {"signature": "serving_default", "texts": _b64(TEXTS)},
        {"signature": "beam_search", "texts": _b64(TEXTS), "beam_width": 4, "n_best": 2},
    ]
    out = serve_in_fresh_process(version, calls, _b64(TEXTS), tmp_path)
    translator = load(version)
    greedy, beam = out["results"]
    assert [t.decode() for t in _decoded(greedy["outputs"])] == translator.translate(TEXTS)
    expected = translator.translate(TEXTS, beam_width=4, n_best=2)
    texts = _decoded(beam["outputs"]).reshape(len(TEXTS), 2)
    assert [[t.decode() for t in row] for row in texts] == [[h.text for h in r] for r in expected]
    # The TF1 session path (TF Serving) gives the beam signature's default outputs too.
    session = _decoded(out["session"]["outputs"]).reshape(len(TEXTS), -1)
    assert [row[0].decode() for row in session] == [h[0].text for h in expected]


class _StopAtEpoch(keras.callbacks.Callback):
    """Raises at the start of an epoch, like a process killed after the previous one."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("stopped by the test")


TINY = {"architecture": "transformer", "units": 16, "num_layers": 1, "heads": 2, "dropout": 0.0}


@pytest.mark.slow
def test_interrupted_transformer_resumes_from_its_backup(tmp_path):
    config = TrainConfig(epochs=3, batch_size=32, patience=0, lr_schedule="inverse_sqrt",
                         warmup_steps=20)  # fmt: skip
    kwargs = {"model_options": TINY, "train_config": config, "verbose": 0}
    pairs, validation = reverse_pairs(160, seed=0), reverse_pairs(16, seed=1)
    steps = []
    count = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: steps.append(int(count.model.optimizer.iterations.numpy()))
    )
    with pytest.raises(KeyboardInterrupt):
        train(pairs, tmp_path / "run", validation_pairs=validation,
              callbacks=[count, _StopAtEpoch(2)], **kwargs)  # fmt: skip
    assert (tmp_path / "run" / "backup").is_dir()
    first = json.loads((tmp_path / "run" / "history.json").read_text())["loss"]
    assert len(first) == 2

    epochs_run = []
    record = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))
    result = train(pairs, tmp_path / "run", validation_pairs=validation, callbacks=[record],
                   **kwargs)  # fmt: skip
    assert epochs_run == [2]  # resumed after the two saved epochs, not restarted
    assert result.history["loss"][:2] == first and len(result.history["loss"]) == 3
    assert not (tmp_path / "run" / "backup").exists()
    # The schedule's step count came back with the optimizer: three epochs' steps in all.
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert steps[1] == 2 * steps[0] and int(model.optimizer.iterations.numpy()) == 3 * steps[0]


@pytest.mark.slow
def test_mirrored_strategy_trains_the_transformer_like_no_strategy(tmp_path):
    class Record(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            self.weights = self.model.get_weights()

    weights, losses = {}, {}
    for strategy in ("default", "mirrored"):  # mirrored: the GPUs, or here the CPU
        record = Record()
        result = train(
            reverse_pairs(48, seed=0),
            tmp_path / strategy,
            validation_pairs=reverse_pairs(8, seed=1),
            model_options=TINY,
            train_config=TrainConfig(epochs=1, batch_size=16, patience=0),
            verbose=0,
            callbacks=[record],
            strategy=strategy,
        )
        weights[strategy], losses[strategy] = record.weights, result.history["val_loss"]
    for default, mirrored in zip(weights["default"], weights["mirrored"], strict=True):
        np.testing.assert_allclose(mirrored, default, atol=1e-5)
    np.testing.assert_allclose(losses["mirrored"], losses["default"], rtol=1e-5)


@pytest.mark.parametrize("beam_width", [1, 3])
def test_hypotheses_share_memory_and_cache_rows_with_the_same_results(beam_width):
    # One memory row per input (`context_per_input`) and a cache that stays in place while
    # its ancestry follows the beams (`reorder_beams`) give what repeating the memory for
    # every hypothesis and moving the cache with the beams gives; so does the general
    # `reorder` alone on a shared memory.
    model = build_model(_config(num_layers=2, tie_embeddings=True))
    assert model.context_per_input
    source, _ = _batch(2)
    state, context = model.encode(SourceBatch(tf.constant(source), 12))
    arguments = {"start_id": 2, "end_id": 3, "max_length": 12, "beam_width": beam_width,
                 "n_best": beam_width, "reorder_fn": model.reorder}  # fmt: skip
    _, expanded = model.expand(None, context, beam_width)
    steps = {
        "repeated": ContextStep(model.step, expanded),
        "shared": ContextStep(model.step, context, True, model.reorder_beams),
        "shared, reorder only": ContextStep(model.step, context, True),
    }
    results = {name: beam_search(step, state, **arguments) for name, step in steps.items()}
    expected = results.pop("repeated")
    assert int(tf.reduce_max(expected.lengths)) > 3  # the outputs are not all trivial
    for name, got in results.items():
        np.testing.assert_array_equal(got.ids, expected.ids, err_msg=name)
        np.testing.assert_array_equal(got.lengths, expected.lengths, err_msg=name)
        np.testing.assert_allclose(got.scores, expected.scores, rtol=0, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(got.attention, expected.attention, atol=1e-6, err_msg=name)


def test_reordering_rows_after_beam_moves_keeps_each_hypothesis_history():
    # After `reorder_beams` the cache rows stay put; a later general `reorder` (an input
    # leaving the batch) must hand every hypothesis its own history.
    model = build_model(_config(num_layers=1))
    source, _ = _batch(3)
    state, context = model.encode(SourceBatch(tf.constant(source[:2]), 8))
    state = model.reorder(state, tf.constant([0, 0, 1, 1]))  # 2 inputs x 2 beams
    for t, parents in enumerate([[0, 0, 2, 3], [1, 0, 3, 3], [1, 1, 2, 3]]):
        out = model.step(tf.constant([2, 5, 7, 9]), state, context, tf.constant(t))
        state = model.reorder_beams(out.state, tf.constant(parents))
    kept = model.reorder(state, tf.constant([2, 3]))  # input 0 leaves
    # Row n's own history, traced back through the parents by hand.
    history = {2: [3, 3, 2], 3: [3, 3, 3]}  # rows that computed steps 0, 1, 2
    for new_row, old_row in enumerate([2, 3]):
        rows = history[old_row]
        expected = tf.stack([state["keys_0"][r, :, t] for t, r in enumerate(rows)], axis=1)
        np.testing.assert_array_equal(kept["keys_0"][new_row], expected)
    np.testing.assert_array_equal(kept["ancestry"], np.zeros([2, 3]))


def test_greedy_rows_leaving_the_batch_keep_their_cache():
    # Greedy search drops ended rows with a plain gather of the state (rows never move
    # otherwise): the cache and its ancestry must stay each row's own.
    model = build_model(_config(num_layers=2))
    source, _ = _batch(4)
    state, context = model.encode(SourceBatch(tf.constant(source), 12))
    caps = tf.constant([2, 12, 5, 9])  # rows leave at different steps
    arguments = {"start_id": 2, "end_id": 3, "max_length": 12, "max_lengths": caps}
    shrinking = greedy_search(ContextStep(model.step, context, True), state, **arguments)

    def whole_batch(tokens, state, time):
        return model.step(tokens, state, context, time)

    expected = greedy_search(whole_batch, state, **arguments)
    np.testing.assert_array_equal(shrinking.ids[:, :9], expected.ids[:, :9])
    np.testing.assert_allclose(shrinking.scores, expected.scores, rtol=0, atol=1e-5)
