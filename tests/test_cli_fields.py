"""Tests for keras_seq2seq.cli_fields: flags generated from config fields, read back."""

import argparse
import dataclasses

import pytest

from keras_seq2seq.architecture_options import (
    ARCHITECTURE_OPTIONS,
    RNNOptions,
    TransformerOptions,
    register_options,
)
from keras_seq2seq.cli import build_parser
from keras_seq2seq.cli_fields import (
    add_field_arguments,
    add_shared_arguments,
    add_side_arguments,
    cli_flag,
    field_flags,
    field_values,
    flagged_fields,
    positive_int,
    shared_values,
    side_values,
)
from keras_seq2seq.commands.settings import train_overrides
from keras_seq2seq.config import MONITORS, TOKENIZER_TYPES, ModelConfig, TextConfig, TrainConfig
from keras_seq2seq.decoding.options import DecodeOptions


def _commands():
    return build_parser()._subparsers._group_actions[0].choices


def _actions(command):
    return {
        action.option_strings[0]: action for action in command._actions if action.option_strings
    }


def _train(*flags):
    args = _commands()["train"].parse_args(["--dataset", "dates", "--output", "x", *flags])
    return train_overrides(args)


@dataclasses.dataclass(frozen=True)
class _Options:
    width: int = dataclasses.field(
        default=4, metadata=cli_flag("--width", "how wide", type=positive_int, metavar="N")
    )
    fast: bool = dataclasses.field(default=False, metadata=cli_flag("--fast", "go", type=bool))
    hidden: int = 3


def test_flags_come_from_fields_with_their_defaults_in_the_help():
    parser = argparse.ArgumentParser()
    add_field_arguments(parser, _Options)
    assert [field.name for field, _ in flagged_fields(_Options)] == ["width", "fast"]
    assert field_flags(_Options) == {"width": "--width", "fast": "--fast"}
    help_text = " ".join(parser.format_help().split())
    assert "--width N how wide (default 4)" in help_text and "--hidden" not in help_text
    assert field_values(parser.parse_args([]), _Options) == {}
    assert field_values(parser.parse_args(["--width", "7", "--fast"]), _Options) == {
        "width": 7, "fast": True,
    }  # fmt: skip
    with pytest.raises(SystemExit):
        parser.parse_args(["--width", "0"])
    with pytest.raises(ValueError, match=r"_Options has no field .* \['hidden'\]"):
        add_field_arguments(argparse.ArgumentParser(), _Options, ["hidden"])


def test_every_config_field_flag_is_on_train_once():
    train = _commands()["train"]
    flags = [flag for action in train._actions for flag in action.option_strings]
    assert len(flags) == len(set(flags))
    for cls in (ModelConfig, TrainConfig, *ARCHITECTURE_OPTIONS.values()):
        for name, flag in field_flags(cls).items():
            assert _actions(train)[flag].dest == name
    for _, spec in flagged_fields(TextConfig):
        if spec.flag:
            assert spec.flag in flags
        if spec.side_flag:
            assert {spec.side_flag.format(side=side) for side in spec.sides} <= set(flags)


def test_train_flags_read_back_as_config_fields():
    overrides = _train(
        "--layers", "2", "--vocab-size", "50", "--tokenizer", "word", "--source-tokenizer",
        "char", "--max-target-length", "9", "--output-pattern", "[0-9]+", "--heads", "2",
        "--tie-embeddings", "--time-budget", "1.5",
    )  # fmt: skip
    assert overrides["model"] == {"num_layers": 2, "heads": 2, "tie_embeddings": True}
    assert overrides["source_text"] == {"tokenizer": "char", "max_vocabulary_size": 50}
    assert overrides["target_text"] == {
        "tokenizer": "word", "max_vocabulary_size": 50, "max_length": 9,
        "output_pattern": "[0-9]+",
    }  # fmt: skip
    assert overrides["train"] == {
        "time_budget_minutes": 1.5, "seed": 0, "mixed_precision": False, "jit_compile": False,
    }  # fmt: skip
    # Each override is a real field: the configs accept them as they are.
    TextConfig(**overrides["target_text"])
    TrainConfig(**overrides["train"])
    TransformerOptions(**{k: v for k, v in overrides["model"].items() if k != "num_layers"})


def test_choices_and_help_come_from_the_registries():
    train = _actions(_commands()["train"])
    assert tuple(train["--tokenizer"].choices) == TOKENIZER_TYPES
    assert tuple(train["--monitor"].choices) == tuple(MONITORS)
    assert train["--architecture"].choices is None  # the library names the registered ones
    assert train["--architecture"].help.startswith(
        f"registered architecture: {', '.join(ARCHITECTURE_OPTIONS)}"
    )
    assert train["--embedding-dim"].help == (
        f"rnn: embedding width (default {RNNOptions().embedding_dim})"
    )
    assert train["--tie-embeddings"].help.startswith("rnn and transformer: one embedding")
    export = _actions(_commands()["export"])
    from keras_seq2seq.serving.export import DEFAULT_BEAM_WIDTH

    assert export["--beam-width"].help.endswith(f"(default {DEFAULT_BEAM_WIDTH})")
    translate = _actions(_commands()["translate"])
    assert translate["--beam-width"].help.endswith(f"(default {DecodeOptions().beam_width})")


def test_a_registered_architecture_gets_its_flags():
    @dataclasses.dataclass(frozen=True)
    class ToyOptions:
        depth: int = dataclasses.field(
            default=3, metadata=cli_flag("--toy-depth", "depth", type=positive_int, metavar="N")
        )

    register_options("flagtoy")(ToyOptions)
    try:
        train = _actions(_commands()["train"])
        assert train["--toy-depth"].help == "flagtoy: depth (default 3)"
        assert "flagtoy" in train["--architecture"].help
        assert _train("--toy-depth", "5")["model"] == {"depth": 5}
    finally:
        del ARCHITECTURE_OPTIONS["flagtoy"]
    with pytest.raises(ValueError, match="already has the options class RNNOptions"):
        register_options("rnn")(ToyOptions)


def test_shared_and_side_helpers_on_their_own():
    parser = argparse.ArgumentParser()
    add_shared_arguments(parser, {"a": _Options, "b": _Options})
    assert "a and b: how wide (default 4)" in " ".join(parser.format_help().split())
    assert shared_values(parser.parse_args(["--width", "2"]), {"a": _Options}) == {"width": 2}
    parser = argparse.ArgumentParser()
    add_side_arguments(parser, TextConfig)
    args = parser.parse_args(["--lowercase", "--max-source-length", "7"])
    assert side_values(args, TextConfig, "source") == {"lowercase": True, "max_length": 7}
    assert side_values(args, TextConfig, "target") == {"lowercase": True}


def test_a_checked_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _commands()["train"].parse_args(
            ["--dataset", "d", "--output", "o", "--output-pattern", "(?=x)"]
        )
    assert exit_info.value.code == 2
    assert "argument --output-pattern:" in capsys.readouterr().err


def test_messages_name_the_commands_flags():
    translate = _commands()["translate"].get_default("parameter_flags")
    assert translate["beam_width"] == "--beam-width" and translate["output_base"] == "--output"
    assert translate["chunk_size"] == "--chunk-size" and "kd_weight" not in translate
    train = _commands()["train"].get_default("parameter_flags")
    assert train["seed"] == "--seed" and train["keep_checkpoints"] == "--keep-checkpoints"
    assert "beam_width" not in train


@pytest.mark.slow
def test_mode_choices_are_the_library_tuples():
    """The parser offers the very tuples the library checks against (`keras_seq2seq.modes`)."""
    from keras_seq2seq.serving.quantize import QUANTIZE_MODES
    from keras_seq2seq.training.distill import MODES
    from keras_seq2seq.training.distribute import STRATEGY_NAMES

    commands = _commands()
    assert tuple(_actions(commands["train"])["--strategy"].choices) == STRATEGY_NAMES
    assert tuple(_actions(commands["distill"])["--distill"].choices) == MODES
    assert tuple(_actions(commands["export"])["--quantize"].choices) == QUANTIZE_MODES
