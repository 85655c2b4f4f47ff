"""Registered Keras layers the architectures share: sinusoidal positions, a reversible embedding.

Both save and load with `.keras` files (with `keras_seq2seq` imported), no custom objects.
"""

from __future__ import annotations

import math

import keras
from keras import ops


def sinusoidal_positions(positions, depth: int, dtype="float32"):
    """Sinusoidal position encodings (Vaswani et al. 2017), computed for any position.

    Args:
        positions: int tensor of any shape. Positions (0, 1, ...).
        depth: int. Encoding width (even).
        dtype: str. Output dtype. Defaults to `"float32"`.

    Returns:
        Tensor of shape `positions.shape + [depth]`: `sin` in the first half of the last axis,
        `cos` in the second, at wavelengths from 2π to 10000·2π.

    Example:
    >>> sinusoidal_positions(ops.arange(3), 4).shape
    TensorShape([3, 4])
    """
    half = depth // 2
    rates = ops.exp(ops.arange(half, dtype="float32") * (-math.log(10000.0) / max(half - 1, 1)))
    angles = ops.expand_dims(ops.cast(positions, "float32"), -1) * rates
    return ops.cast(ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1), dtype)


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Adds sinusoidal positions to scaled token embeddings, for inputs at `start_position` on.

    No maximum length is baked into the weights: positions are computed when called.

    Args:
        embedding_dim: int. Width (even).
        **kwargs: Layer arguments (`name`, `dtype`).

    Call args:
        embedded: float `[B, T, D]` token embeddings.
        start_position: int scalar (tensor). Position of the first of the `T` tokens.
            Defaults to `0`.

    Returns:
        `embedded * sqrt(D) + positions`.

    Example:
    >>> TokenAndPositionEmbedding(4)(ops.zeros((1, 3, 4))).shape
    TensorShape([1, 3, 4])
    """

    def __init__(self, embedding_dim: int, **kwargs):
        super().__init__(**kwargs)
        if embedding_dim % 2:
            raise ValueError(f"`embedding_dim` must be even. Received: {embedding_dim}")
        self.embedding_dim = embedding_dim

    def call(self, embedded, start_position=0):
        steps = ops.shape(embedded)[1]
        positions = ops.arange(steps) + ops.cast(start_position, "int32")
        encoding = sinusoidal_positions(positions, self.embedding_dim, embedded.dtype)
        return embedded * ops.cast(math.sqrt(self.embedding_dim), embedded.dtype) + encoding

    def get_config(self):
        return {**super().get_config(), "embedding_dim": self.embedding_dim}


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class ReversibleEmbedding(keras.layers.Embedding):
    """`keras.layers.Embedding` that also projects vectors back onto the vocabulary.

    `layer(ids)` embeds; `layer(vectors, reverse=True)` returns float32 logits
    `vectors @ embeddings^T`, so the output projection shares the embedding matrix (tied
    embeddings, Press & Wolf 2017). With `mask_zero=True` the embedded ids get the padding
    mask and the logits keep the mask of the vectors they come from.

    Example:
    >>> layer = ReversibleEmbedding(10, 4)
    >>> layer(layer(ops.ones((2, 3), "int32")), reverse=True).shape
    TensorShape([2, 3, 10])
    """

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        if "int" not in keras.backend.standardize_dtype(inputs.dtype):
            return mask  # a reverse call: the logits keep the mask of their vectors
        return super().compute_mask(inputs, mask)

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = ops.cast(self.embeddings, inputs.dtype)
        return ops.cast(ops.matmul(inputs, ops.transpose(kernel)), "float32")

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*input_shape[:-1], self.input_dim)
        return super().compute_output_shape(input_shape)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            shape = self.compute_output_shape(inputs.shape, reverse=True)
            return keras.KerasTensor(shape, dtype="float32")
        return super().compute_output_spec(inputs)


def check_tied_sizes(config) -> None:
    """Checks that tied embeddings can share one matrix: one vocabulary size for both sides.

    Args:
        config: ModelConfig with `tie_embeddings` among its options.

    Raises:
        ValueError: the source and target vocabulary sizes differ.

    Example:
    >>> from keras_seq2seq.config import ModelConfig
    >>> check_tied_sizes(ModelConfig(30, 30))
    """
    if config.source_vocabulary_size != config.target_vocabulary_size:
        raise ValueError(
            "`tie_embeddings` shares one embedding matrix between the source and the target, "
            "so both sides need the same vocabulary; they have "
            f"{config.source_vocabulary_size} and {config.target_vocabulary_size} tokens. "
            "Train with one shared vocabulary (--shared-vocabulary), or without "
            "--tie-embeddings."
        )


def check_tied_vocabularies(source_vocabulary, target_vocabulary) -> None:
    """Checks that tied embeddings see one vocabulary: the same tokens in the same order.

    Args:
        source_vocabulary: list of str. The source tokens by id.
        target_vocabulary: list of str. The target tokens by id.

    Raises:
        ValueError: the two lists differ.

    Example:
    >>> check_tied_vocabularies(["[PAD]", "a"], ["[PAD]", "a"])
    """
    if list(source_vocabulary) != list(target_vocabulary):
        raise ValueError(
            "`tie_embeddings` needs one vocabulary for both sides, but the source and "
            f"target vocabularies differ ({len(source_vocabulary)} and "
            f"{len(target_vocabulary)} tokens). Learn one shared vocabulary "
            "(--shared-vocabulary), or train without --tie-embeddings."
        )
