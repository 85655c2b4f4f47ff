"""Output heads: what turns a decoder's logits into a model's log-probabilities.

An architecture builds its decoder up to the logits over the target vocabulary, then hands
them to its `OutputHead`, in the training graph and in every decoding step alike. The plain
head takes the log-softmax. A feature that changes the output layer for any architecture
(copy attention: `keras_seq2seq.models.copying`) is a head of its own,
made by a factory registered with `register_output_head`; architectures call the head's hooks
and never ask which head they hold.

Example:
>>> OutputHead().log_probs(tf.zeros([1, 2])).numpy().round(3)
array([[-0.693, -0.693]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

OUTPUT_HEADS: list[Callable[[Any, type, Any], OutputHead | None]] = []
"""Head factories `factory(config, architecture_class, options) -> OutputHead or None`."""


class OutputHead:
    """The plain head: log-softmax over the target vocabulary; no extra inputs.

    Attributes:
        extends_vocabulary: bool. Whether the outputs cover more ids than the target
            vocabulary (and come out of the output layer as log-probabilities already).
        reads_decoder: bool. Whether `apply` reads the attention weights and the features
            (an architecture then computes them for it).
        extra_names: tuple of str. Names of the extra int32 `[B, S]` inputs the model reads
            after the source and target ids (training model, decoder step, context).
    """

    extends_vocabulary = False
    reads_decoder = False
    extra_names: tuple[str, ...] = ()

    def make_layers(self) -> dict[str, keras.layers.Layer]:
        """The head's layers by name (built with the architecture's other layers)."""
        return {}

    def extra_inputs(self) -> list:
        """Keras Inputs for `extra_names` (a training model's or decoder step's inputs)."""
        return [keras.Input((None,), dtype="int32", name=name) for name in self.extra_names]

    def apply(self, get, logits, attention, features, extras, target_mask):
        """The output layer's outputs from the logits `[B, T, V]` (here: the logits).

        Args:
            get: callable `get(name) -> layer` over the model's layers.
            logits: float `[B, T, V]`.
            attention: float `[B, T, S]` attention weights, or None.
            features: list of float `[B, T, F_i]` decoder vectors, or None.
            extras: list of the `extra_names` tensors.
            target_mask: bool `[B, T]`, the real target positions.
        """
        del get, attention, features, extras, target_mask
        return logits

    def batch_extras(self, batch: Any) -> list[tf.Tensor]:
        """The `extra_names` tensors of a `SourceBatch` (checked), in order."""
        del batch
        return []

    def step_tokens(self, tokens: tf.Tensor) -> tf.Tensor:
        """The ids a decoding step embeds, from the previous tokens."""
        return tokens

    def log_probs(self, outputs: tf.Tensor) -> tf.Tensor:
        """float32 log-probabilities from the output layer's outputs."""
        return tf.nn.log_softmax(tf.cast(outputs, tf.float32), axis=-1)


def register_output_head(factory: Callable[[Any, type, Any], OutputHead | None]):
    """Registers a head factory, consulted in order by `output_head`.

    Args:
        factory: callable `factory(config, architecture_class, options)` returning an
            `OutputHead` when the config asks for it (raising ValueError when the
            architecture cannot give it), else None.

    Returns:
        The factory (so it may be used as a decorator).

    Example:
    >>> @register_output_head  # doctest: +SKIP
    ... def my_head(config, architecture, options): ...
    """
    if factory not in OUTPUT_HEADS:
        OUTPUT_HEADS.append(factory)
    return factory


def output_head(config: Any, architecture: type, options: Any) -> OutputHead:
    """The head `config` asks for: the first registered factory's, else the plain one.

    Raises:
        ValueError: the architecture cannot give the head the config asks for.

    Example:
    >>> output_head(ModelConfig(30, 20), RNNSeq2Seq, RNNOptions()).extends_vocabulary
    ... # doctest: +SKIP
    False
    """
    for factory in OUTPUT_HEADS:
        head = factory(config, architecture, options)
        if head is not None:
            return head
    return OutputHead()
