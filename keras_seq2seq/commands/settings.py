"""The flags of the training settings, generated from the config fields, and their overrides.

`train` and `distill` take the same model, text and training flags: one per flagged field of
`ModelConfig`, of every registered architecture's options class (`ARCHITECTURE_OPTIONS`), of
`TextConfig` (for both sides, and per side) and of `TrainConfig`. A flag not given leaves the
setting to the dataset's recipe, else the default its help shows.
"""

from __future__ import annotations

import argparse
from typing import Any

from keras_seq2seq.architecture_options import ARCHITECTURE_OPTIONS
from keras_seq2seq.cli_fields import (
    SIDES,
    add_field_arguments,
    add_shared_arguments,
    add_side_arguments,
    field_values,
    shared_values,
    side_values,
)
from keras_seq2seq.config import ModelConfig, TextConfig, TrainConfig

RECIPE_GROUP = "{} (not given: the dataset's recipe, see README, else the default shown)"
"""Title of the groups of flags whose defaults a builtin dataset's recipe sets."""


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the groups `model`, `text` and `training` of flags (all parsed as None if not given).

    Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_settings_arguments(parser)
    >>> train_overrides(parser.parse_args(["--layers", "2"]))["model"]
    {'num_layers': 2}
    """
    model = parser.add_argument_group(RECIPE_GROUP.format("model"))
    add_field_arguments(model, ModelConfig)
    add_shared_arguments(model, ARCHITECTURE_OPTIONS)
    add_side_arguments(parser.add_argument_group(RECIPE_GROUP.format("text")), TextConfig)
    add_field_arguments(parser.add_argument_group(RECIPE_GROUP.format("training")), TrainConfig)


def train_overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The settings given on the command line, by section (`resolve_settings`'s overrides).

    Args:
        args: the namespace parsed by a parser with `add_settings_arguments`.

    Returns:
        dict from section (`model`, `source_text`, `target_text`, `train`) to the settings
        given; `model` holds the shared fields and the architecture options.
    """
    return {
        "model": {**field_values(args, ModelConfig), **shared_values(args, ARCHITECTURE_OPTIONS)},
        **{f"{side}_text": side_values(args, TextConfig, side) for side in SIDES},
        "train": field_values(args, TrainConfig),
    }
