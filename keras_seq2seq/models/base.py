"""The architecture interface: the one seam between a model and everything downstream.

Translate, evaluate, the decoded-metric callback, export, plot-attention and `load` talk to a
model only through an `Architecture` instance:

```
architecture = get_architecture(config.architecture)     # "rnn", "transformer", ...
model = architecture.build(config)                         # Keras training model (+ inference)
state, context = model.encode(source_ids, max_length)     # once per input
log_probs, state, attention = model.step(tokens, state, context, time)
```

plus `tile_context` (the context repeated per beam, once, outside the decoding loop) and
`reorder_state` (the per-hypothesis state rows following the beams). Nothing outside an
architecture's own module knows what its state holds.

A new architecture subclasses `Architecture`, is decorated with
`@register_architecture("name")` and is selected with `ModelConfig(architecture="name")`.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import keras
import tensorflow as tf

from keras_seq2seq.config import ModelConfig, precision_policy
from keras_seq2seq.decoding.common import gather_rows
from keras_seq2seq.models.layers import check_tied_sizes, check_tied_vocabularies
from keras_seq2seq.text.vocabulary import UNK_ID

ARCHITECTURES: dict[str, type[Architecture]] = {}
"""Registered architectures by name (filled by `register_architecture`)."""


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """Options of an architecture that has none."""


class Architecture(abc.ABC):
    """A sequence-to-sequence model: its Keras training model and the calls decoding needs.

    Subclasses build a Keras Functional training model `(source_ids [B, S],
    target_input_ids [B, T]) -> logits [B, T, V]` in `build_training_model`, and implement
    `encode` and `step` from the *same layer objects* (usually through inference models built
    in `__init__`), so a model trained with `fit` decodes without copying weights.

    Args:
        config: ModelConfig. `config.architecture` names this class.
        training: keras.Model. The training model, built by `build_training_model` or loaded
            from its `.keras` file.

    Raises:
        ValueError: an option is unknown or out of range.

    Example:
    >>> model = get_architecture("rnn").build(ModelConfig(30, 20, units=8))  # doctest: +SKIP
    >>> state, context = model.encode(source_ids, max_length=10)  # doctest: +SKIP
    """

    name: ClassVar[str] = ""
    options_class: ClassVar[type] = NoOptions
    supports_copy_attention: ClassVar[bool] = False
    """Whether the architecture builds copy attention (`ModelConfig.copy_attention`)."""
    has_attention: bool = True
    """Whether `step` returns attention weights (`[N, source_length]`) or None."""

    def __init__(self, config: ModelConfig, training: keras.Model):
        if not isinstance(config, ModelConfig):
            raise TypeError(f"`config` must be a ModelConfig. Received: {type(config).__name__}")
        self.config = config
        self.options = self.parse_options(config)
        self.training = training

    # -- building -------------------------------------------------------------------------

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
        if config.copy_attention and not cls.supports_copy_attention:
            raise ValueError(
                f"The {cls.name!r} architecture has no copy attention; train it without "
                "--copy-attention, or use 'rnn' or 'transformer'."
            )
        cls.check_config(config, options)
        if getattr(options, "tie_embeddings", False):
            check_tied_sizes(config)
        return options

    @classmethod
    def check_config(cls, config: ModelConfig, options: Any) -> None:
        """Checks combinations of shared settings and options (override to add rules)."""
        del config, options  # nothing to check by default

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

    @property
    def keras_models(self) -> tuple[keras.Model, ...]:
        """The Keras models whose variables decoding uses (for tracking in an export)."""
        return (self.training,)

    # -- what decoding calls ------------------------------------------------------------------

    @property
    def copies(self) -> bool:
        """Whether the model copies source tokens (log-probabilities over `V + S` ids)."""
        return self.config.copy_attention

    def checked_copy_ids(self, copy_ids: tf.Tensor | None) -> tf.Tensor | None:
        """`copy_ids` as int32 for a copying model (None otherwise); a missing one is an error."""
        if not self.copies:
            return None
        if copy_ids is None:
            raise ValueError(
                "This model has copy attention: pass the source's copy ids "
                "(keras_seq2seq.models.copying.CopyVocabulary.copy_ids) with the source ids."
            )
        return tf.cast(copy_ids, tf.int32)

    def input_tokens(self, tokens: tf.Tensor) -> tf.Tensor:
        """The tokens a step embeds: copied ids (`>= V`) are fed back as `[UNK]`."""
        if not self.copies:
            return tokens
        return tf.where(tokens >= self.config.target_vocabulary_size, UNK_ID, tokens)

    def as_log_probs(self, outputs: tf.Tensor) -> tf.Tensor:
        """float32 log-probabilities from the output layer (logits, or a copy model's log-probs)."""
        outputs = tf.cast(outputs, tf.float32)
        return outputs if self.copies else tf.nn.log_softmax(outputs, axis=-1)

    @abc.abstractmethod
    def encode(self, source_ids: tf.Tensor, max_length: int, copy_ids=None) -> tuple[Any, Any]:
        """Runs the encoder once per input.

        Args:
            source_ids: int32 `[B, S]`, right-padded with 0, [END] after each source.
            max_length: int. The most decoding steps that will follow (to size a cache).
            copy_ids: int32 `[B, S]` or None. A copying model's copy id of every source
                position (`keras_seq2seq.models.copying.CopyVocabulary.copy_ids`); ignored by the
                others.

        Returns:
            `(state, context)`: the decoder's initial state (a nest of `[B, ...]` tensors that
            `step` updates) and the context every step reads but never changes (a nest of
            `[B, ...]` tensors, or None).
        """

    @abc.abstractmethod
    def step(
        self, tokens: tf.Tensor, state: Any, context: Any, time: tf.Tensor
    ) -> tuple[tf.Tensor, Any, tf.Tensor | None]:
        """One decoding step for `N` hypotheses.

        Args:
            tokens: int32 `[N]`. Each hypothesis's previous token.
            state: the state from `encode` or the previous step (`N` rows).
            context: the context from `encode`, tiled to `N` rows by `tile_context`.
            time: int32 scalar. Index of the token being generated.

        Returns:
            `(log_probs [N, V] float32, new_state, attention [N, S] or None)`; `[N, V + S]`
            for a copying model (its extended vocabulary). A copied id (`>= V`) fed back as
            `tokens` is read as `[UNK]` (`input_tokens`).
        """

    def teacher_forced_log_probs(
        self, source_ids: tf.Tensor, target_input_ids: tf.Tensor, copy_ids=None
    ) -> tf.Tensor:
        """Log-probabilities `[B, T, V]` (`[B, T, V + S]` with copy) of every next target token."""
        inputs = [tf.convert_to_tensor(source_ids), tf.convert_to_tensor(target_input_ids)]
        if self.copies:
            inputs.append(self.checked_copy_ids(copy_ids))
        return self.as_log_probs(self.training(inputs, training=False))

    def tile_context(self, context: Any, beam_width: int | tf.Tensor) -> Any:
        """The context with each input's rows repeated `beam_width` times (once per beam)."""
        if context is None:
            return None
        return tf.nest.map_structure(lambda t: tf.repeat(t, beam_width, axis=0), context)

    def reorder_state(self, state: Any, rows: tf.Tensor) -> Any:
        """The state with its rows taken in the order `rows` (beam search's reordering)."""
        return gather_rows(state, rows)


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
