import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.config import ModelConfig
from keras_seq2seq.models import build_inference_models, build_seq2seq, states_per_layer
from keras_seq2seq.models.protocol import SourceBatch
from keras_seq2seq.training.losses import MaskedAccuracy, MaskedSparseCrossentropy

VARIANTS = [
    {},
    {"attention": "additive"},
    {"attention": "none"},
    {"cell": "gru"},
    {"bidirectional": True, "num_layers": 2},
    {"cell": "gru", "bidirectional": True, "num_layers": 3, "attention": "additive"},
    {"dropout": 0.3, "num_layers": 2},
]


def _batch(seed=0):
    rng = np.random.RandomState(seed)
    source = rng.randint(4, 30, size=(4, 9)).astype("int32")
    source[0, 3:] = 0
    source[1, 7:] = 0
    target = rng.randint(4, 20, size=(4, 6)).astype("int32")
    target[:, 0] = 2
    target[2, 4:] = 0
    return source, target


def _step_logits(models, config, source, target):
    """Runs the decoder-step model one token at a time under teacher forcing."""
    outputs = models.encoder(tf.constant(source))
    memory, mask, states = outputs[0], outputs[1], list(outputs[2:])
    n = config.num_layers * states_per_layer(models.options)
    steps = []
    for t in range(target.shape[1]):
        inputs = [tf.constant(target[:, t : t + 1]), *states]
        if models.options.attention != "none":
            inputs += [tf.identity(memory), tf.identity(mask)]
        out = models.decoder_step(inputs)
        steps.append(out[0].numpy())
        states = list(out[1 : 1 + n])
    return np.stack(steps, axis=1)


@pytest.mark.parametrize("options", VARIANTS)
def test_step_model_reproduces_training_logits(options):
    config = ModelConfig(30, 20, units=8, embedding_dim=6, **options)
    models = build_seq2seq(config)
    source, target = _batch()
    logits = models.training([source, target]).numpy()
    assert logits.shape == (4, 6, 20)
    step = _step_logits(models, config, source, target)
    valid = target != 0
    assert np.abs(step[valid] - logits[valid]).max() <= 1e-5


@pytest.mark.parametrize("options", [VARIANTS[0], VARIANTS[2], VARIANTS[5]])
def test_interface_step_reproduces_training_log_probs(options):
    config = ModelConfig(30, 20, units=8, embedding_dim=6, **options)
    model = build_seq2seq(config)
    source, target = _batch(1)
    expected = tf.nn.log_softmax(model.training([source, target]), axis=-1).numpy()
    state, context = model.encode(SourceBatch(tf.constant(source), target.shape[1]))
    for t in range(target.shape[1]):
        log_probs, state, attention, _ = model.step(
            tf.constant(target[:, t]), state, context, tf.constant(t)
        )
        valid = target[:, t] != 0
        assert np.abs(log_probs.numpy()[valid] - expected[valid, t]).max() <= 1e-5
        assert (attention is None) == (options.get("attention") == "none")
        if attention is not None:
            # Weights over the source: zero on padding, summing to one.
            np.testing.assert_allclose(attention.numpy().sum(axis=1), 1.0, rtol=1e-5)
            assert (attention.numpy()[source == 0] == 0).all()


def test_inference_models_share_weights_with_training_model():
    config = ModelConfig(30, 20, units=8, embedding_dim=6)
    models = build_seq2seq(config)
    training_ids = {id(w) for w in models.training.weights}
    for model in (models.encoder, models.decoder_step):
        assert {id(w) for w in model.weights} <= training_ids
    # Changing a training weight changes the step model's output: they are the same variables.
    source, target = _batch()
    before = _step_logits(models, config, source, target)
    layer = models.training.get_layer("output_projection")
    layer.kernel.assign(layer.kernel * 2.0)
    assert not np.allclose(before, _step_logits(models, config, source, target))


def test_padding_does_not_change_outputs():
    config = ModelConfig(30, 20, units=8, embedding_dim=6, bidirectional=True)
    models = build_seq2seq(config)
    source, target = _batch()
    wider = np.concatenate([source, np.zeros((4, 5), "int32")], axis=1)
    np.testing.assert_allclose(
        models.training([source, target]).numpy(),
        models.training([wider, target]).numpy(),
        atol=1e-5,
    )


def test_keras_save_load_round_trip(tmp_path):
    config = ModelConfig(30, 20, units=8, embedding_dim=6, attention="additive")
    models = build_seq2seq(config)
    models.training.compile(loss=MaskedSparseCrossentropy(0.1), metrics=[MaskedAccuracy()])
    models.training.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")  # safe_mode on, no custom_objects
    source, target = _batch()
    np.testing.assert_allclose(
        models.training([source, target]).numpy(), loaded([source, target]).numpy(), atol=1e-6
    )
    encoder, _ = build_inference_models(loaded, config)
    np.testing.assert_allclose(
        encoder(source)[0].numpy(), models.encoder(source)[0].numpy(), atol=1e-6
    )


def test_build_inference_models_names_missing_layer():
    config = ModelConfig(30, 20, units=8)
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"no layer named 'source_embedding'"):
        build_inference_models(other, config)


def test_masked_loss_ignores_padding():
    loss = MaskedSparseCrossentropy()
    logits = np.log(np.array([[[0.1, 0.2, 0.3, 0.2, 0.2], [0.5, 0.1, 0.1, 0.1, 0.2]]]))
    y_true = np.array([[2, 0]])
    assert float(loss(y_true, logits)) == pytest.approx(-np.log(0.3), rel=1e-5)
    y_true = np.array([[2, 4]])
    assert float(loss(y_true, logits)) == pytest.approx(-(np.log(0.3) + np.log(0.2)) / 2, 1e-5)
    smoothed = MaskedSparseCrossentropy(label_smoothing=0.2)
    expected = 0.8 * -np.log(0.3) + 0.2 * -np.mean(np.log([0.1, 0.2, 0.3, 0.2, 0.2]))
    assert float(smoothed(np.array([[2, 0]]), logits)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match=r"`label_smoothing` must be in \[0, 1\)"):
        MaskedSparseCrossentropy(label_smoothing=1.0)


def test_log_prob_loss_smooths_over_the_vocabulary_only():
    # A copying model's log-probabilities: 4 vocabulary columns, then 2 extended ids (one
    # that no source position maps to: -inf). Smoothing averages the vocabulary columns.
    log_probs = np.log([[[0.1, 0.2, 0.3, 0.1, 0.3, 0.0], [0.4, 0.1, 0.1, 0.1, 0.3, 0.0]]])
    log_probs = tf.constant(log_probs.astype("float32"))
    y_true = np.array([[4, 2]])
    loss = MaskedSparseCrossentropy(0.1, vocabulary_size=4, from_log_probs=True)
    with tf.GradientTape() as tape:
        tape.watch(log_probs)
        value = loss(y_true, log_probs)
    nll = -(np.log(0.3) + np.log(0.1)) / 2
    smooth = -(np.mean(np.log([0.1, 0.2, 0.3, 0.1])) + np.mean(np.log([0.4, 0.1, 0.1, 0.1]))) / 2
    assert float(value) == pytest.approx(0.9 * nll + 0.1 * smooth, rel=1e-5)
    gradient = tape.gradient(value, log_probs).numpy()
    expected = np.zeros((1, 2, 6))
    expected[0, :, :4] = -0.1 / 4 / 2
    expected[0, 0, 4] += -0.9 / 2
    expected[0, 1, 2] += -0.9 / 2
    np.testing.assert_allclose(gradient, expected, atol=1e-6)


def test_masked_accuracy():
    metric = MaskedAccuracy()
    logits = np.zeros((1, 3, 5))
    logits[0, 0, 4] = 1
    logits[0, 1, 1] = 1
    metric.update_state(np.array([[4, 2, 0]]), logits)
    assert float(metric.result()) == pytest.approx(0.5)
