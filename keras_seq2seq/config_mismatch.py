"""Why a model directory's `config.json` does not fit the weights in its `model.keras`.

A `model.keras` archive carries its own layers; `config.json` says how to build the encoder and
decoder models around them. When the two disagree (an edited `units`, `num_layers` or
`attention`, a config from another run), Keras fails with a layer error that names neither the
file nor the setting. `describe_mismatch` builds the model that `config.json` describes and
compares it layer by layer with the loaded one, and names the first setting that differs and
the `config.json` field it comes from.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

from keras_seq2seq.config import ModelConfig
from keras_seq2seq.models import get_architecture

_IGNORED_SETTINGS = frozenset({"name", "trainable", "dtype"})
_MAX_LISTED = 3


def _config_fields(config: ModelConfig) -> dict[str, Any]:
    """The model settings of `config.json` by field name (the architecture options included)."""
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    options = fields.pop("options", {}) or {}
    return {**fields, **options}


def _settings(layer_config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A layer's scalar settings (`units`, `output_dim` ...), wrapped layers' ones included."""
    found: dict[str, Any] = {}
    for key, value in layer_config.items():
        if key in _IGNORED_SETTINGS:
            continue
        if isinstance(value, dict) and isinstance(value.get("config"), dict):
            found.update(_settings(value["config"], f"{prefix}{key}."))  # e.g. Bidirectional
        elif isinstance(value, (bool, int, float, str)):
            found[f"{prefix}{key}"] = value
    return found


def _field_for(setting: str, value: Any, fields: dict[str, Any]) -> list[str]:
    """The `config.json` fields a layer setting can come from: those holding its value."""
    key = setting.rsplit(".", 1)[-1]
    if key in fields and fields[key] == value:
        return [key]
    return [
        name
        for name, field_value in fields.items()
        if type(field_value) is type(value) and field_value == value and not isinstance(value, bool)
    ]


def _differing_setting(
    built: keras.Model, loaded: keras.Model, fields: dict[str, Any]
) -> str | None:
    layers = {layer.name: layer for layer in loaded.layers}
    differences: list[tuple[str, str, Any, Any]] = []
    for layer in built.layers:
        if layer.name not in layers:
            continue
        expected, actual = _settings(layer.get_config()), _settings(layers[layer.name].get_config())
        differences += [
            (layer.name, key, value, actual[key])
            for key, value in expected.items()
            if key in actual and actual[key] != value
        ]
    if not differences:
        return None
    name, key, value, actual = differences[0]
    others = sorted({layer for layer, setting, _, _ in differences[1:] if setting == key})
    also = f" (also layer(s) {', '.join(repr(o) for o in others[:_MAX_LISTED])})" if others else ""
    candidates = _field_for(key, value, fields)
    if len(candidates) == 1:
        field = candidates[0]
        return (
            f"config.json gives {field}={value!r}, but layer {name!r} in model.keras was "
            f"trained with {key}={actual!r}{also}. Set {field} back to the value the model "
            "was trained with"
        )
    source = f" (from one of the fields {', '.join(candidates)})" if candidates else ""
    return (
        f"config.json builds layer {name!r} with {key}={value!r}{source}, but model.keras "
        f"has {key}={actual!r}{also}. Put back the settings the model was trained with"
    )


def _differing_layers(
    built: keras.Model, loaded: keras.Model, fields: dict[str, Any]
) -> str | None:
    built_names = [layer.name for layer in built.layers]
    loaded_names = [layer.name for layer in loaded.layers]
    missing = [name for name in built_names if name not in loaded_names]
    extra = [name for name in loaded_names if name not in built_names]
    if not missing and not extra:
        return None
    settings = ", ".join(
        f"{name}={value!r}" for name, value in fields.items() if not name.endswith("size")
    )
    if missing:
        listed = ", ".join(repr(name) for name in missing[:_MAX_LISTED])
        return (
            f"config.json's settings ({settings}) call for layer(s) {listed} that model.keras "
            "does not have. Put back the settings the model was trained with"
        )
    listed = ", ".join(repr(name) for name in extra[:_MAX_LISTED])
    return (
        f"model.keras has layer(s) {listed} that config.json's settings ({settings}) do not "
        "build. Put back the settings the model was trained with"
    )


def _differing_weights(built: keras.Model, loaded: keras.Model) -> str | None:
    shapes = {weight.path: tuple(weight.shape) for weight in loaded.weights}
    for weight in built.weights:
        actual = shapes.get(weight.path)
        if actual is not None and actual != tuple(weight.shape):
            return (
                f"config.json builds weight {weight.path!r} with shape {tuple(weight.shape)}, "
                f"but model.keras holds shape {actual}. Put back the settings the model was "
                "trained with"
            )
    return None


def describe_mismatch(config: ModelConfig, loaded: keras.Model) -> str | None:
    """Says how the model `config` describes differs from a loaded training model.

    Builds the model `config` describes (fresh weights, not kept) and compares it with
    `loaded`: the layer settings first (naming the `config.json` field behind a differing
    one, when one field holds the value), then the layer names, then the weight shapes.

    Args:
        config: ModelConfig, as read from `config.json`.
        loaded: keras.Model. The training model read from `model.keras`.

    Returns:
        str: the first difference and how to fix it, without a final period; or None when
        no difference is found.

    Example:
    >>> describe_mismatch(run.config.model.replace(units=16), run.model.training)  # doctest: +SKIP
    "config.json gives units=16, but layer 'encoder_0' in model.keras was trained with units=8 ..."
    """
    try:
        built = get_architecture(config.architecture).build(config).training
    except (TypeError, ValueError) as error:
        return f"config.json's model settings are invalid: {error}"
    fields = _config_fields(config)
    return (
        _differing_setting(built, loaded, fields)
        or _differing_layers(built, loaded, fields)
        or _differing_weights(built, loaded)
    )
