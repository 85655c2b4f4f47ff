"""Tests for benchmarks/peers/opennmt.py: the matched configuration follows our RECIPES.

No OpenNMT-py needed: the configuration is checked against `RECIPES` of
benchmarks/translation.py and against keras-seq2seq's own defaults and schedule, and the
`--dry-run` path writes it without running anything.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import stat
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(path: Path, name: str):
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


onmt = load(BENCHMARKS / "peers" / "opennmt.py", "bench_opennmt")
RECIPES = load(BENCHMARKS / "translation.py", "bench_translation").RECIPES
TRANSFORMERS = sorted(n for n, r in RECIPES.items() if r["model"]["architecture"] == "transformer")


@pytest.fixture
def split(tmp_path):
    directory = tmp_path / "split"
    directory.mkdir()
    for name, count in (("train", 130), ("valid", 5), ("test", 3)):
        for side in ("src", "tgt"):
            lines = [f"{name} {side} {k}" for k in range(count)]
            (directory / f"{name}.{side}").write_text("\n".join(lines) + "\n", "utf-8")
    (tmp_path / "spm.model").write_bytes(b"not read by a dry run")
    return directory


def test_matched_rnn_follows_our_recipe():
    model, train = RECIPES["rnn"]["model"], RECIPES["rnn"]["train"]
    options = onmt.matched_options(RECIPES["rnn"], steps_per_epoch=567)
    assert options["encoder_type"] == ("brnn" if model["bidirectional"] else "rnn")
    assert options["decoder_type"] == "rnn" and options["rnn_type"] == "LSTM"
    assert options["enc_layers"] == options["dec_layers"] == model["num_layers"]
    assert options["hidden_size"] == model["units"]
    assert options["word_vec_size"] == model["embedding_dim"]
    assert options["global_attention"] == {"dot": "dot", "additive": "mlp"}[model["attention"]]
    assert options["input_feed"] == int(model.get("input_feeding", False))
    assert options["dropout"] == [model["dropout"]]
    assert options["share_embeddings"] is options["share_decoder_embeddings"] is True
    assert model["tie_embeddings"] is True
    assert options["learning_rate"] == train["learning_rate"]
    assert "decay_method" not in options and options["start_decay_steps"] > 10**9
    assert options["batch_type"] == "sents" and options["batch_size"] == train["batch_size"]
    assert options["label_smoothing"] == train["label_smoothing"]
    assert options["early_stopping"] == train["patience"]
    assert options["valid_steps"] == options["steps_per_epoch"] == 567
    assert options["save_checkpoint_steps"] == 56  # a tenth of an epoch


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_matched_transformer_follows_our_recipe(name):
    model, train = RECIPES[name]["model"], RECIPES[name]["train"]
    options = onmt.matched_options(RECIPES[name], steps_per_epoch=567)
    assert options["encoder_type"] == options["decoder_type"] == "transformer"
    assert options["enc_layers"] == options["dec_layers"] == model["num_layers"]
    assert options["hidden_size"] == options["word_vec_size"] == model["units"]
    assert options["heads"] == model["heads"]
    assert options["transformer_ff"] == model["ffn_dim"]
    assert options["dropout"] == options["attention_dropout"] == [model["dropout"]]
    assert options["share_embeddings"] is options["share_decoder_embeddings"] is True
    assert options["decay_method"] == "noam"
    assert options["warmup_steps"] == train["warmup_steps"]
    assert options["batch_type"] == "sents" and options["batch_size"] == train["batch_size"]
    assert options["label_smoothing"] == train["label_smoothing"]
    averaged = train.get("keep_checkpoints", 0)
    assert options["average_last"] == averaged
    assert options["keep_checkpoint"] == 10 * max(averaged, 1) + 1


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_matched_noam_schedule_equals_ours_step_by_step(name):
    from keras_seq2seq.training.schedules import WarmupSchedule

    train = RECIPES[name]["train"]
    options = onmt.matched_options(RECIPES[name], steps_per_epoch=100)
    ours = WarmupSchedule(train["learning_rate"], train["warmup_steps"], decay="inverse_sqrt")
    warmup, size, rate = options["warmup_steps"], options["hidden_size"], options["learning_rate"]
    for step in (1, 10, warmup // 2, warmup, 2 * warmup, 10 * warmup):
        # OpenNMT-py counts steps from 1, Keras's optimizer iterations from 0.
        noam = rate * size**-0.5 * min(step**-0.5, step * warmup**-1.5)
        assert noam == pytest.approx(float(ours(step - 1)), rel=1e-5)


def test_matched_optimizer_matches_keras_seq2seq_defaults():
    import keras

    from keras_seq2seq.config import TrainConfig

    adam = keras.optimizers.Adam()
    defaults = TrainConfig()
    for name in RECIPES:
        options = onmt.matched_options(RECIPES[name], steps_per_epoch=10)
        assert options["optim"] == "adam"
        assert (options["adam_beta1"], options["adam_beta2"]) == (adam.beta_1, adam.beta_2)
        train = RECIPES[name]["train"]
        assert options["max_grad_norm"] == train.get("clipnorm", defaults.clipnorm)
    for field, value in onmt.TRAIN_DEFAULTS.items():
        assert getattr(defaults, field) == value


def test_matched_refuses_what_it_cannot_map():
    recipe = copy.deepcopy(RECIPES["rnn"])
    recipe["model"]["coverage"] = True
    with pytest.raises(ValueError, match=r"\['coverage'\] have no OpenNMT-py equivalent"):
        onmt.matched_options(recipe, 10)
    recipe = copy.deepcopy(RECIPES["rnn"])
    recipe["train"]["lr_schedule"] = "exponential"
    with pytest.raises(ValueError, match=r"'exponential'.*no OpenNMT-py equivalent"):
        onmt.matched_options(recipe, 10)
    recipe = copy.deepcopy(RECIPES["rnn"])
    recipe["model"]["embedding_dim"] = 128
    with pytest.raises(ValueError, match="hidden_size equals"):
        onmt.matched_options(recipe, 10)


def test_dry_run_writes_and_prints_the_configurations(split, capsys):
    spm = split.parent / "spm.model"
    for model in RECIPES:
        assert onmt.main(["--split", str(split), "--spm", str(spm), "--model", model,
                          "--dry-run"]) == 0  # fmt: skip
        work = split.parent / f"opennmt-{model}-matched"
        config = json.loads((work / "config.yaml").read_text())
        printed = capsys.readouterr().out
        assert json.loads(printed.split("\n", 1)[1].split("# commands")[0]) == config
        assert "onmt_train -config" in printed and "onmt_translate -model" in printed
        batch = RECIPES[model]["train"]["batch_size"]
        assert config["valid_steps"] == math.ceil(130 / batch)
        assert config["save_checkpoint_steps"] == max(1, math.ceil(130 / batch) // 10)
        assert config["src_subword_model"] == str(spm.resolve())
        assert config["data"]["corpus_1"]["path_src"] == str((split / "train.src").resolve())
        expected = onmt.matched_options(RECIPES[model], math.ceil(130 / batch))
        expected.pop("average_last")
        expected.pop("steps_per_epoch")
        assert {k: config[k] for k in expected} == expected
    onmt.main(["--split", str(split), "--spm", str(spm), "--config", "defaults", "--dry-run"])
    defaults = json.loads((split.parent / "opennmt-rnn" / "config.yaml").read_text())
    assert "encoder_type" not in defaults and "optim" not in defaults  # OpenNMT-py's own
    capsys.readouterr()


def test_missing_split_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        onmt.main(["--split", str(tmp_path), "--spm", "x.model", "--dry-run"])
    assert "--prepare-only" in capsys.readouterr().err


def test_scored_checkpoint_averages_the_last_ones(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for step in (100, 200, 300, 1000):
        (work / f"model_step_{step}.pt").write_text(str(step))
    assert onmt.scored_checkpoint(work, tmp_path) == work / "model_step_1000.pt"
    fake = tmp_path / "onmt_average_models"  # records its arguments instead of averaging
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/average_args"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (work / "average.json").write_text(json.dumps({"average_last": 3}))
    averaged = onmt.scored_checkpoint(work, tmp_path)
    assert averaged.name == "model_average_3_to_1000.pt"
    arguments = (tmp_path / "average_args").read_text().split()
    assert arguments == ["-models", *(str(work / f"model_step_{s}.pt") for s in (200, 300, 1000)),
                         "-output", str(averaged)]  # fmt: skip
    # With the epoch recorded: the last checkpoint of each epoch, and the last one. Epochs of
    # 100 steps, checkpoints every 30: steps 90 and 180 end epochs 1 and 2.
    for step in (30, 60, 90, 120, 150, 180, 210, 240):
        (work / f"model_step_{step}.pt").write_text(str(step))
    for step in (100, 200, 300, 1000):
        (work / f"model_step_{step}.pt").unlink()
    record = {"average_last": 3, "steps_per_epoch": 100, "checkpoint_steps": 30}
    (work / "average.json").write_text(json.dumps(record))
    averaged = onmt.scored_checkpoint(work, tmp_path)
    assert averaged.name == "model_average_3_to_240.pt"
    arguments = (tmp_path / "average_args").read_text().split()
    assert arguments[1:4] == [str(work / f"model_step_{s}.pt") for s in (90, 180, 240)]


def test_budget_recipes_average_their_last_epochs_on_both_sides():
    for name, keep in (("transformer-30min", 2), ("transformer-2h", 3)):
        assert RECIPES[name]["train"]["keep_checkpoints"] == keep
        options = onmt.matched_options(RECIPES[name], steps_per_epoch=100)
        assert options["average_last"] == keep
        assert options["keep_checkpoint"] == 10 * keep + 1
    assert RECIPES["transformer-30min"]["train"]["warmup_steps"] < 4000


def test_defaults_row_follows_the_recipes_architecture(split):
    spm = split.parent / "spm.model"
    onmt.main(["--split", str(split), "--spm", str(spm), "--model", "transformer-30min",
               "--config", "defaults", "--dry-run"])  # fmt: skip
    config = json.loads((split.parent / "opennmt-transformer-30min" / "config.yaml").read_text())
    assert config["encoder_type"] == "transformer" and config["warmup_steps"] == 4000


def test_scored_checkpoint_is_the_last_one_saved_within_the_budget(tmp_path):
    import os

    for step, mtime in ((100, 1_000.0), (200, 2_000.0), (300, 3_500.0)):
        path = tmp_path / f"model_step_{step}.pt"
        path.write_bytes(b"")
        os.utime(path, (mtime, mtime))
    (tmp_path / "average.json").write_text(json.dumps({"average_last": 0}))
    assert onmt.scored_checkpoint(tmp_path, Path("/no/onmt")).name == "model_step_300.pt"
    (tmp_path / "deadline.json").write_text(json.dumps({"deadline": 3_000.0}))
    assert onmt.scored_checkpoint(tmp_path, Path("/no/onmt")).name == "model_step_200.pt"
    (tmp_path / "deadline.json").write_text(json.dumps({"deadline": 500.0}))
    with pytest.raises(RuntimeError, match="within the budget"):
        onmt.scored_checkpoint(tmp_path, Path("/no/onmt"))


def test_run_stops_the_whole_process_group_at_the_timeout(tmp_path):
    import time

    marker = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {marker}; wait"
    started = time.perf_counter()
    onmt.run(["sh", "-c", script], tmp_path / "log", timeout=1)  # stopped: not a failure
    assert time.perf_counter() - started < 30
    child = marker.read_text().strip()
    time.sleep(0.5)
    stat = Path(f"/proc/{child}/stat")
    state = stat.read_text().rsplit(")", 1)[1].split()[0] if stat.exists() else "gone"
    assert state in ("gone", "Z")  # the background child was killed too (a zombie is dead)
    with pytest.raises(RuntimeError, match="failed"):
        onmt.run(["sh", "-c", "exit 3"], tmp_path / "log")
