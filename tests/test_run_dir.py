"""Tests for keras_seq2seq.training.run_dir (lock, files) and keras_seq2seq.serving.model_card."""

import json
import os
import signal
import subprocess
import sys

import keras
import pytest

from keras_seq2seq.cli import main
from keras_seq2seq.config import TrainConfig
from keras_seq2seq.errors import RunDirectoryBusyError
from keras_seq2seq.serving.model_card import format_model_card, model_card, pairs_sha256
from keras_seq2seq.training.fit import TrainingInterruptedError, read_history, train
from keras_seq2seq.training.run_dir import model_files, training_lock
from tests.conftest import reverse_pairs


def test_one_trainer_per_run_directory(tmp_path):
    with training_lock(tmp_path / "run"):
        with pytest.raises(
            RunDirectoryBusyError, match=rf"being trained by another process \(pid {os.getpid()}\)"
        ):
            train(
                [("ab", "ba")] * 8, tmp_path / "run", train_config=TrainConfig(epochs=1), verbose=0
            )
        assert main(["train", "--dataset", "dates", "--output", str(tmp_path / "run")]) == 2
    with training_lock(tmp_path / "run"):  # released when the first holder let go
        pass


def test_a_killed_trainer_leaves_no_stuck_lock(tmp_path):
    code = (
        "import sys, time; from pathlib import Path; from keras_seq2seq.training.run_dir import "
        "training_lock\nwith training_lock(Path(sys.argv[1])):\n print('locked', flush=True); "
        "time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run")],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    with (
        pytest.raises(RunDirectoryBusyError, match=rf"pid {holder.pid}"),
        training_lock(tmp_path / "run"),
    ):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with training_lock(tmp_path / "run"):
        pass


class _StopAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.stop_epoch = epoch
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == self.stop_epoch and batch == 1:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_ctrl_c_says_what_the_backup_holds_and_resuming_works(tmp_path):
    pairs = reverse_pairs(300, seed=3)
    options = {"model_options": {"units": 8, "embedding_dim": 4}, "verbose": 0,
               "train_config": TrainConfig(epochs=4, batch_size=32, patience=0)}  # fmt: skip
    with pytest.raises(TrainingInterruptedError) as stopped:
        train(pairs, tmp_path / "run", callbacks=[_StopAtEpoch(2)], **options)
    assert str(stopped.value).startswith("Training stopped during epoch 3.")
    assert "after epoch 2: run the same command again" in str(stopped.value)
    assert (tmp_path / "run" / "backup").is_dir()
    assert len(read_history(tmp_path / "run" / "history.json")["loss"]) == 2
    result = train(pairs, tmp_path / "run", **options)  # the lock was released
    assert len(result.history["loss"]) == 4
    with pytest.raises(TrainingInterruptedError, match=r"before the first epoch ended"):
        train(pairs, tmp_path / "fresh", callbacks=[_StopAtEpoch(0)], **options)


@pytest.mark.slow
def test_a_run_the_time_budget_stopped_trains_on_with_the_same_command(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from keras_seq2seq.training import callbacks as callbacks_module

    # Every reading of the clock is 40 s after the last, so a 1-minute budget stops each
    # sitting after its first batch, and that part-epoch ends like a whole one.
    ticks = iter(range(0, 10**9, 40))
    clock = SimpleNamespace(perf_counter=lambda: float(next(ticks)))
    monkeypatch.setattr(callbacks_module, "time", clock)
    config = TrainConfig(epochs=3, batch_size=32, patience=0, time_budget_minutes=1)
    options = {"model_options": {"units": 8, "embedding_dim": 4}, "verbose": 0,
               "train_config": config}  # fmt: skip
    pairs, run = reverse_pairs(300, seed=3), tmp_path / "run"
    seconds = 0.0
    for sitting in (1, 2, 3):
        result = train(pairs, run, **options)
        record = json.loads((run / "training.json").read_text())
        assert len(result.history["loss"]) == record["epochs_run"] == sitting
        assert record["resumable"] == (sitting < 3) == (run / "backup").is_dir()
        assert record["seconds"] > seconds  # the sittings add up
        seconds = record["seconds"]


@pytest.mark.slow
def test_model_card_and_info(reverse_run, capsys):
    card = model_card(reverse_run.run_dir)
    assert card["architecture"] == "rnn" and card["units"] == 32
    assert card["parameters"] > 1000
    assert card["source"]["tokenizer"] == "char" and card["source"]["vocabulary_size"] >= 12
    training = card["training"]
    assert training["data"]["train_pairs"] == reverse_run.num_train_examples
    assert training["data"]["sha256"] == pairs_sha256(reverse_pairs(3000, seed=0))
    assert training["epochs_run"] == len(reverse_run.history["loss"]) and training["seconds"] > 0
    text = format_model_card(card)
    assert "parameters" in text and "3,000 train" in text
    assert main(["info", str(reverse_run.run_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"] == card["parameters"]


@pytest.mark.slow
def test_export_writes_the_model_card(reverse_run, tmp_path):
    from keras_seq2seq.evaluation.evaluate import evaluate
    from keras_seq2seq.serving.export import export_model

    version = export_model(reverse_run.run_dir, tmp_path / "saved" / "reverse")
    card = json.loads((version / "model_card.json").read_text())
    assert card["training"]["data"]["train_pairs"] == reverse_run.num_train_examples
    assert card == model_card(version)  # the card names the published version, not staging
    assert card["model"] == str(version)
    for name in model_files(reverse_run.config):
        assert (version / name).is_file()
    report = evaluate(version, reverse_pairs(20, seed=9), progress=False, record=True)
    assert model_card(version)["evaluation"]["exact_match"] == report["exact_match"]


# -- a damaged model directory --------------------------------------------------------------


def _damaged_copy(tiny_run, tmp_path, **model_changes):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_run, model, ignore=shutil.ignore_patterns(".lock", "logs"))
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    for name, value in model_changes.items():
        target = config["model"] if name in config["model"] else config["model"]["options"]
        target[name] = value
    (model / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return model


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"units": 16},
            r"config\.json does not match the weights in .*model\.keras: config\.json gives "
            r"units=16, but layer 'encoder_0' in model\.keras was trained with units=8 "
            r"\(also layer\(s\) 'attention_projection', 'decoder_0'\)\. Set units back",
        ),
        (
            {"num_layers": 2},
            r"config\.json does not match .*settings \(.*num_layers=2.*\) call for layer\(s\) "
            r"'encoder_1', 'decoder_1' that model\.keras does not have",
        ),
        (
            {"architecture": "transformer"},
            r"config\.json does not match .*model settings are invalid: Unknown option\(s\) "
            r"\['embedding_dim'\] for architecture 'transformer'",
        ),
    ],
)
def test_a_config_that_disagrees_with_the_weights_names_the_field(
    tiny_run, tmp_path, capsys, changes, match
):
    from keras_seq2seq.decoding.translator import load

    model = _damaged_copy(tiny_run, tmp_path, **changes)
    with pytest.raises(ValueError, match=match) as info:
        load(model)
    assert str(model / "config.json") in str(info.value)
    assert main(["translate", "--model", str(model), "abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-seq2seq translate: error: ")
    assert "config.json does not match the weights" in err[0]


def test_a_corrupt_model_keras_says_corrupt(tiny_run, tmp_path, capsys):
    import zipfile

    from keras_seq2seq.training.run_dir import load_run

    model = _damaged_copy(tiny_run, tmp_path)
    archive = (model / "model.keras").read_bytes()
    (model / "model.keras").write_bytes(archive[: len(archive) // 2])
    match = (
        r"model\.keras is corrupt: it is not a valid Keras archive \([\d,]+ bytes; a \.keras "
        r"file is a zip archive, and this one was truncated or overwritten\)\. Copy model\.keras "
        r"back .* or train the model again"
    )
    with pytest.raises(ValueError, match=match):
        load_run(model)
    assert main(["translate", "--model", str(model), "abc"]) == 2
    err = capsys.readouterr().err
    assert "model.keras is corrupt" in err and "File not found" not in err

    # A whole archive whose weights were damaged (a flipped byte run in the stored data).
    damaged = bytearray(archive)
    with zipfile.ZipFile(tiny_run / "model.keras") as zipped:
        entry = next(i for i in zipped.infolist() if i.filename.endswith(".h5"))
    start = entry.header_offset + 30 + len(entry.filename) + entry.compress_size // 2
    damaged[start : start + 16] = bytes(b ^ 0xFF for b in damaged[start : start + 16])
    (model / "model.keras").write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=r"model\.keras is corrupt: .*Bad CRC-32"):
        load_run(model)


# -- save_run: the one writer of a model's files --------------------------------------------


def test_save_run_writes_what_load_run_reads(tiny_run, tmp_path):
    import numpy as np

    from keras_seq2seq.run_layout import MODEL_FILE
    from keras_seq2seq.training.run_dir import load_run, save_run

    run = load_run(tiny_run)
    copy = save_run(
        tmp_path / "copy",
        config=run.config,
        tokenizers=(run.source_tokenizer, run.target_tokenizer),
        model=run.model.training,
    )
    for name in model_files(run.config):
        if name != MODEL_FILE:  # a Keras archive records when it was written
            assert (copy / name).read_bytes() == (tiny_run / name).read_bytes(), name
    again = load_run(copy)
    assert again.config == run.config
    for saved, loaded in zip(
        run.model.training.get_weights(), again.model.training.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(saved, loaded)
    assert sorted(p.name for p in copy.iterdir()) == sorted(model_files(run.config))


def test_a_failed_model_save_keeps_the_old_model(tiny_run, tmp_path):
    import shutil

    from keras_seq2seq.training.run_dir import save_run

    model_dir = tmp_path / "run"
    shutil.copytree(tiny_run, model_dir, ignore=shutil.ignore_patterns(".lock", "logs"))
    before = (model_dir / "model.keras").read_bytes()

    class _HalfWritten:
        def save(self, path):
            path.write_bytes(before[:100])
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_run(model_dir, model=_HalfWritten())
    assert (model_dir / "model.keras").read_bytes() == before
    assert not [p.name for p in model_dir.iterdir() if p.name.startswith(".partial")]
