"""Frozen configuration dataclasses with validation and a JSON round trip.

Three configs describe a run: `ModelConfig` (the network), `TextConfig` (how text becomes
tokens) and `TrainConfig` (the optimisation). `RunConfig` bundles them and is what a run
directory's `config.json` holds.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from keras_seq2seq.validation import check_int

ATTENTION_TYPES = ("dot", "additive", "none")
CELL_TYPES = ("lstm", "gru")
TOKENIZER_TYPES = ("char", "word", "wordpiece")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}. Received: {name}={value!r}")


MIXED_PRECISION_POLICIES = {
    False: None,
    True: "mixed_float16",
    "float16": "mixed_float16",
    "bfloat16": "mixed_bfloat16",
}


def precision_policy(mixed_precision: bool | str) -> str | None:
    """The Keras dtype policy for a `mixed_precision` setting (None: plain float32).

    Args:
        mixed_precision: False, True (= "float16"), "float16" or "bfloat16".

    Returns:
        `None`, `"mixed_float16"` or `"mixed_bfloat16"`.

    Raises:
        ValueError: any other value.

    Example:
    >>> precision_policy("bfloat16")
    'mixed_bfloat16'
    """
    if isinstance(mixed_precision, (bool, str)) and mixed_precision in MIXED_PRECISION_POLICIES:
        return MIXED_PRECISION_POLICIES[mixed_precision]
    raise ValueError(
        "`mixed_precision` must be False, True (float16), 'float16' or 'bfloat16'. "
        f"Received: mixed_precision={mixed_precision!r}"
    )


def _check_fraction(name: str, value: Any, *, inclusive_high: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and value >= 0.0 and (value <= 1.0 if inclusive_high else value < 1.0)
    if not ok:
        upper = "1]" if inclusive_high else "1)"
        raise ValueError(f"`{name}` must be a number in [0, {upper}. Received: {name}={value!r}")


class _JsonMixin:
    """JSON round trip for the frozen config dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__} expects a dict. Received: {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"Unknown {cls.__name__} field(s) {unknown}. Valid fields: {sorted(known)}."
            )
        return cls(**data)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclasses.dataclass(frozen=True)
class ModelConfig(_JsonMixin):
    """Architecture of the encoder–decoder.

    Args:
        source_vocabulary_size: int. Size of the source vocabulary, reserved tokens included.
        target_vocabulary_size: int. Size of the target vocabulary, reserved tokens included.
        embedding_dim: int. Width of the token embeddings. Defaults to `64`.
        units: int. Width of the recurrent layers (and of the attention layer). With a
            bidirectional encoder each direction gets `units // 2`, so `units` must be even.
            Defaults to `128`.
        num_layers: int. Number of recurrent layers in the encoder and in the decoder.
            Defaults to `1`.
        cell: str. `"lstm"` or `"gru"`. Defaults to `"lstm"`.
        bidirectional: bool. Bidirectional encoder. Defaults to `False`.
        attention: str. `"dot"` (Luong, `keras.layers.Attention`), `"additive"` (Bahdanau,
            `keras.layers.AdditiveAttention`) or `"none"`. Defaults to `"dot"`.
        dropout: float. Dropout rate on embeddings, between layers and before the output
            projection. Defaults to `0.0`.

    Example:
    >>> ModelConfig(source_vocabulary_size=40, target_vocabulary_size=15, units=32).units
    32
    """

    source_vocabulary_size: int
    target_vocabulary_size: int
    embedding_dim: int = 64
    units: int = 128
    num_layers: int = 1
    cell: str = "lstm"
    bidirectional: bool = False
    attention: str = "dot"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("source_vocabulary_size", "target_vocabulary_size"):
            value = getattr(self, name)
            check_int(name, value)
            if value < 5:
                raise ValueError(
                    f"`{name}` must be at least 5 (4 reserved tokens and one real token). "
                    f"Received: {name}={value}"
                )
        for name in ("embedding_dim", "units", "num_layers"):
            check_int(name, getattr(self, name))
        _check_choice("cell", self.cell, CELL_TYPES)
        _check_choice("attention", self.attention, ATTENTION_TYPES)
        if not isinstance(self.bidirectional, bool):
            raise TypeError(f"`bidirectional` must be a bool. Received: {self.bidirectional!r}")
        if self.bidirectional and self.units % 2:
            raise ValueError(
                "A bidirectional encoder splits `units` between its two directions, so `units` "
                f"must be even. Received: units={self.units}"
            )
        _check_fraction("dropout", self.dropout)


@dataclasses.dataclass(frozen=True)
class TextConfig(_JsonMixin):
    """How raw strings become token ids, for one side (source or target).

    Args:
        tokenizer: str. `"char"`, `"word"` or `"wordpiece"`. Defaults to `"char"`.
        lowercase: bool. Lower-case text after NFKC normalization. Defaults to `False`.
        max_vocabulary_size: int. Cap on the vocabulary size, reserved tokens included.
            Defaults to `32000`.
        min_count: int. Tokens seen fewer times in the training data map to `[UNK]`.
            Defaults to `1`.
        max_length: int. Sequences are truncated to this many tokens (plus `[START]`/`[END]`),
            with a counted warning. Defaults to `128`.

    Example:
    >>> TextConfig(tokenizer="word", lowercase=True).tokenizer
    'word'
    """

    tokenizer: str = "char"
    lowercase: bool = False
    max_vocabulary_size: int = 32000
    min_count: int = 1
    max_length: int = 128

    def __post_init__(self) -> None:
        _check_choice("tokenizer", self.tokenizer, TOKENIZER_TYPES)
        if not isinstance(self.lowercase, bool):
            raise TypeError(f"`lowercase` must be a bool. Received: {self.lowercase!r}")
        check_int("max_vocabulary_size", self.max_vocabulary_size)
        if self.max_vocabulary_size < 5:
            raise ValueError(
                "`max_vocabulary_size` must be at least 5 (4 reserved tokens and one real "
                f"token). Received: max_vocabulary_size={self.max_vocabulary_size}"
            )
        check_int("min_count", self.min_count)
        check_int("max_length", self.max_length)


@dataclasses.dataclass(frozen=True)
class TrainConfig(_JsonMixin):
    """Optimisation settings for `keras_seq2seq.training.train`.

    Args:
        epochs: int. Number of passes over the training data. Defaults to `10`.
        batch_size: int. Examples per batch. Defaults to `64`.
        learning_rate: float. Adam learning rate. Defaults to `1e-3`.
        clipnorm: float. Global gradient-norm clipping (`0` disables it). Defaults to `5.0`.
        label_smoothing: float. Label smoothing of the cross-entropy. Defaults to `0.0`.
        patience: int. Early-stopping patience in epochs on `val_loss` (`0` disables early
            stopping). Defaults to `5`.
        validation_fraction: float. Part of the training pairs held out for validation when no
            validation pairs are given. Defaults to `0.05`.
        bucket: bool. Batch examples of similar length together. Defaults to `True`.
        seed: int. Seed for the split, the shuffling and the weight initialisation.
            Defaults to `0`.
        mixed_precision: bool or str. `True` or `"float16"`: compute in float16 with
            float32 weights and dynamic loss scaling (`mixed_float16`), for GPUs with tensor
            cores (slower on CPU). `"bfloat16"`: compute in bfloat16 (`mixed_bfloat16`, no
            loss scaling needed), for CPUs with AMX or AVX512-BF16 (Intel Sapphire Rapids
            and later: 1.36x faster for the 256-unit model of `benchmarks/train_speed.py`;
            small models gain little).
            The output layer and the loss stay float32; translating and exporting use
            float32 either way. Defaults to `False`.
        jit_compile: bool. Compile the train step with XLA. XLA compiles once per input
            shape, and length-bucketed batches have many shapes, so this is slower in most
            runs (see `benchmarks/train_speed.py`). Defaults to `False`.

    Example:
    >>> TrainConfig(epochs=3, batch_size=32).epochs
    3
    """

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    clipnorm: float = 5.0
    label_smoothing: float = 0.0
    patience: int = 5
    validation_fraction: float = 0.05
    bucket: bool = True
    seed: int = 0
    mixed_precision: bool | str = False
    jit_compile: bool = False

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs)
        precision_policy(self.mixed_precision)
        for name in ("bucket", "jit_compile"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"`{name}` must be True or False. Received: {name}={getattr(self, name)!r}"
                )
        check_int("batch_size", self.batch_size)
        if not isinstance(self.learning_rate, (int, float)) or not self.learning_rate > 0:
            raise ValueError(
                f"`learning_rate` must be a positive number. Received: {self.learning_rate!r}"
            )
        if not isinstance(self.clipnorm, (int, float)) or self.clipnorm < 0:
            raise ValueError(
                f"`clipnorm` must be a number >= 0 (0 disables clipping). "
                f"Received: clipnorm={self.clipnorm!r}"
            )
        _check_fraction("label_smoothing", self.label_smoothing)
        if isinstance(self.patience, bool) or not isinstance(self.patience, int):
            raise ValueError(f"`patience` must be an integer >= 0. Received: {self.patience!r}")
        if self.patience < 0:
            raise ValueError(f"`patience` must be an integer >= 0. Received: {self.patience!r}")
        _check_fraction("validation_fraction", self.validation_fraction)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"`seed` must be an integer >= 0. Received: seed={self.seed!r}")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything a run directory needs to rebuild its model: written as `config.json`.

    Args:
        model: ModelConfig.
        source_text: TextConfig of the source side.
        target_text: TextConfig of the target side.
        train: TrainConfig.

    Example:
    >>> cfg = RunConfig(ModelConfig(40, 15), TextConfig(), TextConfig(), TrainConfig())
    >>> RunConfig.from_json(cfg.to_json()) == cfg
    True
    """

    model: ModelConfig
    source_text: TextConfig
    target_text: TextConfig
    train: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "source_text": self.source_text.to_dict(),
            "target_text": self.target_text.to_dict(),
            "train": self.train.to_dict(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        if not isinstance(data, dict):
            raise TypeError(f"RunConfig expects a dict. Received: {type(data).__name__}")
        missing = [k for k in ("model", "source_text", "target_text", "train") if k not in data]
        if missing:
            raise ValueError(f"RunConfig is missing section(s) {missing}.")
        return cls(
            model=ModelConfig.from_dict(data["model"]),
            source_text=TextConfig.from_dict(data["source_text"]),
            target_text=TextConfig.from_dict(data["target_text"]),
            train=TrainConfig.from_dict(data["train"]),
        )

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """Reads a `config.json`.

        Raises:
            FileNotFoundError: the file is missing.
            ValueError: the file is not valid JSON or holds invalid settings.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"Run configuration not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not a valid JSON configuration: {error}") from error
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from error
