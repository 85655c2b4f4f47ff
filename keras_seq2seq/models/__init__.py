"""Architectures behind one interface: build one by name, decode any of them the same way.

Importing this package registers the builtin architectures (`"rnn"`, `"transformer"`). See
`keras_seq2seq.models.base` for the interface and `keras_seq2seq.models.protocol` for the
decoding protocol every decodable model (an architecture, an ensemble) implements.
"""

from keras_seq2seq.models.base import (
    ARCHITECTURES,
    Architecture,
    ModelSpec,
    NoOptions,
    build_model,
    get_architecture,
    register_architecture,
)
from keras_seq2seq.models.copying import CopyHead  # registers its head factory
from keras_seq2seq.models.ensemble import Ensemble
from keras_seq2seq.models.layers import ReversibleEmbedding, TokenAndPositionEmbedding
from keras_seq2seq.models.output_head import OutputHead, register_output_head
from keras_seq2seq.models.protocol import Decodable, SourceBatch, StepOutput
from keras_seq2seq.models.rnn import (
    RNNOptions,
    RNNSeq2Seq,
    build_inference_models,
    build_seq2seq,
    states_per_layer,
)
from keras_seq2seq.models.training_model import TrainingModel
from keras_seq2seq.models.transformer import TransformerOptions, TransformerSeq2Seq

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "CopyHead",
    "Decodable",
    "Ensemble",
    "ModelSpec",
    "NoOptions",
    "OutputHead",
    "RNNOptions",
    "RNNSeq2Seq",
    "ReversibleEmbedding",
    "SourceBatch",
    "StepOutput",
    "TokenAndPositionEmbedding",
    "TrainingModel",
    "TransformerOptions",
    "TransformerSeq2Seq",
    "build_inference_models",
    "build_model",
    "build_seq2seq",
    "get_architecture",
    "register_architecture",
    "register_output_head",
    "states_per_layer",
]
