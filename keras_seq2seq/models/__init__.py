"""Architectures behind one interface: build one by name, decode any of them the same way.

Importing this package registers the builtin architectures (`"rnn"`). See
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
from keras_seq2seq.models.rnn import (
    RNNOptions,
    RNNSeq2Seq,
    build_inference_models,
    build_seq2seq,
    states_per_layer,
)

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "NoOptions",
    "RNNOptions",
    "RNNSeq2Seq",
    "build_inference_models",
    "build_model",
    "build_seq2seq",
    "get_architecture",
    "register_architecture",
    "states_per_layer",
]
