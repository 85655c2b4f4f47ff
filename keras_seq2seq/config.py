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

from keras_seq2seq.architecture_options import ARCHITECTURE_OPTIONS
from keras_seq2seq.atomic_write import write_text
from keras_seq2seq.cli_fields import (
    cli_flag,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from keras_seq2seq.decoding.output_check import OUTPUT_CHECKS, check_output_pattern
from keras_seq2seq.evaluation.metrics import HEADLINE_SCORES
from keras_seq2seq.validation import (
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_number,
)

TOKENIZER_TYPES = ("char", "word", "wordpiece", "sentencepiece")
SENTENCEPIECE_TYPES = ("unigram", "bpe")
WORDPIECE_LEARNERS = ("sentencepiece", "bert")
LR_SCHEDULES = ("constant", "inverse_sqrt", "exponential", "plateau")
MONITORS = {
    "val_loss": "min",
    **{f"val_{score.key}": score.mode for score in HEADLINE_SCORES},
}
"""What best-checkpoint, early stopping and the plateau schedule may watch, and which way is
better. All but `val_loss` are decoded metrics (`DecodedMetricsCallback`), from the metric
registry (`keras_seq2seq.evaluation.metrics.HEADLINE_SCORES`)."""


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


@dataclasses.dataclass(frozen=True, init=False)
class ModelConfig(_JsonMixin):
    """The network: which registered architecture, its sizes and its own options.

    Settings every architecture shares are fields; the rest are the architecture's `options`
    (for `"rnn"`: `embedding_dim`, `cell`, `bidirectional`, `attention`; see
    `keras_seq2seq.models`). Options may be given as keywords, so
    `ModelConfig(40, 15, units=32, attention="additive")` puts `attention` in `options`. The
    architecture checks its options when the model is built (`Architecture.parse_options`).

    Args:
        source_vocabulary_size: int. Size of the source vocabulary, reserved tokens included.
        target_vocabulary_size: int. Size of the target vocabulary, reserved tokens included.
        architecture: str. A registered architecture name. Defaults to `"rnn"` (the LSTM/GRU
            encoder-decoder with attention).
        units: int. Width of the model (recurrent units; a Transformer's model width).
            Defaults to `128`.
        num_layers: int. Layers in the encoder and in the decoder. Defaults to `1`.
        dropout: float. Dropout rate. Defaults to `0.0`.
        copy_attention: bool. Copy attention (pointer-generator): outputs can copy source
            tokens, also ones outside the target vocabulary (`keras_seq2seq.models.copying`).
            Defaults to `False`.
        coverage_loss: float. Weight of the coverage loss of copy attention (0 for none).
            Defaults to `0.0`.
        options: dict or None. The architecture's own settings (JSON values).
        **more_options: more entries of `options`.

    Raises:
        TypeError: a field has the wrong type, or an option is not a JSON value.
        ValueError: a field is out of range.

    Example:
    >>> config = ModelConfig(40, 15, units=32, attention="additive")
    >>> config.architecture, config.units, config.options
    ('rnn', 32, {'attention': 'additive'})
    """

    source_vocabulary_size: int
    target_vocabulary_size: int
    architecture: str = dataclasses.field(
        default="rnn",
        metadata=cli_flag(
            "--architecture", "registered architecture", metavar="NAME", listed=ARCHITECTURE_OPTIONS
        ),
    )
    units: int = dataclasses.field(
        default=128,
        metadata=cli_flag(
            "--units", "model width (recurrent units)", type=positive_int, metavar="N"
        ),
    )
    num_layers: int = dataclasses.field(
        default=1,
        metadata=cli_flag(
            "--layers", "layers in encoder and decoder", type=positive_int, metavar="N"
        ),
    )
    dropout: float = dataclasses.field(
        default=0.0,
        metadata=cli_flag("--dropout", "dropout rate", type=non_negative_float, metavar="RATE"),
    )
    copy_attention: bool = dataclasses.field(
        default=False,
        metadata=cli_flag(
            "--copy-attention",
            "copy attention (pointer-generator): outputs can copy source tokens, also ones "
            "outside the target vocabulary (rnn with attention, transformer)",
            type=bool,
        ),
    )
    coverage_loss: float = dataclasses.field(
        default=0.0,
        metadata=cli_flag(
            "--coverage-loss",
            "with --copy-attention: weight of the coverage loss; 0 is off",
            type=non_negative_float,
            metavar="WEIGHT",
        ),
    )
    options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __init__(
        self,
        source_vocabulary_size: int,
        target_vocabulary_size: int,
        architecture: str = "rnn",
        units: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        copy_attention: bool = False,
        coverage_loss: float = 0.0,
        options: dict[str, Any] | None = None,
        **more_options: Any,
    ):
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"`options` must be a dict. Received: {type(options).__name__}")
        merged = {**(options or {}), **more_options}
        values = {
            "source_vocabulary_size": source_vocabulary_size,
            "target_vocabulary_size": target_vocabulary_size,
            "architecture": architecture,
            "units": units,
            "num_layers": num_layers,
            "dropout": dropout,
            "copy_attention": copy_attention,
            "coverage_loss": coverage_loss,
            "options": dict(sorted(merged.items())),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self._validate()

    def _validate(self) -> None:
        for name in ("source_vocabulary_size", "target_vocabulary_size"):
            check_int(
                name,
                getattr(self, name),
                minimum=5,
                description="an integer >= 5 (4 reserved tokens and one real token)",
            )
        if not isinstance(self.architecture, str) or not self.architecture:
            raise TypeError(
                "`architecture` must be the name of a registered architecture (e.g. 'rnn'). "
                f"Received: architecture={self.architecture!r}"
            )
        check_int("units", self.units)
        check_int("num_layers", self.num_layers)
        check_fraction("dropout", self.dropout)
        check_bool("copy_attention", self.copy_attention)
        if isinstance(self.coverage_loss, bool) or not isinstance(self.coverage_loss, (int, float)):
            raise TypeError(
                f"`coverage_loss` must be a number. Received: coverage_loss={self.coverage_loss!r}"
            )
        if self.coverage_loss < 0:
            raise ValueError(
                f"`coverage_loss` must be >= 0. Received: coverage_loss={self.coverage_loss}"
            )
        if self.coverage_loss and not self.copy_attention:
            raise ValueError(
                "`coverage_loss` weighs the coverage of copy attention; set "
                "copy_attention=True (--copy-attention) or leave coverage_loss at 0."
            )
        for key, value in self.options.items():
            if not isinstance(value, (str, int, float, bool, type(None))):
                raise TypeError(
                    f"Model option {key!r} must be a str, number, bool or None (it is written "
                    f"to config.json). Received: {value!r}"
                )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Reads a config written by `to_dict`; older flat configs (no `options`) also load."""
        if not isinstance(data, dict):
            raise TypeError(f"ModelConfig expects a dict. Received: {type(data).__name__}")
        return cls(**data)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with fields (or options, by name) changed."""
        fields = {f.name for f in dataclasses.fields(self)} - {"options"}
        values = {name: getattr(self, name) for name in fields}
        options = dict(self.options)
        for key, value in changes.items():
            (values if key in fields else options)[key] = value
        if "options" in changes:
            options = dict(changes["options"])
        return ModelConfig(**values, options=options)


@dataclasses.dataclass(frozen=True)
class TextConfig(_JsonMixin):
    """How raw strings become token ids, for one side (source or target).

    Args:
        tokenizer: str. `"char"`, `"word"`, `"wordpiece"` or `"sentencepiece"`. Defaults to
            `"char"`.
        lowercase: bool. Lower-case text after NFKC normalization. Defaults to `False`.
        max_vocabulary_size: int. Cap on the vocabulary size, reserved tokens included.
            Defaults to `32000`.
        min_count: int. Tokens seen fewer times in the training data map to `[UNK]`.
            Defaults to `1`.
        max_length: int. Sequences are truncated to this many tokens (plus `[START]`/`[END]`),
            with a counted warning. Defaults to `128`.
        sentencepiece_type: str. `"unigram"` or `"bpe"`: the SentencePiece model trained for
            `tokenizer="sentencepiece"`. Defaults to `"unigram"`.
        shared_vocabulary: bool. One vocabulary (one tokenizer) learned from both sides'
            texts; set it on both sides. Defaults to `False`.
        wordpiece_learner: str. How `tokenizer="wordpiece"` learns its pieces:
            `"sentencepiece"` (BPE merges from the C++ trainer, seconds) or `"bert"`
            (tensorflow-text's pure-Python learner, minutes on large files). Defaults to
            `"sentencepiece"`.
        output_pattern: str or None. Target side only: an RE2 regular expression that a whole
            output must match, or the output is refused (left empty, `accepted=False`); see
            `keras_seq2seq.decoding.output_check`. Defaults to `None` (no pattern).
        output_check: str or None. Target side only: `"calendar"` refuses outputs that are
            not an existing date `YYYY-MM-DD`. Defaults to `None` (no check).
        input_pattern: str or None. Source side only: an RE2 regular expression that a whole
            input must match, as the tokenizer sees it (normalized, lower-cased with
            `lowercase`), or the model does not answer it (empty output, `accepted=False`):
            the inputs it was not trained to read. It changes no training. Defaults to `None`
            (every input is answered).

    Example:
    >>> TextConfig(tokenizer="word", lowercase=True).tokenizer
    'word'
    >>> TextConfig(output_pattern="[0-9-]+", output_check="calendar").output_check
    'calendar'
    >>> TextConfig(input_pattern="[a-z']+", lowercase=True).input_pattern
    "[a-z']+"
    """

    tokenizer: str = dataclasses.field(
        default="char",
        metadata=cli_flag(
            "--tokenizer",
            "tokenizer for both sides",
            choices=TOKENIZER_TYPES,
            side_flag="--{side}-tokenizer",
            side_help="{side} tokenizer",
        ),
    )
    lowercase: bool = dataclasses.field(
        default=False, metadata=cli_flag("--lowercase", "lower-case both sides", type=bool)
    )
    max_vocabulary_size: int = dataclasses.field(
        default=32000,
        metadata=cli_flag(
            "--vocab-size",
            "max vocabulary size of each side, reserved tokens included",
            type=positive_int,
            metavar="N",
        ),
    )
    min_count: int = 1
    max_length: int = dataclasses.field(
        default=128,
        metadata=cli_flag(
            None,
            "",
            type=positive_int,
            metavar="N",
            side_flag="--max-{side}-length",
            side_help="truncate {side}s to N tokens",
        ),
    )
    sentencepiece_type: str = dataclasses.field(
        default="unigram",
        metadata=cli_flag(
            "--sentencepiece-type",
            "sentencepiece tokenizer: unigram or bpe model",
            choices=SENTENCEPIECE_TYPES,
        ),
    )
    shared_vocabulary: bool = dataclasses.field(
        default=False,
        metadata=cli_flag(
            "--shared-vocabulary",
            "one vocabulary learned from both sides (for --tie-embeddings)",
            type=bool,
        ),
    )
    wordpiece_learner: str = dataclasses.field(
        default="sentencepiece",
        metadata=cli_flag(
            "--wordpiece-learner",
            "wordpiece tokenizer: sentencepiece (seconds) or bert (tensorflow-text's "
            "pure-Python learner; minutes on large files)",
            choices=WORDPIECE_LEARNERS,
        ),
    )
    output_pattern: str | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--output-pattern",
            "RE2 regular expression every output must match in full, or it is refused (left "
            "empty), in translate, evaluate and the export (default: the recipe's; dates: "
            r"\d{4}-\d{2}-\d{2} and a calendar check)",
            check=check_output_pattern,
            metavar="REGEX",
            sides=("target",),
        ),
    )
    output_check: str | None = None
    input_pattern: str | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--input-pattern",
            "RE2 regular expression every input must match in full (after normalization and "
            "--lowercase), or the model does not answer it (empty output); changes no training "
            "(default: the recipe's; cmudict: words of letters and apostrophes)",
            check=check_output_pattern,
            metavar="REGEX",
            sides=("source",),
        ),
    )

    def __post_init__(self) -> None:
        check_choice("tokenizer", self.tokenizer, TOKENIZER_TYPES)
        check_bool("lowercase", self.lowercase)
        check_int(
            "max_vocabulary_size",
            self.max_vocabulary_size,
            minimum=5,
            description="an integer >= 5 (4 reserved tokens and one real token)",
        )
        check_int("min_count", self.min_count)
        check_choice("sentencepiece_type", self.sentencepiece_type, SENTENCEPIECE_TYPES)
        check_bool("shared_vocabulary", self.shared_vocabulary)
        check_choice("wordpiece_learner", self.wordpiece_learner, WORDPIECE_LEARNERS)
        check_int("max_length", self.max_length)
        check_output_pattern(self.output_pattern)
        check_output_pattern(self.input_pattern, "input_pattern")
        if self.output_check is not None:
            check_choice("output_check", self.output_check, OUTPUT_CHECKS)


@dataclasses.dataclass(frozen=True)
class TrainConfig(_JsonMixin):
    """Optimisation settings for `keras_seq2seq.training.fit.train`.

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
        lr_schedule: str. `"constant"`, `"inverse_sqrt"` (the Transformer schedule),
            `"exponential"` or `"plateau"`; see `keras_seq2seq.training.schedules`. Defaults to
            `"constant"`.
        warmup_steps: int >= 0. Steps of linear learning-rate warmup. Defaults to `0`.
        decay_rate: float in (0, 1). Factor of `"exponential"` (per `decay_steps`) and
            `"plateau"` (per plateau). Defaults to `0.5`.
        decay_steps: int. Steps per `decay_rate` for `"exponential"`. Defaults to `10000`.
        plateau_patience: int. Epochs without improvement before `"plateau"` lowers the
            rate. Defaults to `2`.
        monitor: str. What picks the best epoch (checkpoint), stops training early and drives
            the plateau schedule: `"val_loss"` or a decoded metric of the validation pairs,
            `"val_exact_match"`, `"val_sequence_error_rate"` (the G2P WER),
            `"val_token_error_rate"`, `"val_bleu"` or `"val_chrf"`. Defaults to `"val_loss"`.
        keep_checkpoints: int >= 0. Keep the weights of the last this many epochs in
            `RUN_DIR/checkpoints/`, for `keras-seq2seq average` (0 = none). Defaults to `0`.
        time_budget_minutes: float >= 0. Stop training when this many minutes are spent,
            mid-epoch if need be: that part-epoch is validated, checkpointed and counted like
            a whole one (`keras_seq2seq.training.callbacks.TimeBudget`; 0 = no budget).
            The epoch backup is kept, so the same run trains on when started again. Defaults
            to `0`.
        jit_compile: bool. Compile the train step with XLA. XLA compiles once per input
            shape, and length-bucketed batches have many shapes, so this is slower in most
            runs (see `benchmarks/train_speed.py`). Defaults to `False`.

    Example:
    >>> TrainConfig(epochs=3, batch_size=32).epochs
    3
    """

    epochs: int = dataclasses.field(
        default=10,
        metadata=cli_flag(
            "--epochs", "passes over the training data", type=positive_int, metavar="N"
        ),
    )
    batch_size: int = dataclasses.field(
        default=64,
        metadata=cli_flag("--batch-size", "examples per batch", type=positive_int, metavar="N"),
    )
    learning_rate: float = dataclasses.field(
        default=1e-3,
        metadata=cli_flag(
            "--learning-rate", "Adam (peak) learning rate", type=positive_float, metavar="RATE"
        ),
    )
    clipnorm: float = 5.0
    label_smoothing: float = dataclasses.field(
        default=0.0,
        metadata=cli_flag(
            "--label-smoothing",
            "label smoothing of the cross-entropy",
            type=non_negative_float,
            metavar="EPSILON",
        ),
    )
    patience: int = dataclasses.field(
        default=5,
        metadata=cli_flag(
            "--patience",
            "early-stopping patience in epochs; 0 is off",
            type=non_negative_int,
            metavar="N",
        ),
    )
    validation_fraction: float = 0.05
    bucket: bool = True
    seed: int = dataclasses.field(
        default=0,
        metadata=cli_flag(
            "--seed",
            "seed of the data split, the shuffling and the initial weights",
            type=non_negative_int,
            metavar="N",
            parsed_default=True,
        ),
    )
    mixed_precision: bool | str = dataclasses.field(
        default=False,
        metadata=cli_flag(
            "--mixed-precision",
            "mixed precision: float16 (the default when given alone; loss scaling; for GPUs "
            "with tensor cores, slower on CPU) or bfloat16 (for CPUs with AMX / AVX512-BF16)",
            choices=tuple(key for key in MIXED_PRECISION_POLICIES if isinstance(key, str)),
            nargs="?",
            const=True,
            parsed_default=True,
        ),
    )
    lr_schedule: str = dataclasses.field(
        default="constant",
        metadata=cli_flag(
            "--lr-schedule",
            "learning-rate schedule: constant, inverse_sqrt (Transformer), exponential or plateau",
            choices=LR_SCHEDULES,
        ),
    )
    warmup_steps: int = dataclasses.field(
        default=0,
        metadata=cli_flag(
            "--warmup-steps", "linear warmup steps", type=non_negative_int, metavar="N"
        ),
    )
    decay_rate: float = dataclasses.field(
        default=0.5,
        metadata=cli_flag(
            "--decay-rate", "exponential/plateau factor", type=positive_float, metavar="FACTOR"
        ),
    )
    decay_steps: int = dataclasses.field(
        default=10_000,
        metadata=cli_flag(
            "--decay-steps", "exponential: steps per factor", type=positive_int, metavar="N"
        ),
    )
    plateau_patience: int = dataclasses.field(
        default=2,
        metadata=cli_flag(
            "--plateau-patience",
            "plateau: epochs without improvement",
            type=positive_int,
            metavar="N",
        ),
    )
    time_budget_minutes: float = dataclasses.field(
        default=0.0,
        metadata=cli_flag(
            "--time-budget",
            "stop training when this many minutes are spent, mid-epoch if need be (that "
            "part-epoch is validated and kept like a whole one); the same command trains on "
            "from there (default: no budget)",
            type=positive_float,
            metavar="MINUTES",
            show_default=False,
        ),
    )
    keep_checkpoints: int = dataclasses.field(
        default=0,
        metadata=cli_flag(
            "--keep-checkpoints",
            "keep the weights of the last N epochs (for keras-seq2seq average)",
            type=non_negative_int,
            metavar="N",
        ),
    )
    monitor: str = dataclasses.field(
        default="val_loss",
        metadata=cli_flag(
            "--monitor",
            "what picks the best epoch and stops early: val_loss or a decoded validation "
            "metric (val_exact_match, val_sequence_error_rate = G2P WER, ...)",
            choices=tuple(MONITORS),
        ),
    )
    jit_compile: bool = dataclasses.field(
        default=False,
        metadata=cli_flag(
            "--jit-compile",
            "compile the train step with XLA (one compilation per batch shape)",
            type=bool,
            parsed_default=True,
        ),
    )

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs)
        precision_policy(self.mixed_precision)
        check_bool("bucket", self.bucket)
        check_bool("jit_compile", self.jit_compile)
        check_int("batch_size", self.batch_size)
        check_number(
            "learning_rate", self.learning_rate, positive=True, description="a positive number"
        )
        check_number("clipnorm", self.clipnorm, description="a number >= 0 (0 disables clipping)")
        check_fraction("label_smoothing", self.label_smoothing)
        check_int("patience", self.patience, minimum=0, description="an integer >= 0")
        check_fraction("validation_fraction", self.validation_fraction)
        check_int("seed", self.seed, minimum=0, description="an integer >= 0")
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_int("warmup_steps", self.warmup_steps, minimum=0, description="an integer >= 0")
        check_number("decay_rate", self.decay_rate, positive=True, maximum=1.0)
        check_int("decay_steps", self.decay_steps)
        check_int("plateau_patience", self.plateau_patience)
        check_number("time_budget_minutes", self.time_budget_minutes)
        check_choice("monitor", self.monitor, tuple(MONITORS))
        check_int(
            "keep_checkpoints", self.keep_checkpoints, minimum=0, description="an integer >= 0"
        )


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

    def __post_init__(self) -> None:
        for name in ("output_pattern", "output_check"):
            if getattr(self.source_text, name) is not None:
                raise ValueError(
                    f"`{name}` constrains what a model outputs: set it on the target side "
                    f"(target_text), not on the source side. Received: source_text.{name}="
                    f"{getattr(self.source_text, name)!r}"
                )
        if self.target_text.input_pattern is not None:
            raise ValueError(
                "`input_pattern` constrains what a model reads: set it on the source side "
                "(source_text), not on the target side. Received: target_text.input_pattern="
                f"{self.target_text.input_pattern!r}"
            )

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
        write_text(path, self.to_json() + "\n")

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
