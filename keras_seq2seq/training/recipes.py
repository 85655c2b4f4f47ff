"""Where training data come from, and the documented settings for each builtin dataset.

A dataset argument is either a builtin name (`dates`, `cmudict`, `pinyin`) or a path to a
`.tsv`/`.tsv.gz`/`.jsonl` file of `source<TAB>target` pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from keras_seq2seq.config import TextConfig, TrainConfig
from keras_seq2seq.data.datasets import BUILTIN_DATASETS, load_dataset
from keras_seq2seq.data.readers import read_pairs

SECTIONS = ("model", "source_text", "target_text", "train")
"""The parts of a recipe: model options (per architecture), each side's text, training."""

# Settings that reach the quality quoted in the README for each builtin dataset: partial
# configs, merged by `resolve_settings` over the library defaults; any of them can be
# overridden from the CLI or the Python API. `model` holds the options of each architecture,
# `train_by_architecture` training settings that apply to one architecture only.
# The Transformer of the character-level recipes (G2P, pinyin) and its schedule.
_TRANSFORMER_G2P = {"units": 256, "num_layers": 3, "heads": 4, "ffn_dim": 1024, "dropout": 0.1}
_TRANSFORMER_G2P_TRAIN = {
    "learning_rate": 1e-3,
    "lr_schedule": "inverse_sqrt",
    "label_smoothing": 0.1,
    "patience": 6,
    # With label smoothing the validation loss follows accuracy loosely: pick the epoch
    # (and stop) by the validation words' sequence error rate, the G2P WER, instead.
    "monitor": "val_sequence_error_rate",
}

RECIPES: dict[str, dict[str, Any]] = {
    "dates": {
        "source_text": {"tokenizer": "char", "max_length": 64},
        # Outputs that are not an existing ISO date are refused (left empty), in graph.
        "target_text": {
            "tokenizer": "char",
            "max_length": 16,
            "output_pattern": r"\d{4}-\d{2}-\d{2}",
            "output_check": "calendar",
        },
        "train": {
            "epochs": 15,
            "batch_size": 128,
            "learning_rate": 2e-3,
            "lr_schedule": "plateau",
        },
        "model": {"rnn": {"units": 128, "embedding_dim": 32, "attention": "dot"}},
    },
    "cmudict": {
        # The words are lower-case letters and apostrophes: lower-casing the input lets
        # "Hello" read as "hello", and anything else (digits, spaces, hyphens) is not answered.
        "source_text": {
            "tokenizer": "char",
            "max_length": 48,
            "lowercase": True,
            "input_pattern": "[a-z']*[a-z][a-z']*",
        },
        "target_text": {"tokenizer": "word", "max_length": 48},
        "train": {"epochs": 20, "batch_size": 128, "learning_rate": 2e-3},
        "model": {
            "rnn": {
                "units": 256,
                "embedding_dim": 64,
                "attention": "dot",
                "num_layers": 2,
                "bidirectional": True,
                "dropout": 0.2,
            },
            "transformer": _TRANSFORMER_G2P,
        },
        "train_by_architecture": {
            "transformer": {**_TRANSFORMER_G2P_TRAIN, "epochs": 40, "warmup_steps": 4000},
        },
    },
    "pinyin": {
        "source_text": {"tokenizer": "char", "max_length": 32},
        "target_text": {"tokenizer": "word", "max_length": 32},
        "train": {"epochs": 15, "batch_size": 64},
        "model": {
            "rnn": {"units": 256, "embedding_dim": 64, "attention": "dot"},
            "transformer": _TRANSFORMER_G2P,
        },
        "train_by_architecture": {
            "transformer": {**_TRANSFORMER_G2P_TRAIN, "epochs": 30, "warmup_steps": 3000},
        },
    },
}

DEFAULT_ARCHITECTURE = "rnn"


class Settings(NamedTuple):
    """Everything `train` needs besides the data, after merging."""

    model_options: dict[str, Any]
    source_text: TextConfig
    target_text: TextConfig
    train: TrainConfig


def is_builtin(dataset: str) -> bool:
    return dataset in BUILTIN_DATASETS


def recipe_for(dataset: str | None) -> dict[str, Any]:
    """The recipe (partial settings) of a builtin dataset; `{}` for a file or None."""
    return RECIPES.get(dataset, {}) if dataset is not None else {}


def _given(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The entries of `values` that were given (None means not given)."""
    return {key: value for key, value in (values or {}).items() if value is not None}


def resolve_settings(
    dataset: str | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> Settings:
    """Merges settings: an override wins over the dataset's recipe, which wins over defaults.

    Args:
        dataset: str or None. A builtin dataset name (its recipe applies) or anything else
            (a file path: no recipe).
        overrides: dict from section (`"model"`, `"source_text"`, `"target_text"`,
            `"train"`) to settings; entries that are None count as not given. The model
            section may name the `architecture` (default `"rnn"`), whose recipe options apply.

    Returns:
        Settings; the configs are validated, model options are checked by `train`.

    Raises:
        ValueError: an unknown section or setting, or a setting out of range.
        TypeError: a setting of the wrong type.

    Example:
    >>> resolve_settings("dates", {"train": {"batch_size": 32}}).train.batch_size
    32
    >>> resolve_settings("dates").train.batch_size
    128
    >>> resolve_settings(None).train.batch_size
    64
    """
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(SECTIONS))
    if unknown:
        raise ValueError(f"Unknown settings section(s) {unknown}. Sections: {list(SECTIONS)}.")
    recipe = recipe_for(dataset)
    model = _given(overrides.get("model"))
    architecture = model.pop("architecture", DEFAULT_ARCHITECTURE)
    merged = {
        section: {**recipe.get(section, {}), **_given(overrides.get(section))}
        for section in ("source_text", "target_text", "train")
    }
    merged["train"] = {
        **recipe.get("train", {}),
        **recipe.get("train_by_architecture", {}).get(architecture, {}),
        **_given(overrides.get("train")),
    }
    model_options = {
        "architecture": architecture,
        **recipe.get("model", {}).get(architecture, {}),
        **model,
    }
    return Settings(
        model_options=model_options,
        source_text=TextConfig.from_dict(merged["source_text"]),
        target_text=TextConfig.from_dict(merged["target_text"]),
        train=TrainConfig.from_dict(merged["train"]),
    )


def load_pairs(
    dataset: str,
    split: str = "train",
    *,
    max_examples: int | None = None,
    seed: int = 0,
    skip_bad_lines: bool = False,
    allow_empty_targets: bool = False,
) -> list[tuple[str, str]]:
    """Loads (source, target) pairs from a builtin dataset or a file.

    Args:
        dataset: str. A builtin name or a path to a TSV/JSONL file.
        split: str. Split of a builtin dataset (`train`, `validation`, `test`); ignored for
            files. Defaults to `"train"`.
        max_examples: int or None. Keep at most this many pairs (the first ones of a file).
        seed: int. Builtin-dataset seed. Defaults to `0`.
        skip_bad_lines: bool. Skip malformed file lines with a counted warning.
        allow_empty_targets: bool. Keep a file's pairs with an empty target as refusal
            examples (see `read_pairs`); a builtin dataset has its own. Defaults to `False`.

    Returns:
        list of (source, target).

    Raises:
        ValueError: `dataset` is neither a builtin name nor an existing file.

    Example:
    >>> len(load_pairs("dates", "test", max_examples=5))
    5
    """
    if is_builtin(dataset):
        return load_dataset(dataset, split, seed=seed, max_examples=max_examples)
    path = Path(dataset)
    if not path.exists():
        raise ValueError(
            f"Unknown dataset {dataset!r}: not a builtin dataset and no such file. Builtin "
            f"datasets: {', '.join(BUILTIN_DATASETS)}; or pass a path to a .tsv, .tsv.gz or "
            ".jsonl file of source<TAB>target lines."
        )
    if max_examples is not None and (isinstance(max_examples, bool) or max_examples < 1):
        raise ValueError(f"`max_examples` must be a positive integer. Received: {max_examples!r}")
    pairs = read_pairs(path, skip_bad_lines=skip_bad_lines, allow_empty_targets=allow_empty_targets)
    return pairs[:max_examples] if max_examples else pairs
