"""Tests for int8 exports (keras_seq2seq.serving.quantize, export_model(quantize="int8"))."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.cli import main
from keras_seq2seq.config import ModelConfig
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.models import build_model
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.serving.model_card import MODEL_CARD_FILE
from keras_seq2seq.serving.op_check import check_saved_model_ops
from keras_seq2seq.serving.quantize import check_quantize_mode, quantize_for_export
from tests.conftest import reverse_pairs

TEXTS = [source for source, _ in reverse_pairs(200, seed=11)]


def _checkpoint_dtypes(version_dir):
    """{checkpoint key: (dtype, size)} of an export's variables."""
    reader = tf.train.load_checkpoint(str(version_dir / "variables" / "variables"))
    shapes = reader.get_variable_to_shape_map()
    return {
        key: (dtype, int(np.prod(shapes[key])))
        for key, dtype in reader.get_variable_to_dtype_map().items()
    }


def _greedy(version_dir, texts):
    loaded = tf.saved_model.load(str(version_dir))
    outputs = loaded.signatures["serving_default"](tf.constant(texts))["outputs"]
    return [text.decode() for text in outputs.numpy()]


@pytest.fixture(scope="module")
def exports(reverse_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("quantize") / "reverse"
    float_dir = export_model(reverse_run.run_dir, base, version=1)
    int8_dir = export_model(reverse_run.run_dir, base, version=2, quantize="int8")
    return float_dir, int8_dir


@pytest.mark.slow
def test_dequantized_kernels_are_within_half_a_step(reverse_run):
    translator = load(reverse_run.run_dir)
    dense = [
        layer for layer in translator.model.training.layers if isinstance(layer, keras.layers.Dense)
    ]
    floats = {layer.name: np.array(layer.kernel) for layer in dense}
    summary = quantize_for_export(translator)
    assert summary.mode == "int8"
    assert set(summary.layers) == set(floats)
    assert "encoder_0" in summary.skipped  # the LSTM stays float32
    for layer in dense:
        kernel = np.array(layer.kernel)
        scale = np.array(layer.kernel_scale).reshape(1, -1)
        assert kernel.dtype == np.int8
        assert np.abs(kernel).max() == 127  # the full int8 range is used
        error = np.abs(kernel / scale - floats[layer.name])
        assert np.all(error <= 0.5 / scale + 1e-6), layer.name
    with pytest.raises(ValueError, match=r"Layer '\w+' is already quantized \(int8\)"):
        quantize_for_export(translator)


@pytest.mark.slow
def test_int8_export_stores_int8_kernels_and_passes_the_op_check(exports, reverse_run):
    float_dir, int8_dir = exports
    check_saved_model_ops(int8_dir)
    float_vars, int8_vars = _checkpoint_dtypes(float_dir), _checkpoint_dtypes(int8_dir)
    assert not any(dtype == tf.int8 for dtype, _ in float_vars.values())
    translator = load(reverse_run.run_dir)
    kernel_sizes = sorted(
        int(np.prod(layer.kernel.shape))
        for layer in translator.model.training.layers
        if isinstance(layer, keras.layers.Dense)
    )
    int8_sizes = sorted(size for dtype, size in int8_vars.values() if dtype == tf.int8)
    assert int8_sizes == kernel_sizes
    scale_sizes = sum(
        layer.kernel.shape[-1]
        for layer in translator.model.training.layers
        if isinstance(layer, keras.layers.Dense)
    )
    float_bytes = sum(size * dtype.size for dtype, size in float_vars.values())
    int8_bytes = sum(size * dtype.size for dtype, size in int8_vars.values())
    # Each kernel entry goes from 4 bytes to 1; each output unit gains a float32 scale.
    assert int8_bytes == float_bytes - 3 * sum(kernel_sizes) + 4 * scale_sizes
    card = json.loads((int8_dir / MODEL_CARD_FILE).read_text())
    assert card["quantization"]["mode"] == "int8"
    assert "output_projection" in card["quantization"]["layers"]
    assert "quantization" not in json.loads((float_dir / MODEL_CARD_FILE).read_text())


@pytest.mark.slow
def test_int8_greedy_outputs_agree_with_float32(exports):
    float_dir, int8_dir = exports
    expected = [source[::-1] for source in TEXTS]
    float_out, int8_out = _greedy(float_dir, TEXTS), _greedy(int8_dir, TEXTS)
    agreement = np.mean([a == b for a, b in zip(float_out, int8_out, strict=True)])
    float_acc = np.mean([a == b for a, b in zip(float_out, expected, strict=True)])
    int8_acc = np.mean([a == b for a, b in zip(int8_out, expected, strict=True)])
    assert float_acc >= 0.8  # the model is trained: agreement below means something
    assert agreement >= 0.95
    assert int8_acc >= float_acc - 0.03


def test_unknown_mode_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown quantization mode 'int4'\. Supported: 'int8'"):
        export_model(tmp_path / "missing", tmp_path / "out", quantize="int4")
    assert not (tmp_path / "out").exists()
    assert check_quantize_mode(None) is None
    with pytest.raises(ValueError, match="Unknown quantization mode 8"):
        check_quantize_mode(8)
    with pytest.raises(ValueError, match="needs a mode"):
        quantize_for_export(keras.Sequential([keras.layers.Dense(2)]), mode=None)


def test_models_it_cannot_quantize_are_refused():
    embedding_only = keras.Sequential([keras.Input((3,)), keras.layers.Embedding(10, 4)])
    with pytest.raises(ValueError, match=r"no Dense or EinsumDense layer.*without `--quantize`"):
        quantize_for_export(embedding_only)
    with pytest.raises(TypeError, match=r"takes a Translator.*Received: str"):
        quantize_for_export("runs/dates")


def test_transformer_keeps_attention_projections_float32():
    config = ModelConfig(12, 10, architecture="transformer", units=8, heads=2, num_layers=1)
    model = build_model(config)
    summary = quantize_for_export(model)
    assert "output_projection" in summary.layers
    assert {"decoder_0_ffn_in", "encoder_0_ffn_out"} <= set(summary.layers)
    attention = [name for name in summary.skipped if name.endswith("_attention")]
    assert attention  # read through their kernels by the decoder, so left float32
    for layer in model.training.layers:
        if isinstance(layer, keras.layers.MultiHeadAttention):
            assert {weight.dtype for weight in layer.weights} == {"float32"}


def test_quantized_transformer_steps_like_its_training_model():
    """The decoder's step runs the int8 feed-forward layers as the training model does."""
    from keras_seq2seq.models.protocol import SourceBatch

    config = ModelConfig(30, 30, architecture="transformer", units=16, heads=2, num_layers=2)
    model = build_model(config)
    rng = np.random.RandomState(0)
    source = rng.randint(4, 30, size=(3, 7)).astype("int32")
    target = rng.randint(4, 30, size=(3, 5)).astype("int32")
    target[:, 0] = 2
    float_log_probs = tf.nn.log_softmax(model.training([source, target])).numpy()
    quantize_for_export(model)
    expected = tf.nn.log_softmax(model.training([source, target])).numpy()
    assert np.abs(expected - float_log_probs).max() > 1e-6  # int8 changed the arithmetic
    state, context = model.encode(SourceBatch(tf.constant(source), 8))
    for t in range(target.shape[1]):
        log_probs, state, _, _ = model.step(
            tf.constant(target[:, t]), state, context, tf.constant(t)
        )
        np.testing.assert_allclose(log_probs.numpy(), expected[:, t], atol=1e-4)


@pytest.mark.slow
def test_cli_exports_int8(tiny_run, tmp_path, capsys):
    base = tmp_path / "saved" / "tiny"
    args = ["export", "--model", str(tiny_run), "--output", str(base), "--quantize", "int8"]
    assert main(args) == 0
    assert "Exported to" in capsys.readouterr().out
    card = json.loads((base / "1" / MODEL_CARD_FILE).read_text())
    assert card["quantization"]["mode"] == "int8"
    assert any(dtype == tf.int8 for dtype, _ in _checkpoint_dtypes(base / "1").values())
    with pytest.raises(SystemExit) as refused:
        main([*args[:-1], "int4"])
    assert refused.value.code == 2
    assert "invalid choice: 'int4'" in capsys.readouterr().err
