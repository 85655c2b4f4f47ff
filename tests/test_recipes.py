"""Tests for keras_seq2seq.training.recipes: settings merged as flag > recipe > default."""

import pytest

from keras_seq2seq.cli import _train_overrides, build_parser
from keras_seq2seq.config import TextConfig, TrainConfig
from keras_seq2seq.training.recipes import RECIPES, resolve_settings


def _cli_settings(*flags, dataset="dates"):
    args = build_parser().parse_args(["train", "--dataset", dataset, "--output", "x", *flags])
    return resolve_settings(dataset, _train_overrides(args))


def test_recipe_beats_default():
    settings = resolve_settings("dates")
    assert settings.train.batch_size == RECIPES["dates"]["train"]["batch_size"] == 128
    assert settings.target_text.max_length == 16
    assert settings.model_options == {
        "architecture": "rnn", "units": 128, "embedding_dim": 32, "attention": "dot",
    }  # fmt: skip


def test_default_applies_without_a_recipe():
    settings = resolve_settings("pairs.tsv")
    assert settings.train == TrainConfig()
    assert settings.source_text == TextConfig() == settings.target_text
    assert settings.model_options == {"architecture": "rnn"}


def test_flag_beats_recipe_and_none_means_not_given():
    settings = resolve_settings(
        "cmudict",
        {
            "train": {"batch_size": 32, "epochs": None},
            "model": {"units": 64, "attention": None},
            "target_text": {"max_length": 20},
        },
    )
    assert settings.train.batch_size == 32  # flag
    assert settings.train.epochs == 20  # recipe (None: not given)
    assert settings.train.patience == TrainConfig().patience  # default
    assert settings.model_options["units"] == 64
    assert settings.model_options["attention"] == "dot"
    assert settings.model_options["bidirectional"] is True
    assert settings.target_text.max_length == 20 and settings.target_text.tokenizer == "word"


def test_command_line_follows_the_same_precedence():
    assert _cli_settings().train.batch_size == 128
    flagged = _cli_settings("--batch-size", "16", "--units", "8", "--lowercase", "--cell", "gru")
    assert flagged.train.batch_size == 16
    assert flagged.model_options["units"] == 8 and flagged.model_options["cell"] == "gru"
    assert flagged.model_options["embedding_dim"] == 32  # from the recipe
    assert flagged.source_text.lowercase and flagged.target_text.lowercase
    assert not _cli_settings().source_text.lowercase
    assert (
        _cli_settings("--tokenizer", "word", "--target-tokenizer", "char").source_text.tokenizer
        == "word"
    )
    file_settings = _cli_settings(dataset="pairs.tsv")
    assert file_settings.train.batch_size == 64 and file_settings.train.seed == 0


def test_other_architectures_do_not_inherit_rnn_options():
    settings = resolve_settings("cmudict", {"model": {"architecture": "toy-free"}})
    assert settings.model_options == {"architecture": "toy-free"}


def test_bad_sections_and_settings_are_named():
    with pytest.raises(ValueError, match=r"Unknown settings section\(s\) \['optimizer'\]"):
        resolve_settings("dates", {"optimizer": {}})
    with pytest.raises(ValueError, match=r"Unknown TrainConfig field\(s\) \['epoch'\]"):
        resolve_settings("dates", {"train": {"epoch": 3}})
    with pytest.raises(ValueError, match=r"`batch_size` must be a positive integer"):
        resolve_settings("dates", {"train": {"batch_size": 0}})


def test_architecture_recipes_add_their_own_training_settings():
    settings = resolve_settings("cmudict", {"model": {"architecture": "transformer"}})
    assert settings.model_options["heads"] == 4 and "bidirectional" not in settings.model_options
    assert settings.train.lr_schedule == "inverse_sqrt"
    assert settings.train.batch_size == 128  # the dataset's common setting
    flagged = resolve_settings(
        "cmudict", {"model": {"architecture": "transformer"}, "train": {"warmup_steps": 10}}
    )
    assert flagged.train.warmup_steps == 10
    assert resolve_settings("cmudict").train.lr_schedule == "constant"
