"""Decoding options, validated once, and the hypotheses decoding returns.

`DecodeOptions` is the one description of how to decode that the Python API (`Translator`),
the CLI, `evaluate`, the decoded-metric callback, `export` and the TF Serving clients pass
around unchanged. It imports nothing heavy: the REST client uses it without TensorFlow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from keras_seq2seq.cli_fields import (
    cli_flag,
    finite_float,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from keras_seq2seq.validation import check_bool, check_finite, check_int, check_number

MAX_BEAM_WIDTH = 256
MAX_OUTPUT_LENGTH = 10_000
_SEED_LIMIT = 2**63 - 1


class Hypothesis(NamedTuple):
    """One decoded output: its text, total log-probability and normalized score.

    The normalized score is `score / ((5 + length) / 6) ** length_penalty` (the GNMT length
    penalty, `length` counting [END]): what beam search ranks by and `min_score` compares.
    With `length_penalty=0` (the default, and always in greedy search and sampling) it equals
    `score`. It is not the mean token log-probability (`keras_seq2seq.evaluation.scoring.PairScore
    .mean_log_prob`). `accepted` is False when the normalized score is below
    `DecodeOptions.min_score`; the text is then empty.
    """

    text: str
    score: float
    normalized_score: float
    accepted: bool = True


@dataclasses.dataclass(frozen=True)
class DecodeOptions:
    """How to decode: greedy search, beam search or sampling, and the length limits.

    Validated when created: a wrong type raises `TypeError`, a value out of range
    `ValueError`. Frozen, so one checked object can be passed everywhere.

    Args:
        beam_width: int. 1 is greedy search; more is beam search. Defaults to `1`.
        n_best: int. Hypotheses returned per input, at most `beam_width`. Defaults to `1`.
        length_penalty: float >= 0. GNMT length-penalty alpha: beam search ranks hypotheses
            by `log_prob / ((5 + length) / 6) ** alpha`. Defaults to `0.0`.
        max_length: int or None. Most output tokens, [END] included. Defaults to `None`
            (the model's training target length + 1).
        max_length_ratio: float or None. Also cap each output at
            `ceil(ratio * source tokens) + 1` tokens. Defaults to `None`.
        temperature: float or None. Sample each token from `softmax(logits / temperature)`
            instead of searching (with `beam_width=1`). Defaults to `None` (no sampling).
        top_k: int >= 0. With sampling, draw among the `top_k` likeliest tokens (0 = all).
            Defaults to `0`.
        top_p: float in (0, 1] or None. With sampling, draw from the nucleus: the fewest
            likeliest tokens whose tempered probabilities add up to at least `top_p` (`1.0`
            keeps every token; see `keras_seq2seq.decoding.nucleus`). Defaults to `None`.
        seed: int or None. Sampling seed, for reproducible samples. Defaults to `None`.
        no_repeat_ngram: int >= 0. Never generate an n-gram of this length twice in one
            output (0 = off; 3 stops `ein Programm, das ein Programm, das` loops).
            Defaults to `0`.
        coverage_penalty: float >= 0. GNMT coverage penalty weight `beta` in beam search:
            hypotheses that leave source tokens unattended rank lower. Needs a model with
            attention. Defaults to `0.0`.
        min_score: float or None. Refuse outputs whose normalized score (see `Hypothesis`:
            the log-probability divided by the GNMT length penalty, so the total
            log-probability with `length_penalty=0`) is below this: they come back empty,
            flagged `accepted=False`. `evaluate` reports the score at which a given share of
            correct outputs would be refused, to choose it. Defaults to `None` (accept
            everything).
        replace_unknown: bool. Write each generated `[UNK]` as the source token the step
            attended to most (OpenNMT's `replace_unknown_target`). Needs a model with
            attention. Defaults to `False`.
        prefix: str, sequence of str, or None. Target text forced as the start of every
            output (one str) or of each output (one per input): its tokens are generated
            first, whatever the model prefers, then decoding continues freely; the output
            includes the prefix and its score the forced tokens' log-probabilities (see
            `keras_seq2seq.decoding.prefix`). An empty prefix forces nothing. Defaults to
            `None`.

    Raises:
        TypeError: an option has the wrong type.
        ValueError: an option is out of range, or the options contradict each other
            (`n_best > beam_width`, sampling with a beam, `top_k`/`top_p`/`seed` without
            sampling).

    Example:
    >>> DecodeOptions(beam_width=4, n_best=2).search
    'beam'
    >>> DecodeOptions(beam_width=0)
    Traceback (most recent call last):
    ...
    ValueError: `beam_width` must be a positive integer. Received: beam_width=0.
    """

    beam_width: int = dataclasses.field(
        default=1,
        metadata=cli_flag(
            "--beam-width", "beam width; 1 is greedy search", type=positive_int, metavar="N"
        ),
    )
    n_best: int = dataclasses.field(
        default=1,
        metadata=cli_flag("--n-best", "hypotheses per input", type=positive_int, metavar="N"),
    )
    length_penalty: float = dataclasses.field(
        default=0.0,
        metadata=cli_flag(
            "--length-penalty", "GNMT alpha", type=non_negative_float, metavar="ALPHA"
        ),
    )
    max_length: int | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--max-length",
            "maximum output tokens, [END] included (default: the model's --max-target-length + 1)",
            type=positive_int,
            metavar="N",
        ),
    )
    max_length_ratio: float | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--max-length-ratio",
            "also cap each output at ceil(RATIO x source tokens) + 1 tokens (default: no cap)",
            type=positive_float,
            metavar="RATIO",
        ),
    )
    temperature: float | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--temperature",
            "sample at this temperature, with beam width 1 (default: search, no sampling)",
            type=positive_float,
            metavar="T",
        ),
    )
    top_k: int = dataclasses.field(
        default=0,
        metadata=cli_flag(
            "--top-k",
            "sample among the K likeliest tokens; 0: all",
            type=non_negative_int,
            metavar="K",
        ),
    )
    seed: int | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--seed",
            "sampling seed (default: a random one)",
            type=non_negative_int,
            metavar="N",
        ),
    )
    no_repeat_ngram: int = dataclasses.field(
        default=0,
        metadata=cli_flag(
            "--no-repeat-ngram",
            "never repeat an n-gram of N tokens in one output; 0 is off",
            type=non_negative_int,
            metavar="N",
        ),
    )
    coverage_penalty: float = dataclasses.field(
        default=0.0,
        metadata=cli_flag(
            "--coverage-penalty",
            "beam search: GNMT coverage penalty weight; 0 is off",
            type=non_negative_float,
            metavar="BETA",
        ),
    )
    min_score: float | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--min-score",
            "refuse (leave empty, with a counted warning) outputs whose normalized score is "
            "below S: the log-probability divided by the GNMT length penalty, so the total "
            "log-probability without --length-penalty; `evaluate` suggests values (default: "
            "refuse nothing)",
            type=finite_float,
            metavar="S",
        ),
    )
    replace_unknown: bool = dataclasses.field(
        default=False,
        metadata=cli_flag(
            "--replace-unknown",
            "write each generated [UNK] as the source token the model attended to most",
            type=bool,
        ),
    )
    top_p: float | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--top-p",
            "sample from the nucleus: the likeliest tokens holding P of the probability, "
            "0 < P <= 1 (default: all tokens)",
            type=positive_float,
            metavar="P",
        ),
    )
    prefix: str | tuple[str, ...] | None = dataclasses.field(
        default=None,
        metadata=cli_flag(
            "--prefix",
            "force every output to start with TEXT (target tokens), then decode the rest",
            metavar="TEXT",
        ),
    )

    def __post_init__(self) -> None:
        check_int("beam_width", self.beam_width, maximum=MAX_BEAM_WIDTH)
        check_int("n_best", self.n_best)
        if self.n_best > self.beam_width:
            raise ValueError(
                f"`n_best` must be at most {self.beam_width}. Received: n_best={self.n_best}. "
                "Beam search keeps `beam_width` hypotheses: raise `beam_width` or lower `n_best`."
            )
        self._set("length_penalty", check_number("length_penalty", self.length_penalty))
        if self.max_length is not None:
            check_int("max_length", self.max_length, maximum=MAX_OUTPUT_LENGTH)
        if self.max_length_ratio is not None:
            ratio = check_number("max_length_ratio", self.max_length_ratio, positive=True)
            self._set("max_length_ratio", ratio)
        check_int("top_k", self.top_k, minimum=0, description="an integer >= 0")
        if self.seed is not None:
            check_int(
                "seed", self.seed, minimum=0, maximum=_SEED_LIMIT, description="an integer >= 0"
            )
        self._check_sampling()
        check_int("no_repeat_ngram", self.no_repeat_ngram, minimum=0, description="an integer >= 0")
        self._set("coverage_penalty", check_number("coverage_penalty", self.coverage_penalty))
        if self.min_score is not None:
            self._set("min_score", check_finite("min_score", self.min_score))
        check_bool("replace_unknown", self.replace_unknown)
        self._check_prefix()
        if self.coverage_penalty and self.search != "beam":
            raise ValueError(
                "`coverage_penalty` ranks the hypotheses of beam search: use beam_width > 1. "
                f"Received: beam_width={self.beam_width}."
            )

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _check_sampling(self) -> None:
        if self.top_p is not None:
            top_p = check_number("top_p", self.top_p, positive=True, maximum=1.0,
                                 description="a number in (0, 1]")  # fmt: skip
            self._set("top_p", top_p)
        if self.temperature is None:
            if self.top_k or self.seed is not None:
                raise ValueError(
                    "`top_k` and `seed` apply to sampling: also pass `temperature` "
                    f"(received top_k={self.top_k}, seed={self.seed})."
                )
            if self.top_p is not None:
                raise ValueError(
                    "`top_p` applies to sampling: also pass `temperature` (1.0 samples from "
                    f"the model's distribution as it is). Received: top_p={self.top_p}."
                )
            return
        self._set("temperature", check_number("temperature", self.temperature, positive=True))
        if self.beam_width != 1:
            raise ValueError(
                "Sampling (`temperature`) draws one output per input; use beam_width=1. "
                f"Received: beam_width={self.beam_width}."
            )

    def _check_prefix(self) -> None:
        if self.prefix is None or isinstance(self.prefix, str):
            return
        if not isinstance(self.prefix, Sequence) or isinstance(self.prefix, bytes):
            raise TypeError(
                "`prefix` must be a str (forced on every output) or a sequence of str (one per "
                f"input). Received: prefix={self.prefix!r} of type {type(self.prefix).__name__}."
            )
        for index, item in enumerate(self.prefix):
            if not isinstance(item, str):
                raise TypeError(
                    f"`prefix` must hold one str per input. Item {index} is "
                    f"{type(item).__name__}: {item!r}."
                )
        # A tuple keeps the options hashable (translators cache a graph per options).
        self._set("prefix", tuple(self.prefix))

    @property
    def search(self) -> str:
        """`"sampling"`, `"greedy"` or `"beam"`."""
        if self.temperature is not None:
            return "sampling"
        return "greedy" if self.beam_width == 1 else "beam"

    def replace(self, **changes: Any) -> DecodeOptions:
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def coerce(cls, options: DecodeOptions | Mapping[str, Any] | None = None, **kwargs: Any):
        """Builds options from a `DecodeOptions`, a dict of options, or keyword arguments.

        Args:
            options: DecodeOptions, dict or None.
            **kwargs: options as keywords (`beam_width=4`); not together with `options`.

        Returns:
            DecodeOptions.

        Raises:
            TypeError: both `options` and keywords, an unknown option name, or an option of
                the wrong type.
            ValueError: an option out of range.

        Example:
        >>> DecodeOptions.coerce(beam_width=2).beam_width
        2
        """
        if options is not None and kwargs:
            raise TypeError(
                "Pass the decoding options either as `options=DecodeOptions(...)` or as "
                f"keywords, not both. Received options={options!r} and {sorted(kwargs)}."
            )
        if isinstance(options, DecodeOptions):
            return options
        values = dict(kwargs if options is None else options)
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(
                f"Unknown decoding option(s) {unknown}. Valid options: {sorted(known)}."
            )
        return cls(**values)
