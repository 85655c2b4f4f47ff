"""Decoding strategies as objects, and the log-probability processors, from two registries.

A strategy is how the next tokens are picked: greedy search, beam search or sampling. It is
built once from `DecodeOptions` by `make_strategy` (the one place that decides which, from
`DecodeOptions.search`), knows how many hypotheses it keeps per input (`width`, read once to
tile the model's context) and returns one result type, n-best shaped (`BeamResult`), whatever
it is.

A log-probability processor changes the model's log-probabilities before every choice, for any
strategy: n-gram blocking (`no_repeat_ngram`), the top-p nucleus (`top_p`, see `nucleus`), a
forced target prefix (`prefix`). Each is a factory `(options, inputs) -> adjust_fn or None`
(`inputs`: per-batch tensors the caller prepared, such as `prefix_ids`), and
`log_prob_processors` chains the ones that apply, in registry order.

A new strategy or processor is one module and one line in `STRATEGIES` or `PROCESSORS`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import tensorflow as tf

from keras_seq2seq.decoding.beam import BeamResult, check_widths, run_beam_search
from keras_seq2seq.decoding.common import ReorderFn, StepFn, check_common_args, gather_rows
from keras_seq2seq.decoding.constraints import no_repeat_ngram_fn
from keras_seq2seq.decoding.greedy import ChooseFn, greedy_choice, one_hypothesis_loop
from keras_seq2seq.decoding.loop import LogProbsFn
from keras_seq2seq.decoding.nucleus import top_p_processor
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.prefix import MODEL_LOG_PROBS, prefix_processor
from keras_seq2seq.decoding.sampling import sampling_choice


class Strategy(abc.ABC):
    """How a decoder picks the next tokens; built once from `DecodeOptions`.

    Args:
        options: DecodeOptions (already validated).

    Example:
    >>> strategy = make_strategy(DecodeOptions(beam_width=4))
    >>> strategy.name, strategy.width
    ('beam', 4)
    """

    name: ClassVar[str]

    def __init__(self, options: DecodeOptions):
        self.options = options

    @property
    def width(self) -> int | tf.Tensor:
        """Hypotheses kept per input: the rows per input of the decoding state."""
        return 1

    def decode(
        self,
        step_fn: StepFn,
        initial_state: Any,
        *,
        start_id: int,
        end_id: int,
        max_length: int,
        max_lengths: tf.Tensor | None = None,
        reorder_fn: ReorderFn = gather_rows,
        adjust_fn: LogProbsFn | None = None,
    ) -> BeamResult:
        """Decodes a batch.

        Args:
            step_fn: the step protocol (see `keras_seq2seq.decoding.common`), over a state
                and context with `width` rows per input (the state is tiled here, the
                context by the caller).
            initial_state: nest of tensors with leading dimension `batch` (not tiled).
            start_id: int. Token fed to the first step.
            end_id: int. Token that ends an output.
            max_length: int. Most output tokens, [END] included.
            max_lengths: optional int32 `[batch]` per-input caps. Defaults to `None`.
            reorder_fn: how beam search reorders the state rows. Defaults to `tf.gather`.
            adjust_fn: optional change to the log-probabilities before each choice (see
                `log_prob_processors`). Defaults to `None`.

        Returns:
            BeamResult, best first: `ids` int32 `[batch, n_best, steps]`, `lengths`, `scores`
            and `normalized_scores` `[batch, n_best]`, `attention` or None. One-hypothesis
            strategies give `n_best = 1` and `normalized_scores == scores`.

        Raises:
            TypeError, ValueError: a bad `step_fn`, id or `max_length`.
        """
        start_id, end_id, max_length = check_common_args(step_fn, start_id, end_id, max_length)
        return self._decode(
            step_fn,
            initial_state,
            start_id=start_id,
            end_id=end_id,
            max_length=max_length,
            max_lengths=max_lengths,
            reorder_fn=reorder_fn,
            adjust_fn=adjust_fn,
        )

    @abc.abstractmethod
    def _decode(self, step_fn: StepFn, initial_state: Any, **arguments: Any) -> BeamResult:
        """`decode` on checked arguments."""


class OneHypothesis(Strategy):
    """A strategy with one hypothesis per input, its next token picked by `choice`."""

    deterministic = False
    """Whether `choice` depends on a row's log-probabilities only (finished rows may then
    leave the batch: `keras_seq2seq.decoding.shrinking`)."""

    @abc.abstractmethod
    def choice(self) -> ChooseFn:
        """`choose_fn(log_probs [batch, V], step) -> tokens int32 [batch]`."""

    def _decode(self, step_fn: StepFn, initial_state: Any, **arguments: Any) -> BeamResult:
        del arguments["reorder_fn"]  # one hypothesis per input: rows never move
        result = one_hypothesis_loop(step_fn, initial_state, choose_fn=self.choice(),
                                     drop_finished=self.deterministic, **arguments)  # fmt: skip
        return BeamResult(
            ids=result.ids,
            lengths=result.lengths,
            scores=result.scores,
            normalized_scores=result.scores,
            attention=result.attention,
        )


class Greedy(OneHypothesis):
    """Greedy search: the likeliest token at every step (ties to the lowest id)."""

    name = "greedy"
    deterministic = True

    def choice(self) -> ChooseFn:
        return greedy_choice


class Sampling(OneHypothesis):
    """Sampling: each token drawn from the tempered (top-k) distribution, seeded."""

    name = "sampling"

    def choice(self) -> ChooseFn:
        options = self.options
        return sampling_choice(options.temperature, options.top_k, options.seed)


class Beam(Strategy):
    """Beam search with the options' width, n-best, length and coverage penalties.

    Args:
        options: DecodeOptions.
        beam_width: optional int32 scalar tensor replacing `options.beam_width` (an exported
            signature's input; checked by assertion ops when the graph runs).
        n_best: optional int32 scalar tensor replacing `options.n_best`.
    """

    name = "beam"

    def __init__(
        self,
        options: DecodeOptions,
        *,
        beam_width: tf.Tensor | None = None,
        n_best: tf.Tensor | None = None,
    ):
        super().__init__(options)
        self._beam_width = options.beam_width if beam_width is None else beam_width
        self._n_best = options.n_best if n_best is None else n_best
        if beam_width is not None or n_best is not None:
            # Values only known when the graph runs; the options' ints were checked already.
            self._beam_width, self._n_best = check_widths(self._beam_width, self._n_best)

    @property
    def width(self) -> int | tf.Tensor:
        return self._beam_width

    def _decode(self, step_fn: StepFn, initial_state: Any, **arguments: Any) -> BeamResult:
        return run_beam_search(
            step_fn,
            initial_state,
            beam_width=self._beam_width,
            n_best=self._n_best,
            length_penalty=self.options.length_penalty,
            coverage_penalty=self.options.coverage_penalty,
            **arguments,
        )


STRATEGIES: dict[str, type[Strategy]] = {
    "greedy": Greedy,
    "beam": Beam,
    "sampling": Sampling,
}
"""Strategy classes by name (the values of `DecodeOptions.search`)."""


def get_strategy(name: str) -> type[Strategy]:
    """The strategy class registered as `name`.

    Raises:
        ValueError: no strategy has that name (the message lists them).

    Example:
    >>> get_strategy("beam").__name__
    'Beam'
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown decoding strategy {name!r}. Registered strategies: {sorted(STRATEGIES)}."
        )
    return STRATEGIES[name]


def make_strategy(
    options: DecodeOptions,
    *,
    beam_width: tf.Tensor | None = None,
    n_best: tf.Tensor | None = None,
) -> Strategy:
    """The strategy `options` ask for: `STRATEGIES[options.search]`.

    Args:
        options: DecodeOptions.
        beam_width: optional int32 scalar tensor replacing `options.beam_width` (an exported
            signature's input): beam search then always runs (width 1 equals greedy search).
        n_best: optional int32 scalar tensor replacing `options.n_best`; beam search too.

    Returns:
        Strategy.

    Example:
    >>> make_strategy(DecodeOptions()).name
    'greedy'
    >>> make_strategy(DecodeOptions(temperature=0.7, seed=1)).name
    'sampling'
    """
    if beam_width is not None or n_best is not None:
        return get_strategy("beam")(options, beam_width=beam_width, n_best=n_best)
    return get_strategy(options.search)(options)


ProcessorFactory = Callable[[DecodeOptions, Mapping[str, Any]], LogProbsFn | None]


def _no_repeat_ngram(options: DecodeOptions, inputs: Mapping[str, Any]) -> LogProbsFn | None:
    del inputs
    return no_repeat_ngram_fn(options.no_repeat_ngram) if options.no_repeat_ngram else None


PROCESSORS: dict[str, ProcessorFactory] = {
    "no_repeat_ngram": _no_repeat_ngram,
    "top_p": top_p_processor,
    "prefix": prefix_processor,
}
"""Log-probability processor factories, applied in this order."""


def chain_processors(adjust_fns: list[LogProbsFn]) -> LogProbsFn | None:
    """One `adjust_fn` applying `adjust_fns` in order (None for none).

    Each sees the loop variables plus `MODEL_LOG_PROBS`, the log-probabilities before the
    first one. The chain is `row_local` (see `keras_seq2seq.decoding.shrinking.can_shrink`)
    when every one of them is.

    Example:
    >>> chain_processors([]) is None
    True
    """
    if not adjust_fns:
        return None

    def adjust(log_probs: tf.Tensor, loop_vars: dict[str, Any]) -> tf.Tensor:
        loop_vars = {**loop_vars, MODEL_LOG_PROBS: log_probs}
        for adjust_fn in adjust_fns:
            log_probs = adjust_fn(log_probs, loop_vars)
        return log_probs

    adjust.row_local = all(getattr(fn, "row_local", False) for fn in adjust_fns)
    return adjust


def log_prob_processors(
    options: DecodeOptions,
    inputs: Mapping[str, Any] | None = None,
    *,
    first: LogProbsFn | None = None,
) -> LogProbsFn | None:
    """The registered processors that apply to `options`, chained into one `adjust_fn`.

    Args:
        options: DecodeOptions.
        inputs: per-batch tensors some processors need (`prefix_ids` for a forced prefix).
            Defaults to none.
        first: optional `adjust_fn` applied before them. Defaults to `None`.

    Returns:
        `adjust_fn(log_probs [batch, width, V], loop_vars) -> log_probs`, or None when no
        processor applies.

    Example:
    >>> log_prob_processors(DecodeOptions()) is None
    True
    """
    inputs = inputs or {}
    made = [factory(options, inputs) for factory in PROCESSORS.values()]
    return chain_processors([fn for fn in [first, *made] if fn is not None])
