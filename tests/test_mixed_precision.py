"""Mixed precision training (float16 or bfloat16 compute, float32 weights) and CPU threads."""

import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

from keras_seq2seq.config import ModelConfig, TrainConfig
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.models import build_seq2seq
from keras_seq2seq.training import cpu
from keras_seq2seq.training.fit import train
from tests.conftest import reverse_pairs

pytestmark = pytest.mark.slow


def test_mixed_precision_layers_compute_in_float16_with_float32_logits():
    config = ModelConfig(20, 15, units=8, embedding_dim=4, num_layers=2, bidirectional=True)
    models = build_seq2seq(config, mixed_precision=True)
    layer = models.training.get_layer("decoder_1")
    assert layer.compute_dtype == "float16" and layer.variable_dtype == "float32"
    assert models.training.get_layer("attention").compute_dtype == "float16"
    assert models.training.get_layer("output_projection").compute_dtype == "float32"
    source = np.array([[4, 5, 6, 0], [7, 8, 0, 0]], "int32")
    target = np.array([[2, 4, 5], [2, 6, 0]], "int32")
    logits = models.training([source, target])
    assert logits.dtype == "float32" and np.all(np.isfinite(logits.numpy()))


def test_mixed_precision_training_uses_loss_scaling_and_translates_in_float32(tmp_path):
    pairs = reverse_pairs(600, seed=3)
    result = train(
        pairs,
        tmp_path / "run",
        model_options={"units": 32, "embedding_dim": 16},
        train_config=TrainConfig(epochs=3, batch_size=32, mixed_precision=True),
        verbose=0,
    )
    losses = result.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    saved = keras.saving.load_model(tmp_path / "run" / "model.keras", safe_mode=True)
    assert isinstance(saved.optimizer, keras.optimizers.LossScaleOptimizer)
    translator = load(tmp_path / "run")
    assert translator.model.training.get_layer("decoder_0").compute_dtype == "float32"
    outputs = translator.translate(["abc", "hello", ""])
    assert len(outputs) == 3 and all(isinstance(o, str) for o in outputs)
    # The float32 copy computes what the float16 model computes, up to float16 rounding.
    source = np.array([[5, 6, 7, 3]], "int32")
    target = np.array([[2, 5, 6]], "int32")
    half = saved([source, target]).numpy()
    full = translator.model.training([source, target]).numpy()
    np.testing.assert_allclose(half, full, atol=0.05 * np.abs(full).max())


def test_bfloat16_training_needs_no_loss_scaling_and_translates_in_float32(tmp_path, monkeypatch):
    # As on a CPU without AMX: training warns, with what was detected, and still trains.
    monkeypatch.setattr(cpu, "cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    config = ModelConfig(20, 15, units=8, embedding_dim=4, num_layers=2, bidirectional=True)
    models = build_seq2seq(config, mixed_precision="bfloat16")
    assert models.training.get_layer("decoder_1").compute_dtype == "bfloat16"
    assert models.training.get_layer("encoder_0").forward_layer.compute_dtype == "bfloat16"
    assert models.training.get_layer("output_projection").compute_dtype == "float32"
    pairs = reverse_pairs(600, seed=4)
    final_losses = {}
    for precision in (False, "bfloat16"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = train(
                pairs,
                tmp_path / ("run" if precision else "float32"),
                model_options={"units": 32, "embedding_dim": 16},
                train_config=TrainConfig(epochs=3, batch_size=32, mixed_precision=precision),
                verbose=0,
            )
        advice = [str(w.message) for w in caught if issubclass(w.category, cpu.SpeedWarning)]
        assert len(advice) == (1 if precision else 0)
        if precision:
            assert "AVX512-BF16 but no AMX" in advice[0] and "0.73x" in advice[0]
        losses = result.history["val_loss"]
        assert all(np.isfinite(losses)) and losses[-1] < losses[0]
        final_losses[precision] = losses[-1]
    # bfloat16 learns as float32 does (same seed, same batches).
    assert abs(final_losses["bfloat16"] - final_losses[False]) < 0.05 * final_losses[False]
    saved = keras.saving.load_model(tmp_path / "run" / "model.keras", safe_mode=True)
    assert saved.get_layer("decoder_0").compute_dtype == "bfloat16"
    assert not isinstance(saved.optimizer, keras.optimizers.LossScaleOptimizer)
    translator = load(tmp_path / "run")
    assert translator.model.training.get_layer("decoder_0").compute_dtype == "float32"
    source = np.array([[5, 6, 7, 3]], "int32")
    target = np.array([[2, 5, 6]], "int32")
    half = saved([source, target]).numpy()
    full = translator.model.training([source, target]).numpy()
    np.testing.assert_allclose(half, full, atol=0.05 * np.abs(full).max())


def test_bfloat16_advice_follows_the_cpu():
    assert cpu.bfloat16_support(frozenset({"amx_bf16", "avx512_bf16"})) == "amx"
    assert cpu.bfloat16_advice(frozenset({"amx_tile", "amx_bf16"})) is None
    assert "neither AMX nor AVX512-BF16" in cpu.bfloat16_advice(frozenset({"avx512f"}))
    assert "1.36x" in cpu.bfloat16_advice(frozenset())
    assert isinstance(cpu.cpu_flags(), frozenset)


def test_config_rejects_unknown_precisions_and_non_boolean_flags():
    for value in ("yes", "float8", 1, None):
        with pytest.raises(ValueError, match=r"mixed_precision.*bfloat16"):
            TrainConfig(mixed_precision=value)
    assert TrainConfig(mixed_precision="bfloat16").mixed_precision == "bfloat16"
    with pytest.raises(TypeError, match="`jit_compile` must be True or False"):
        TrainConfig(jit_compile=1)


@pytest.mark.parametrize("given", [None, "0"])
def test_cpu_training_pools_tensorflow_memory_unless_told_not_to(given):
    # TensorFlow reads the variable when it creates its CPU allocator; an explicit 0 wins.
    # The pooling (BFC) allocator keeps statistics. Whether the default one does depends on
    # the machine (none on an Intel Xeon, some on an AMD EPYC with the same TensorFlow), so
    # only the pooled case asserts them.
    code = (
        "import os\n"
        "from keras_seq2seq.training.cpu import configure_for_cpu_training\n"
        "import tensorflow as tf\n"
        "configure_for_cpu_training()\n"
        "tf.ones([1000, 1000])\n"
        "try:\n"
        "    peak = tf.config.experimental.get_memory_info('CPU:0')['peak']\n"
        "except ValueError:\n"
        "    peak = None\n"
        "print(os.environ['TF_CPU_ALLOCATOR_USE_BFC'], peak is not None and peak >= 4_000_000)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    if given is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = given
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120, env=env)  # fmt: skip
    variable, has_statistics = done.stdout.split()
    assert variable == (given or "1")
    if given is None:
        assert has_statistics == "True"


def test_configure_cpu_threads_sets_pools_and_fails_clearly_once_tensorflow_ran():
    code = (
        "from keras_seq2seq.training.cpu import configure_cpu_threads\n"
        "import tensorflow as tf\n"
        "configure_cpu_threads(intra_op=1, inter_op=2)\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
        "tf.constant(1.0) + 1.0\n"
        "try:\n"
        "    configure_cpu_threads(intra_op=2, inter_op=2)\n"
        "except RuntimeError as error:\n"
        "    print('refused:', 'first thing in the program' in str(error))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split("\n")[:2] == ["1 2", "refused: True"]


def test_configure_cpu_threads_validates_counts():
    from keras_seq2seq.training.cpu import configure_cpu_threads

    with pytest.raises(ValueError, match="intra_op"):
        configure_cpu_threads(intra_op=-1)
