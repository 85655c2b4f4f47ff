"""The options dataclass of each architecture, registered by architecture name.

An architecture's own settings (`ModelConfig.options`) are a frozen dataclass whose fields carry
their command-line flags (`keras_seq2seq.cli_fields`). They live here, apart from the Keras
code, so that the command line lists every architecture's options (and answers `--help`)
without importing TensorFlow. `ARCHITECTURE_OPTIONS` holds the builtin architectures' options
classes; `keras_seq2seq.models.register_architecture` adds a custom architecture's.
"""

from __future__ import annotations

import dataclasses

from keras_seq2seq.cli_fields import cli_flag, positive_int
from keras_seq2seq.validation import check_bool, check_choice, check_int

ARCHITECTURE_OPTIONS: dict[str, type] = {}
"""Options dataclass of each registered architecture, by architecture name."""

ATTENTION_TYPES = ("dot", "additive", "none")
CELL_TYPES = ("lstm", "gru")


def register_options(name: str):
    """Class decorator: registers the options dataclass of the architecture `name`.

    Args:
        name: str. The architecture's name (`ModelConfig.architecture`).

    Returns:
        The decorator.

    Raises:
        ValueError: another options class is registered under `name`.

    Example:
    >>> ARCHITECTURE_OPTIONS["rnn"].__name__
    'RNNOptions'
    """

    def decorate(cls: type) -> type:
        existing = ARCHITECTURE_OPTIONS.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"The architecture {name!r} already has the options class "
                f"{existing.__qualname__}; register {cls.__qualname__} under another name."
            )
        ARCHITECTURE_OPTIONS[name] = cls
        return cls

    return decorate


def _tie_embeddings():
    """The `tie_embeddings` field, one definition for every architecture that has it."""
    return dataclasses.field(
        default=False,
        metadata=cli_flag(
            "--tie-embeddings",
            "one embedding matrix for source, target and output projection (needs "
            "--shared-vocabulary)",
            type=bool,
        ),
    )


@register_options("rnn")
@dataclasses.dataclass(frozen=True)
class RNNOptions:
    """Options of the RNN architecture.

    Args:
        embedding_dim: int. Width of the token embeddings. Defaults to `64`.
        cell: str. `"lstm"` or `"gru"`. Defaults to `"lstm"`.
        bidirectional: bool. Bidirectional encoder; each direction gets `units // 2`, so
            `units` must be even. Defaults to `False`.
        attention: str. `"dot"` (Luong, `keras.layers.Attention`), `"additive"` (Bahdanau,
            `keras.layers.AdditiveAttention`) or `"none"`. Defaults to `"dot"`.
        input_feeding: bool. Luong input feeding: each decoder step reads the previous
            step's attentional vector with its token (needs attention). Defaults to `False`.
        tie_embeddings: bool. One embedding matrix for the source, the target and the output
            projection (Press & Wolf 2017; needs one vocabulary for both sides). The decoder's
            output goes through a linear layer down to `embedding_dim` first. Defaults to
            `False`.

    Example:
    >>> RNNOptions(attention="additive").attention
    'additive'
    """

    embedding_dim: int = dataclasses.field(
        default=64,
        metadata=cli_flag("--embedding-dim", "embedding width", type=positive_int, metavar="N"),
    )
    cell: str = dataclasses.field(
        default="lstm", metadata=cli_flag("--cell", "recurrent cell", choices=CELL_TYPES)
    )
    bidirectional: bool = dataclasses.field(
        default=False, metadata=cli_flag("--bidirectional", "bidirectional encoder", type=bool)
    )
    attention: str = dataclasses.field(
        default="dot",
        metadata=cli_flag("--attention", "attention type", choices=ATTENTION_TYPES),
    )
    input_feeding: bool = dataclasses.field(
        default=False,
        metadata=cli_flag(
            "--input-feeding",
            "Luong input feeding (each decoder step reads the previous attentional vector)",
            type=bool,
        ),
    )
    tie_embeddings: bool = _tie_embeddings()

    def __post_init__(self) -> None:
        check_int("embedding_dim", self.embedding_dim)
        check_choice("cell", self.cell, CELL_TYPES)
        check_bool("bidirectional", self.bidirectional)
        check_choice("attention", self.attention, ATTENTION_TYPES)
        check_bool("input_feeding", self.input_feeding)
        check_bool("tie_embeddings", self.tie_embeddings)


@register_options("transformer")
@dataclasses.dataclass(frozen=True)
class TransformerOptions:
    """Options of the Transformer architecture.

    Args:
        heads: int. Attention heads; `units` must be a multiple of it. Defaults to `4`.
        ffn_dim: int or None. Width of the feed-forward layers. Defaults to `4 * units`.
        tie_embeddings: bool. One embedding matrix for the source, the target and the output
            projection (needs one vocabulary for both sides). Defaults to `False`.

    Example:
    >>> TransformerOptions(heads=8).heads
    8
    """

    heads: int = dataclasses.field(
        default=4,
        metadata=cli_flag("--heads", "attention heads", type=positive_int, metavar="N"),
    )
    ffn_dim: int | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--ffn-dim", "feed-forward width (default 4 x units)", type=positive_int, metavar="N"
        ),
    )
    tie_embeddings: bool = _tie_embeddings()

    def __post_init__(self) -> None:
        check_int("heads", self.heads)
        if self.ffn_dim is not None:
            check_int("ffn_dim", self.ffn_dim)
        check_bool("tie_embeddings", self.tie_embeddings)
