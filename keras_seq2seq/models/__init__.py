"""Architectures behind one interface: build one by name, decode any of them the same way.

Importing this package registers the builtin architectures (`"rnn"`, `"transformer"`). See
`keras_seq2seq.models.base` for the interface.
"""

from keras_seq2seq.models.base import (
    ARCHITECTURES,
    Architecture,
    NoOptions,
    build_model,
    get_architecture,
    register_architecture,
)
from keras_seq2seq.models.ensemble import Ensemble
from keras_seq2seq.models.layers import ReversibleEmbedding, TokenAndPositionEmbedding
from keras_seq2seq.models.rnn import (
    RNNOptions,
    RNNSeq2Seq,
    build_inference_models,
    build_seq2seq,
    states_per_layer,
)
from keras_seq2seq.models.transformer import TransformerOptions, TransformerSeq2Seq

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "Ensemble",
    "NoOptions",
    "RNNOptions",
    "RNNSeq2Seq",
    "ReversibleEmbedding",
    "TokenAndPositionEmbedding",
    "TransformerOptions",
    "TransformerSeq2Seq",
    "build_inference_models",
    "build_model",
    "build_seq2seq",
    "get_architecture",
    "register_architecture",
    "states_per_layer",
]
