"""The architecture interface: a model spec (how to build and check one) and its decoding side.

Two sides, kept apart:

- the **model spec** (`ModelSpec`, class-level): the options class, option parsing and
  checks, and building the Keras Functional training model;
- the **decoding side** (`Architecture` instances): the decoding protocol of
  `keras_seq2seq.models.protocol` (`encode`, `step`, `expand`, `reorder`), plus
  `has_attention`, `keras_models`, `teacher_forced_log_probs` and the `head` (the model's
  `keras_seq2seq.models.output_head.OutputHead`), with the data attributes `config`,
  `options` and `training`.

```
architecture = get_architecture(config.architecture)     # "rnn", "transformer", ...
model = architecture.build(config)                         # Keras training model (+ inference)
state, context = model.encode(SourceBatch(source_ids, max_length))
output = model.step(tokens, state, context, time)         # StepOutput(log_probs, state, ...)
```

Nothing outside an architecture's own module knows what its state holds.

A new architecture subclasses `Architecture`, is decorated with
`@register_architecture("name")` and is selected with `ModelConfig(architecture="name")`.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import keras
import tensorflow as tf

from keras_seq2seq.architecture_options import register_options
from keras_seq2seq.config import ModelConfig, precision_policy
from keras_seq2seq.models.layers import check_tied_sizes, check_tied_vocabularies
from keras_seq2seq.models.output_head import OutputHead, output_head
from keras_seq2seq.models.protocol import Decodable, SourceBatch

ARCHITECTURES: dict[str, type[Architecture]] = {}
"""Registered architectures by name (filled by `register_architecture`)."""


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """Options of an architecture that has none."""


class ModelSpec:
    """The building side of an architecture: options, checks and the training model.

    Everything here is class-level: it runs before a model exists (to check a configuration)
    or makes one (`build`).

    Example:
    >>> get_architecture("rnn").parse_options(ModelConfig(30, 20)).cell  # doctest: +SKIP
    'lstm'
    """

    name: ClassVar[str] = ""
    options_class: ClassVar[type] = NoOptions
    supports_output_heads: ClassVar[bool] = False
    """Whether the architecture calls an output head's hooks (`output_head.OutputHead`), so
    that features such as copying source tokens (`keras_seq2seq.models.copying`) work on it."""

    @classmethod
    def parse_options(cls, config: ModelConfig) -> Any:
        """Checks `config.options` and returns them as this architecture's options object.

        Raises:
            ValueError: an unknown option (the message lists the valid ones), an option
                out of range, or tied embeddings (`tie_embeddings`) over two vocabulary sizes.
            TypeError: an option of the wrong type.
        """
        known = [field.name for field in dataclasses.fields(cls.options_class)]
        unknown = sorted(set(config.options) - set(known))
        if unknown:
            raise ValueError(
                f"Unknown option(s) {unknown} for architecture {cls.name!r}. Its options are "
                f"{known or 'none'}; the shared settings are units, num_layers and dropout."
            )
        options = cls.options_class(**config.options)
        output_head(config, cls, options)  # a head this architecture cannot give fails here
        cls.check_config(config, options)
        if getattr(options, "tie_embeddings", False):
            check_tied_sizes(config)
        return options

    @classmethod
    def check_config(cls, config: ModelConfig, options: Any) -> None:
        """Checks combinations of shared settings and options (override to add rules)."""
        del config, options  # nothing to check by default

    @classmethod
    def attends(cls, options: Any) -> bool:
        """Whether models with these options compute attention weights (override if not)."""
        del options
        return True

    @classmethod
    def check_vocabularies(
        cls, options: Any, source_vocabulary: list[str], target_vocabulary: list[str]
    ) -> None:
        """Checks the learned vocabularies against the options (override to add rules).

        Tied embeddings (an option `tie_embeddings`, in any architecture) need the same
        tokens on both sides; any pair of vocabularies works otherwise.
        """
        if getattr(options, "tie_embeddings", False):
            check_tied_vocabularies(source_vocabulary, target_vocabulary)

    @classmethod
    def build(cls, config: ModelConfig, *, mixed_precision: bool | str = False) -> Architecture:
        """Builds the training model (and the inference pieces) with fresh weights.

        Args:
            config: ModelConfig.
            mixed_precision: bool or str. `True`/`"float16"` or `"bfloat16"` build the layers
                with that mixed dtype policy (float32 weights); logits stay float32.
                Defaults to `False`.

        Returns:
            An instance of this class.
        """
        options = cls.parse_options(config)
        training = cls.build_training_model(config, options, precision_policy(mixed_precision))
        return cls(config, training)

    @classmethod
    @abc.abstractmethod
    def build_training_model(
        cls, config: ModelConfig, options: Any, dtype: str | None
    ) -> keras.Model:
        """Builds the Keras Functional training model (`dtype`: a dtype policy name or None)."""

    def float32_copy(self) -> Architecture:
        """This model computing in float32: itself, or a float32 rebuild with its weights.

        A model trained with mixed precision holds float32 weights; translating and
        exporting in float32 gives the same results on every device.
        """
        mixed = any(layer.dtype_policy.name.startswith("mixed_") for layer in self.training.layers)
        if not mixed:
            return self
        copy = type(self).build(self.config)
        copy.training.set_weights(self.training.get_weights())
        return copy


class Architecture(ModelSpec, Decodable):
    """A sequence-to-sequence model: its Keras training model and the decoding protocol.

    Subclasses build a Keras Functional training model `(source_ids [B, S],
    target_input_ids [B, T]) -> logits [B, T, V]` in `build_training_model`, and implement
    `encode` and `step` from the *same layer objects* (usually through inference models built
    in `__init__`), so a model trained with `fit` decodes without copying weights.

    Args:
        config: ModelConfig. `config.architecture` names this class.
        training: keras.Model. The training model, built by `build_training_model` or loaded
            from its `.keras` file.

    Raises:
        TypeError: `config` is not a ModelConfig.
        ValueError: an option is unknown or out of range.

    Example:
    >>> model = get_architecture("rnn").build(ModelConfig(30, 20, units=8))  # doctest: +SKIP
    >>> state, context = model.encode(SourceBatch(source_ids, 10))  # doctest: +SKIP
    """

    def __init__(self, config: ModelConfig, training: keras.Model):
        if not isinstance(config, ModelConfig):
            raise TypeError(f"`config` must be a ModelConfig. Received: {type(config).__name__}")
        self.config = config
        self.options = self.parse_options(config)
        self.training = training
        self.head: OutputHead = output_head(config, type(self), self.options)

    @property
    def keras_models(self) -> tuple[keras.Model, ...]:
        """The Keras models whose variables decoding uses (for tracking in an export)."""
        return (self.training,)

    def teacher_forced_log_probs(
        self, source_ids: tf.Tensor | SourceBatch, target_input_ids: tf.Tensor, copy_ids=None
    ) -> tf.Tensor:
        """float32 log-probabilities `[B, T, V]` of every next target token (teacher forcing).

        Args:
            source_ids: int32 `[B, S]`, or a SourceBatch (its `copy_ids` then used).
            target_input_ids: int32 `[B, T]`, [START] first.
            copy_ids: int32 `[B, S]` or None: the extended ids of the source positions, read
                by a head that extends the vocabulary with them (see `SourceBatch`).

        Returns:
            float32 `[B, T, V]` (`[B, T, V + S]` when the head extends the vocabulary).
        """
        if not isinstance(source_ids, SourceBatch):
            source_ids = SourceBatch(source_ids, 0, copy_ids)
        inputs = [tf.convert_to_tensor(source_ids.ids), tf.convert_to_tensor(target_input_ids)]
        inputs += self.head.batch_extras(source_ids)
        return self.head.log_probs(self.training(inputs, training=False))


def register_architecture(name: str):
    """Class decorator: registers an `Architecture` subclass under `name`.

    Args:
        name: str. What `ModelConfig(architecture=...)` and `--architecture` call it.

    Returns:
        The decorator.

    Raises:
        TypeError: the class is not an `Architecture`.
        ValueError: another class already has this name.

    Example:
    >>> @register_architecture("toy")  # doctest: +SKIP
    ... class Toy(Architecture): ...
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"An architecture name must be a non-empty str. Received: {name!r}")

    def decorate(cls: type[Architecture]) -> type[Architecture]:
        if not (isinstance(cls, type) and issubclass(cls, Architecture)):
            raise TypeError(f"@register_architecture needs an Architecture subclass: {cls!r}")
        existing = ARCHITECTURES.get(name)
        same = existing is not None and existing.__qualname__ == cls.__qualname__
        if existing is not None and not same:
            raise ValueError(
                f"The architecture name {name!r} is taken by {existing.__qualname__}; pick "
                "another name."
            )
        cls.name = name
        register_options(name)(cls.options_class)  # its flags on the command line
        ARCHITECTURES[name] = cls
        return cls

    return decorate


def get_architecture(name: str) -> type[Architecture]:
    """Returns the architecture class registered under `name`.

    Raises:
        ValueError: nothing is registered under `name` (the message lists what is).

    Example:
    >>> get_architecture("rnn").name  # doctest: +SKIP
    'rnn'
    """
    if name not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {name!r}. Registered architectures: "
            f"{', '.join(sorted(ARCHITECTURES))}. A custom architecture is registered with "
            "@keras_seq2seq.models.register_architecture(name) before it is built or loaded."
        )
    return ARCHITECTURES[name]


def build_model(config: ModelConfig, *, mixed_precision: bool | str = False) -> Architecture:
    """Builds the model `config.architecture` names, with fresh weights.

    Args:
        config: ModelConfig.
        mixed_precision: bool or str. See `Architecture.build`. Defaults to `False`.

    Returns:
        Architecture instance (its `training` attribute is the Keras model to `fit`).

    Raises:
        ValueError: unknown architecture or invalid options.

    Example:
    >>> model = build_model(ModelConfig(30, 20, units=8))  # doctest: +SKIP
    >>> model.training.output_shape  # doctest: +SKIP
    (None, None, 20)
    """
    return get_architecture(config.architecture).build(config, mixed_precision=mixed_precision)
