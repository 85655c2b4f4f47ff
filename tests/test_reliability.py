"""Reliability: resuming killed runs, NaN losses, seeded determinism, odd inputs, safe loading."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_seq2seq.config import TextConfig, TrainConfig
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.errors import TruncationWarning
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.text.tokenizers import fit_tokenizer, normalize_text
from keras_seq2seq.text.vocabulary import END_ID, UNK_ID
from keras_seq2seq.training.fit import read_history, train
from tests.conftest import reverse_pairs

TINY_MODEL = {"units": 8, "embedding_dim": 4}


def _model_weights(run_dir):
    model = keras.saving.load_model(run_dir / "model.keras", compile=False)
    return [np.asarray(w) for w in model.get_weights()]


_TRANSLATORS = {}


def load_cached(run_dir):
    """One `Translator` per run directory (its tf.functions trace once)."""
    if run_dir not in _TRANSLATORS:
        _TRANSLATORS[run_dir] = load(run_dir)
    return _TRANSLATORS[run_dir]


# -- 1. A killed training run resumes from its backup ---------------------------------------


def _wait_for_epochs(process, history_path, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"training exited early with code {process.returncode}")
        try:
            if len(read_history(history_path).get("loss", [])) >= count:
                return
        except json.JSONDecodeError:  # caught mid-write: read again
            pass
        time.sleep(0.05)
    pytest.fail(f"no finished epoch in {history_path} after {timeout} s")


@pytest.mark.slow
def test_killed_training_resumes_from_backup(tmp_path):
    rng = random.Random(0)
    words = [
        "".join(rng.choice("abcdefgh") for _ in range(rng.randint(3, 12))) for _ in range(3000)
    ]
    data = tmp_path / "pairs.tsv"
    data.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words), encoding="utf-8")
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "keras_seq2seq.cli", "train", "--dataset", str(data),
        "--output", str(run), "--epochs", "4", "--units", "8", "--embedding-dim", "4",
        "--tokenizer", "char", "--batch-size", "32", "--seed", "1",
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(tmp_path / "first.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_for_epochs(process, run / "history.json", 1, timeout=120)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == -signal.SIGKILL
    losses_before = read_history(run / "history.json")["loss"]
    assert 1 <= len(losses_before) < 4
    assert (run / "backup").is_dir()

    result = subprocess.run(command, capture_output=True, env=env, timeout=300)
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output[-4000:]
    # Resumed, not restarted: Keras starts counting after the epochs already done.
    assert "Epoch 4/4" in output and "Epoch 1/4" not in output

    history = read_history(run / "history.json")
    assert len(history["loss"]) == 4
    # The epochs finished before the kill keep their logged values.
    assert history["loss"][: len(losses_before)] == losses_before
    assert not (run / "backup").exists()
    outputs = load(run).translate(["abc", "hgfe"])
    assert len(outputs) == 2 and all(isinstance(text, str) for text in outputs)


# -- 2. A NaN loss stops training; the last good checkpoint stays ------------------------------


class _PoisonWeightsAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            for variable in self.model.trainable_variables:
                variable.assign(tf.fill(variable.shape, float("nan")))


@pytest.mark.slow
def test_nan_loss_stops_training_and_keeps_last_good_model(tmp_path):
    result = train(
        reverse_pairs(200, seed=2),
        tmp_path / "run",
        validation_pairs=reverse_pairs(20, seed=3),
        model_options=TINY_MODEL,
        train_config=TrainConfig(epochs=4, batch_size=32, patience=0),
        verbose=0,
        callbacks=[_PoisonWeightsAtEpoch(1)],
    )
    losses = result.history["loss"]
    assert len(losses) == 2, losses  # stopped in the poisoned epoch instead of running 4
    assert np.isfinite(losses[0]) and np.isnan(losses[1])
    weights = _model_weights(result.run_dir)
    assert all(np.all(np.isfinite(w)) for w in weights)
    translator = load(result.run_dir)
    outputs = translator.translate(["abc", "dcba"], beam_width=2, n_best=2)
    assert all(np.isfinite(h.score) for hyps in outputs for h in hyps)


# -- 3. --seed makes training reproducible ----------------------------------------------------


@pytest.mark.slow
def test_same_seed_gives_identical_weights(tmp_path):
    pairs = reverse_pairs(300, seed=4)

    def run(name, seed):
        train(
            pairs,
            tmp_path / name,
            model_options=TINY_MODEL,
            train_config=TrainConfig(epochs=2, batch_size=32, seed=seed),
            verbose=0,
        )
        return _model_weights(tmp_path / name)

    first, again, other = run("a", 5), run("b", 5), run("c", 6)
    assert len(first) == len(again)
    for left, right in zip(first, again, strict=True):
        np.testing.assert_array_equal(left, right)
    assert any(not np.array_equal(left, right) for left, right in zip(first, other, strict=True))


# -- 4. Property tests ------------------------------------------------------------------------


def _normalized(text):
    return normalize_text(tf.constant([text])).numpy()[0].decode("utf-8") == text


unicode_texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).filter(
    _normalized
)


@settings(max_examples=30, deadline=None)
@given(unicode_texts)
def test_char_tokenizer_round_trips_normalized_text(text):
    tokenizer = fit_tokenizer(TextConfig(tokenizer="char"), [text, "x"])
    ids = tokenizer.tokenize(tf.constant([text]))
    assert UNK_ID not in ids.flat_values.numpy()
    assert tokenizer.detokenize(ids).numpy()[0].decode("utf-8") == text


@settings(max_examples=30, deadline=None)
@given(unicode_texts)
def test_word_tokenizer_detokenize_is_stable(text):
    tokenizer = fit_tokenizer(TextConfig(tokenizer="word"), [text, "x"])
    ids = tokenizer.tokenize(tf.constant([text]))
    assert UNK_ID not in ids.flat_values.numpy()
    back = tokenizer.detokenize(ids).numpy()[0].decode("utf-8")
    assert tokenizer.tokenize(tf.constant([back])).to_list() == ids.to_list()


ODD_TEXTS = [
    "",
    " ",
    "\t\n \r",
    "😀👍🏽🇫🇷",
    "مرحبا بالعالم",
    "שלום",
    "a\u200fb\u202ec",
    "\x00\x7f",
    "x" * 10_000,
]


@pytest.mark.slow
def test_translate_odd_inputs_one_output_each(reverse_run):
    # The 10,000-character input is longer than the model's max_source_length.
    with pytest.warns(TruncationWarning, match=r"1 of \d+ inputs"):
        outputs = load_cached(reverse_run.run_dir).translate(ODD_TEXTS)
    assert len(outputs) == len(ODD_TEXTS)
    assert all(isinstance(text, str) for text in outputs)


@pytest.mark.slow
def test_translate_groups_inputs_by_length_and_returns_them_in_order(reverse_run):
    translator = load_cached(reverse_run.run_dir)
    # Lengths out of order, so that grouping by length mixes the batches of 3.
    texts = ["abcdefgh", "ab", "abcdef", "a", "abcdefghij", "abc", "abcd", "abcdefg"]
    one_at_a_time = [translator.translate(text) for text in texts]
    assert translator.translate(texts, batch_size=3) == one_at_a_time
    beams = translator.translate(texts, batch_size=3, beam_width=3, n_best=2)
    assert [row[0].text for row in beams] == [
        translator.translate(text, beam_width=3) for text in texts
    ]


@pytest.mark.slow
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(max_size=30), max_size=4))
def test_translate_never_raises_on_arbitrary_unicode(reverse_run, texts):
    outputs = load_cached(reverse_run.run_dir).translate(texts)
    assert len(outputs) == len(texts)
    assert all(isinstance(text, str) for text in outputs)


# -- 5. Loading refuses Python code in model.keras ---------------------------------------------


@pytest.mark.slow
def test_load_refuses_lambda_layer(reverse_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reverse_run.run_dir, run)
    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda x: x)(inputs)
    keras.Model(inputs, outputs).save(run / "model.keras")
    with pytest.raises(ValueError, match=r"(?s)model\.keras.*safe_mode"):
        load(run)


# -- 6. Catalogue edge cases ------------------------------------------------------------------


@pytest.mark.slow
def test_out_of_vocabulary_characters_translate_as_unk(reverse_run):
    translator = load_cached(reverse_run.run_dir)
    ids = translator.encode_source(tf.constant(["aZb"])).numpy()[0]
    assert ids[1] == UNK_ID and ids[-1] == END_ID
    outputs = translator.translate(["aZb", "ZZZ", "é"])
    assert len(outputs) == 3 and all(isinstance(text, str) for text in outputs)


@pytest.mark.slow
def test_long_input_is_truncated_to_max_source_length(reverse_run):
    translator = load_cached(reverse_run.run_dir)
    max_length = translator.config.source_text.max_length
    text = "abcdefgh" * (max_length // 8 + 5)
    ids = translator.encode_source(tf.constant([text]))
    assert ids.shape[1] == max_length + 1
    with pytest.warns(TruncationWarning, match=r"1 of 2 inputs had more than max_source_length"):
        outputs = translator.translate([text, "abc"])
    assert outputs[0] == translator.translate(text[:max_length])


def test_zero_epochs_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"epochs"):
        train([("ab", "ba")] * 4, tmp_path / "run", train_config=TrainConfig(epochs=0))


@pytest.fixture(scope="module")
def serving_signature(reverse_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("bytes") / "reverse"
    loaded = tf.saved_model.load(str(export_model(reverse_run.run_dir, base)))
    return loaded, loaded.signatures["serving_default"]


@pytest.mark.slow
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(max_size=64), min_size=1, max_size=8))
def test_serving_signature_returns_utf8_for_arbitrary_bytes(serving_signature, inputs):
    _, signature = serving_signature
    result = signature(inputs=tf.constant(inputs, dtype=tf.string))
    outputs = result["outputs"].numpy()
    assert len(outputs) == len(inputs)
    for output in outputs:
        output.decode("utf-8")  # raises on invalid UTF-8
    assert np.isfinite(result["scores"].numpy()).all()
