"""The CPU LSTM kernel gives the same outputs, states and gradients as keras.layers.LSTM."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.models.lstm import LSTM, _uses_fast_kernel, lstm_sequence


def _pair(units, **kwargs):
    """Our LSTM and a keras.layers.LSTM with the same weights."""
    ours = LSTM(units, return_sequences=True, return_state=True, **kwargs)
    reference = keras.layers.LSTM(units, return_sequences=True, return_state=True, **kwargs)
    return ours, reference


def _data(batch=5, steps=7, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, dim)).astype("float32")
    lengths = np.array([steps, 1, 4, steps - 1, 2][:batch])
    mask = np.arange(steps)[None, :] < lengths[:, None]
    return tf.constant(x), tf.constant(mask)


def _run(layer, x, mask, initial_state, training=True):
    with tf.GradientTape() as tape:
        tape.watch(x)
        tape.watch(initial_state)
        outputs, h, c = layer(x, mask=mask, initial_state=initial_state, training=training)
        # Outputs at padded steps differ by convention (Keras repeats the last output, the
        # cuDNN kernel and ours write zeros): compare and differentiate the real steps only.
        real = outputs * tf.cast(mask, tf.float32)[:, :, None]
        loss = tf.reduce_sum(real**2) + tf.reduce_sum(h * 1.5) + tf.reduce_sum(c * 0.5)
    grads = tape.gradient(loss, [x, *initial_state, *layer.trainable_weights])
    return [real, h, c], grads


@pytest.mark.parametrize("training", [True, False])  # hand-written / automatic gradient
@pytest.mark.parametrize("go_backwards", [False, True])
def test_matches_keras_lstm_with_right_padding(go_backwards, training):
    x, mask = _data()
    ours, reference = _pair(6, go_backwards=go_backwards)
    ours.build(x.shape)
    reference.build(x.shape)
    reference.set_weights(ours.get_weights())
    rng = np.random.default_rng(1)
    state = [tf.constant(rng.normal(size=(5, 6)).astype("float32")) for _ in range(2)]
    assert _uses_fast_kernel(ours)
    values, grads = _run(ours, x, mask, state, training)
    expected_values, expected_grads = _run(reference, x, mask, state)
    for got, want in zip(values + grads, expected_values + expected_grads, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_padded_outputs_are_zero_and_states_come_from_the_last_real_step():
    x, mask = _data()
    layer = LSTM(4, return_sequences=True, return_state=True)
    outputs, h, _ = layer(x, mask=mask)
    lengths = mask.numpy().sum(axis=1)
    for row, length in enumerate(lengths):
        assert np.all(outputs.numpy()[row, length:] == 0)
        np.testing.assert_array_equal(h.numpy()[row], outputs.numpy()[row, length - 1])


def test_bidirectional_and_last_output_match_keras():
    x, mask = _data(seed=3)
    ours = keras.layers.Bidirectional(LSTM(4, return_state=True))
    reference = keras.layers.Bidirectional(keras.layers.LSTM(4, return_state=True))
    ours(x, mask=mask)
    reference(x, mask=mask)
    reference.set_weights(ours.get_weights())
    for got, want in zip(ours(x, mask=mask), reference(x, mask=mask), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_no_mask_and_single_step_match_keras():
    x, _ = _data(steps=1)
    ours, reference = _pair(3)
    ours.build(x.shape)
    reference.build(x.shape)
    reference.set_weights(ours.get_weights())
    for got, want in zip(ours(x), reference(x), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_left_padding_is_refused_with_a_clear_error():
    x, _ = _data(batch=2, steps=3)
    mask = tf.constant([[False, True, True], [True, True, True]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="right-padded"):
        LSTM(2)(x, mask=mask)


def test_empty_sequence_keeps_the_initial_state():
    x = tf.ones([1, 3, 2])
    h0 = tf.constant([[0.3, -0.2]])
    out, h, c = lstm_sequence(
        x, h0, h0, tf.ones([2, 8]), tf.ones([2, 8]), None, mask=tf.zeros([1, 3], tf.bool)
    )
    np.testing.assert_array_equal(h.numpy(), h0.numpy())
    np.testing.assert_array_equal(c.numpy(), h0.numpy())
    assert np.all(out.numpy() == 0)


def test_other_settings_defer_to_keras():
    assert not _uses_fast_kernel(LSTM(2, recurrent_dropout=0.1))
    assert not _uses_fast_kernel(LSTM(2, activation="relu"))
    assert not _uses_fast_kernel(LSTM(2, unroll=True))


def test_saved_model_file_loads_with_the_same_layer(tmp_path):
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, LSTM(4)(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded.layers[-1], LSTM)
    x = tf.ones([2, 5, 3])
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)


def test_inference_graph_saves_as_saved_model(tmp_path):
    layer = LSTM(4, return_sequences=True)
    layer(tf.ones([1, 2, 3]))
    module = tf.Module()
    module.layer = layer
    module.run = tf.function(
        lambda x: layer(x, training=False), input_signature=[tf.TensorSpec([None, None, 3])]
    )
    tf.saved_model.save(module, str(tmp_path / "sm"))
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    x = tf.ones([2, 5, 3])
    np.testing.assert_allclose(loaded.run(x).numpy(), layer(x).numpy(), rtol=1e-6)


def test_trains_inside_a_tf_function_with_unknown_shapes():
    keras.utils.set_random_seed(1)  # the first loss depends on the initial weights
    layer = LSTM(4, return_sequences=True)
    optimizer = keras.optimizers.Adam(0.05)
    x, mask = _data()
    layer(x, mask=mask)

    @tf.function(
        input_signature=[tf.TensorSpec([None, None, 3]), tf.TensorSpec([None, None], tf.bool)]
    )
    def step(x, mask):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((layer(x, mask=mask, training=True) - 0.5) ** 2)
        grads = tape.gradient(loss, layer.trainable_variables)
        optimizer.apply_gradients(zip(grads, layer.trainable_variables, strict=True))
        return loss

    losses = [float(step(x, mask)) for _ in range(30)]
    # The loss falls to its floor (~0.11 on this data) from 0.23-0.28 for any of several seeds;
    # a layer whose gradients did not reach its weights would stay near the first loss.
    assert losses[-1] < 0.6 * losses[0]


def test_keras_lstm_call_keeps_the_signature_the_layer_overrides():
    # LSTM hooks in by overriding keras.layers.LSTM.call: if Keras changes it, revisit lstm.py.
    parameters = inspect.signature(keras.layers.LSTM.call).parameters
    assert [(p.name, p.default) for p in parameters.values()] == [
        ("self", inspect.Parameter.empty),
        ("sequences", inspect.Parameter.empty),
        ("initial_state", None),
        ("mask", None),
        ("training", False),
    ]
    assert "call" in LSTM.__dict__


@pytest.mark.parametrize("training", [True, False])
def test_last_output_and_states_match_keras(training):
    x, mask = _data(seed=4)
    ours = LSTM(4, return_state=True)
    reference = keras.layers.LSTM(4, return_state=True)
    ours(x)
    reference(x)
    reference.set_weights(ours.get_weights())
    assert _uses_fast_kernel(ours)
    results = []
    for layer in (ours, reference):
        with tf.GradientTape() as tape:
            tape.watch(x)
            output, h, c = layer(x, mask=mask, training=training)
            loss = tf.reduce_sum(output**2) + tf.reduce_sum(h) + tf.reduce_sum(c * 0.5)
        results.append([output, h, c, *tape.gradient(loss, [x, *layer.trainable_weights])])
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_decoder_with_initial_state_in_a_functional_model_matches_keras():
    outputs = {}
    for lstm in (LSTM, keras.layers.LSTM):
        source, target = keras.Input((None, 3)), keras.Input((None, 2))
        _, h, c = lstm(4, return_state=True)(source)
        decoded = lstm(4, return_sequences=True, return_state=True)(target, initial_state=[h, c])
        outputs[lstm] = keras.Model([source, target], decoded)
    outputs[keras.layers.LSTM].set_weights(outputs[LSTM].get_weights())
    inputs = [_data(batch=2, seed=5)[0], _data(batch=2, dim=2, seed=6)[0]]
    for got, want in zip(outputs[LSTM](inputs), outputs[keras.layers.LSTM](inputs), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_input_dropout_matches_keras_with_the_same_seed():
    x, mask = _data(seed=7)
    ours = LSTM(4, dropout=0.4, seed=11, return_sequences=True)
    reference = keras.layers.LSTM(4, dropout=0.4, seed=11, return_sequences=True)
    ours(x)
    reference(x)
    reference.set_weights(ours.get_weights())
    assert _uses_fast_kernel(ours)
    for training in (True, False, True):  # the random streams stay in step across calls
        real = tf.cast(mask, tf.float32)[:, :, None]
        got = ours(x, mask=mask, training=training) * real
        want = reference(x, mask=mask, training=training) * real
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_stateful_layer_defers_to_keras():
    x, _ = _data(batch=2, seed=8)
    ours = LSTM(3, stateful=True, return_state=True)
    reference = keras.layers.LSTM(3, stateful=True, return_state=True)
    ours(x)
    reference(x)
    reference.set_weights(ours.get_weights())
    ours.reset_state()
    reference.reset_state()
    for _ in range(2):  # the second call starts from the states the first left
        for got, want in zip(ours(x), reference(x), strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
