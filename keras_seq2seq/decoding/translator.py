"""Strings in, strings out: the translator over any architecture.

`Translator` tokenizes in graph, runs the model's `encode` once per input, decodes with greedy
search, sampling or beam search inside one `tf.function` (`tf.while_loop` over the model's
`step`), and detokenizes in graph. The same graph functions are what `export` writes into a
SavedModel. It knows the model only through the decoding protocol
(`keras_seq2seq.models.protocol`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import tensorflow as tf

from keras_seq2seq.config import RunConfig
from keras_seq2seq.decoding.input_check import describe_input_pattern, passes_input_pattern
from keras_seq2seq.decoding.lexicon import Lexicon, apply_lexicon, load_lexicon
from keras_seq2seq.decoding.options import DecodeOptions, Hypothesis
from keras_seq2seq.decoding.ordering import in_input_order, length_order
from keras_seq2seq.decoding.output_check import describe_output_check, passes_output_check
from keras_seq2seq.decoding.prefix import batch_prefixes, check_prefixes, prefix_ids
from keras_seq2seq.decoding.shrinking import ContextStep
from keras_seq2seq.decoding.strategies import log_prob_processors, make_strategy
from keras_seq2seq.errors import RefusalWarning, TruncationWarning
from keras_seq2seq.models import Ensemble
from keras_seq2seq.models.copying import CopyVocabulary, source_batch
from keras_seq2seq.models.protocol import Decodable, SourceBatch
from keras_seq2seq.text.tokenizers import Tokenizer
from keras_seq2seq.text.vocabulary import END_ID, START_ID
from keras_seq2seq.training.run_dir import LoadedRun, load_run, model_root, resolve_model_dirs
from keras_seq2seq.validation import check_int

__all__ = ["DecodeOptions", "Decoded", "Hypothesis", "RefusalWarning", "Translator", "load"]


class Decoded(NamedTuple):
    """Tensors of a decoded batch (numpy after `Translator.decode`).

    Attributes:
        outputs: tf.string [B, N] decoded texts, best first.
        scores: float32 [B, N] total log-probabilities.
        normalized_scores: float32 [B, N] scores divided by the GNMT length penalty (equal
            to `scores` with `length_penalty=0`): what `min_score` compares.
        ids: int32 [B, N, T] output token ids ([END] included, [PAD] after it).
        source_ids: int32 [B, S] source token ids ([END] appended, right-padded).
        attention: float32 [B, N, T, S] attention weights, or None without attention.
        truncated: bool [B], True where the source had more tokens than the model's
            `max_length` and was cut.
        accepted: bool [B, N], False where the normalized score is below the options'
            `min_score` or the output fails the model's output check (`output_pattern`,
            `output_check` of the target `TextConfig`); the output is then empty.
        from_lexicon: bool [B], True where the best output is the translator's lexicon's
            answer (`keras_seq2seq.decoding.lexicon`: score 0, accepted; `ids` and
            `attention` stay those of the model's own search), or None without a lexicon.
    """

    outputs: Any
    scores: Any
    normalized_scores: Any
    ids: Any
    source_ids: Any
    attention: Any
    truncated: Any
    accepted: Any
    from_lexicon: Any = None


class Translator(tf.Module):
    """Translates strings with a trained model, in graph and batched.

    Args:
        model: Decodable. The model (e.g. from `build_model` or `load`, or an `Ensemble`).
        source_tokenizer: Tokenizer of the source side.
        target_tokenizer: Tokenizer of the target side.
        config: RunConfig the model was trained with.
        lexicon: Lexicon or None. Known answers, looked up before decoding (see
            `keras_seq2seq.decoding.lexicon`). Defaults to None.

    Example:
    >>> translator = load("saved_models/dates")  # doctest: +SKIP
    >>> translator.translate(["March 3, 2021"])  # doctest: +SKIP
    ['2021-03-03']
    """

    def __init__(
        self,
        model: Decodable,
        source_tokenizer: Tokenizer,
        target_tokenizer: Tokenizer,
        config: RunConfig,
        lexicon: Lexicon | None = None,
    ):
        super().__init__(name="translator")
        if not isinstance(model, Decodable):
            raise TypeError(
                "`model` must be a keras_seq2seq Architecture or Ensemble (from build_model, "
                f"build_seq2seq or load). Received: {type(model).__name__}"
            )
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.config = config
        self._functions: dict[tuple[DecodeOptions, bool], Any] = {}
        self.lexicon = lexicon
        self._copy_vocabulary: CopyVocabulary | None = None
        # A head over an extended vocabulary writes source tokens from their text.
        self._extended = model.head.extends_vocabulary
        if self._extended:
            self._copy_vocabulary = self.copy_vocabulary  # a wrong pairing fails here, not later

    @property
    def lexicon(self) -> Lexicon | None:
        """Known answers looked up before decoding (`keras_seq2seq.decoding.lexicon`), or None.

        Setting it (a `Lexicon` or None) drops the traced decoding functions, so the next call
        uses it.
        """
        return self._lexicon

    @lexicon.setter
    def lexicon(self, lexicon: Lexicon | None) -> None:
        if lexicon is not None and not isinstance(lexicon, Lexicon):
            raise TypeError(
                "`lexicon` must be a keras_seq2seq.decoding.lexicon.Lexicon or None. "
                f"Received: {type(lexicon).__name__}"
            )
        self._lexicon = lexicon
        self._functions.clear()

    @property
    def copy_vocabulary(self) -> CopyVocabulary:
        """Source tokens' copy ids and text (copy attention, `replace_unknown`)."""
        if self._copy_vocabulary is None:
            self._copy_vocabulary = CopyVocabulary(
                self.source_tokenizer, self.target_tokenizer, self.config.source_text.max_length
            )
        return self._copy_vocabulary

    def reads_source_text(self, options: DecodeOptions) -> bool:
        """Whether decoding with `options` reads the source tokens' text (`copy_vocabulary`).

        A model whose outputs extend the vocabulary by source positions writes those tokens
        from the source text, and so does `replace_unknown`.
        """
        return self._extended or options.replace_unknown

    @property
    def has_attention(self) -> bool:
        return self.model.has_attention

    @property
    def default_max_length(self) -> int:
        """Target max length from training plus one for [END]."""
        return self.config.target_text.max_length + 1

    # -- graph pieces ---------------------------------------------------------------------

    def encode_source(self, texts: tf.Tensor) -> tf.Tensor:
        """Strings [B] → source ids [B, S]: tokens truncated to the max length, then [END]."""
        return self._source_ids(self.source_tokenizer.tokenize(texts))

    def _source_ids(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        ids = tokens[:, : self.config.source_text.max_length]
        end = tf.fill([ids.nrows(), 1], tf.constant(END_ID, tf.int32))
        return tf.concat([ids, tf.RaggedTensor.from_tensor(end)], axis=1).to_tensor(0)

    def source_batch(
        self, source_ids: tf.Tensor, texts: tf.Tensor, max_length: int = 0,
        surfaces: tf.Tensor | None = None,
    ) -> SourceBatch:  # fmt: skip
        """What the model's `encode` reads for `source_ids` (see `copying.source_batch`)."""
        return source_batch(
            self.model, self._copy_vocabulary, source_ids, max_length, surfaces, texts
        )

    def step_function(
        self, context: Any, beam_width: int | tf.Tensor = 1, with_attention: bool = True
    ):
        """The decoders' step protocol over the model, with the context expanded per beam.

        Args:
            context: the context from `model.encode`.
            beam_width: int or scalar int32 tensor. Rows per input in the decoding state.
                Defaults to `1`.
            with_attention: bool. Pass the step's attention weights on to the search (which
                then keeps their history). Defaults to `True`.

        Returns:
            `step_fn(tokens, state, time) -> StepOutput`, a `ContextStep` (greedy and beam
            search drop finished rows from its context and state). A model whose
            `context_per_input` is true keeps one context row per input.
        """
        model_step = self.model.step
        if not with_attention:

            def model_step(tokens, state, context, time):
                return self.model.step(tokens, state, context, time)._replace(attention=None)

        if self.model.context_per_input:
            return ContextStep(model_step, context, per_input=True,
                               reorder_beams=self.model.reorder_beams)  # fmt: skip
        if tf.is_tensor(beam_width) or beam_width > 1:
            # The strategies expand the state themselves (through `reorder`).
            _, context = self.model.expand(None, context, beam_width)
        return ContextStep(model_step, context)

    def _max_lengths(self, source_ids: tf.Tensor, options: DecodeOptions) -> tf.Tensor | None:
        if options.max_length_ratio is None:
            return None
        source_lengths = tf.reduce_sum(tf.cast(source_ids != 0, tf.float32), axis=1) - 1.0
        return tf.cast(tf.math.ceil(options.max_length_ratio * source_lengths), tf.int32) + 1

    def _encode(self, texts: tf.Tensor, options: DecodeOptions, max_length: int):
        """Tokenizes and encodes `texts`: `(state, context, source_ids, surfaces, truncated)`."""
        tokens = self.source_tokenizer.tokenize(texts)
        truncated = tokens.row_lengths() > self.config.source_text.max_length
        source_ids = self._source_ids(tokens)
        surfaces = None
        if self.reads_source_text(options):
            surfaces = self.copy_vocabulary.source_surfaces(texts)
        batch = self.source_batch(source_ids, texts, max_length, surfaces)
        state, context = self.model.encode(batch)
        return state, context, source_ids, surfaces, truncated

    def decode_graph(
        self,
        texts: tf.Tensor,
        options: DecodeOptions | None = None,
        *,
        beam_width: tf.Tensor | None = None,
        n_best: tf.Tensor | None = None,
        prefixes: tf.Tensor | None = None,
        with_attention: bool = True,
    ) -> Decoded:
        """The whole strings → strings computation, traceable by `tf.function`.

        Args:
            texts: tf.string [B].
            options: DecodeOptions. Defaults to greedy search.
            beam_width: optional int32 scalar tensor replacing `options.beam_width` (an
                exported signature's input); beam search then always runs.
            n_best: optional int32 scalar tensor replacing `options.n_best`.
            prefixes: optional tf.string `[B]`, `[1]` (one for all) or `[0]` (none) target
                prefixes to force, replacing `options.prefix` (see
                `keras_seq2seq.decoding.prefix`). An input whose prefix has a token outside
                the target vocabulary is refused (empty output, `accepted` False).
            with_attention: bool. Return the attention weights (`Decoded.attention`). Without
                them the search keeps no attention history (less work a step); the options
                that read it (`replace_unknown`, `coverage_penalty`) keep it anyway.
                Defaults to `True`.

        Returns:
            Decoded of tensors.
        """
        options = options or DecodeOptions()
        self._check_options(options)
        max_length = options.max_length or self.default_max_length
        state, context, source_ids, surfaces, truncated = self._encode(texts, options, max_length)
        if prefixes is None and options.prefix is not None:
            prefixes = tf.constant(options.prefix, tf.string)
        inputs, known_prefixes = {}, None
        if prefixes is not None:
            prefixes = batch_prefixes(prefixes, tf.shape(texts)[0])
            inputs["prefix_ids"], known_prefixes = prefix_ids(self.target_tokenizer, prefixes)
        strategy = make_strategy(options, beam_width=beam_width, n_best=n_best)
        with_attention = bool(with_attention or options.replace_unknown
                              or options.coverage_penalty)  # fmt: skip
        result = strategy.decode(
            self.step_function(context, strategy.width, with_attention),
            state,
            start_id=START_ID,
            end_id=END_ID,
            max_length=max_length,
            max_lengths=self._max_lengths(source_ids, options),
            reorder_fn=self.model.reorder,
            adjust_fn=log_prob_processors(options, inputs),
        )
        ids = result.ids
        outputs = self._detokenize(ids, result.attention, surfaces, options)
        accepted = tf.ones_like(result.scores, tf.bool)
        if options.min_score is not None:
            accepted = result.normalized_scores >= options.min_score
        passes = passes_output_check(outputs, self.config.target_text)
        if passes is not None:
            accepted &= passes
        readable = passes_input_pattern(texts, self.config.source_text)
        if readable is not None:  # an input the model was not trained to read: no answer
            accepted &= readable[:, tf.newaxis]
        if known_prefixes is not None:  # a prefix that cannot be forced refuses its input
            accepted &= known_prefixes[:, tf.newaxis]
        checks = (options.min_score, passes, readable, known_prefixes)
        if any(check is not None for check in checks):
            outputs = tf.where(accepted, outputs, "")
        fields = {
            "outputs": outputs,
            "scores": result.scores,
            "normalized_scores": result.normalized_scores,
            "accepted": accepted,
        }
        if self.lexicon is not None:  # known inputs: the lexicon's answer first
            fields = apply_lexicon(self.lexicon, texts, fields, prefixes)
        return Decoded(
            fields["outputs"],
            fields["scores"],
            fields["normalized_scores"],
            ids,
            source_ids,
            result.attention,
            truncated,
            fields["accepted"],
            fields.get("from_lexicon"),
        )

    def _check_options(self, options: DecodeOptions) -> None:
        if options.replace_unknown and not self.has_attention:
            raise ValueError(
                "`replace_unknown` writes the source token a step attended to most, and this "
                "model has no attention. Decode without replace_unknown."
            )

    def _detokenize(self, ids, attention, surfaces, options: DecodeOptions) -> tf.Tensor:
        """Output ids `[B, N, T]` → strings `[B, N]` (copied tokens from `surfaces`)."""
        batch, n_best = tf.shape(ids)[0], tf.shape(ids)[1]
        if surfaces is None:
            flat = tf.reshape(ids, [batch * n_best, -1])
            return tf.reshape(self.target_tokenizer.detokenize(flat), [batch, n_best])
        if options.replace_unknown:
            ids = self.copy_vocabulary.replace_unknown(ids, attention, surfaces)
        flat = tf.reshape(ids, [batch * n_best, -1])
        rows = tf.repeat(surfaces, n_best, axis=0)
        return tf.reshape(self.copy_vocabulary.detokenize(flat, rows), [batch, n_best])

    def _function(self, options: DecodeOptions, with_attention: bool = True) -> Any:
        """The traced decoding of `options`; with a prefix, prefixes are its second input."""
        # The prefix texts are an input, not part of the graph: one trace serves them all.
        key = (options.replace(prefix=None), options.prefix is not None, with_attention)
        if key not in self._functions:
            graph_options, prefixed, _ = key
            strings = tf.TensorSpec([None], tf.string)
            signature = [strings, strings] if prefixed else [strings]

            # The decoders are plain TensorFlow (tf.while_loop, tf.where): converting them
            # with AutoGraph changes nothing but costs seconds at every start.
            @tf.function(input_signature=signature, autograph=False)
            def run(texts, prefixes=None):
                return self.decode_graph(texts, graph_options, prefixes=prefixes,
                                         with_attention=with_attention)  # fmt: skip

            self._functions[key] = run
        return self._functions[key]

    def _prefixes(self, options: DecodeOptions, count: int) -> list[str] | None:
        """One prefix per input from `options.prefix`, checked; None without a prefix."""
        if options.prefix is None:
            return None
        if isinstance(options.prefix, str):
            prefixes = [options.prefix] * count
        elif len(options.prefix) != count:
            raise ValueError(
                f"`prefix` holds {len(options.prefix)} prefixes for {count} inputs. Give one "
                "str to force on every output, or one prefix per input."
            )
        else:
            prefixes = list(options.prefix)
        check_prefixes(self.target_tokenizer, prefixes)
        return prefixes

    # -- Python API -------------------------------------------------------------------------

    def decode(
        self,
        texts: Sequence[str],
        options: DecodeOptions | None = None,
        *,
        batch_size: int = 256,
        with_attention: bool = True,
        **option_kwargs: Any,
    ) -> list[Decoded]:
        """Decodes `texts` in batches; returns one numpy `Decoded` per batch.

        Args:
            texts: sequence of str.
            options: DecodeOptions, or None to give the options as keywords.
            batch_size: int. Inputs decoded together. Defaults to `256`.
            with_attention: bool. Return the attention weights (`Decoded.attention`, None
                without); decoding is faster without. Defaults to `True`.
            **option_kwargs: DecodeOptions fields (`beam_width=4`, ...).

        Raises:
            TypeError: an option of the wrong type, or options given both ways.
            ValueError: an option is out of range, `prefix` does not hold one prefix per
                input, or a prefix has a token outside the target vocabulary.
        """
        options = DecodeOptions.coerce(options, **option_kwargs)
        check_int("batch_size", batch_size)
        prefixes = self._prefixes(options, len(texts))
        run = self._function(options, with_attention)
        results = []
        for begin in range(0, len(texts), batch_size):
            batch = [tf.constant(list(texts[begin : begin + batch_size]), dtype=tf.string)]
            if prefixes is not None:
                batch.append(tf.constant(prefixes[begin : begin + batch_size], tf.string))
            decoded = run(*batch)
            results.append(
                Decoded(*(None if t is None else t.numpy() for t in decoded))  # type: ignore[arg-type]
            )
        return results

    def translate(
        self,
        texts: str | Sequence[str],
        options: DecodeOptions | None = None,
        *,
        batch_size: int = 256,
        **option_kwargs: Any,
    ) -> Any:
        """Translates strings.

        Args:
            texts: str or sequence of str.
            options: DecodeOptions, or None to give the options as keywords:
                `beam_width`, `n_best`, `length_penalty`, `max_length`, `max_length_ratio`,
                `temperature`, `top_k`, `top_p`, `seed`, `prefix` (one str forced as the start
                of every output, or one per text; see `DecodeOptions`). Defaults to greedy.
            batch_size: int. Inputs decoded together (the inputs are grouped by length,
                which decodes faster; the results come back in input order). Defaults to
                `256`.
            **option_kwargs: DecodeOptions fields.

        Returns:
            A str (for a str input) or a list of str in the order of `texts`; with
            `n_best > 1` lists of `Hypothesis` instead of strings.

        Raises:
            TypeError: `texts` is not a str or a sequence of str, or an option has the wrong
                type.
            ValueError: an option is out of range, `prefix` does not hold one prefix per
                text, or a prefix has a token outside the target vocabulary.

        Example:
        >>> translator.translate("March 3, 2021", beam_width=4)  # doctest: +SKIP
        '2021-03-03'
        >>> translator.translate("March 3, 2021", prefix="2020")  # doctest: +SKIP
        '2020-03-03'
        """
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise TypeError(
                    f"`texts` must be a str or a sequence of str. Item {index} is "
                    f"{type(item).__name__}: {item!r}"
                )
        options = DecodeOptions.coerce(options, **option_kwargs)
        # Decoded grouped by length (see `length_order`); results return in input order.
        order = length_order(items)
        prefixes = self._prefixes(options, len(items))
        if isinstance(options.prefix, tuple):
            options = options.replace(prefix=tuple(prefixes[i] for i in order))
        batches = self.decode(
            [items[i] for i in order], options, batch_size=batch_size, with_attention=False
        )
        self._warn_truncated(batches, len(items))
        refused = sum(int((~batch.accepted[:, 0]).sum()) for batch in batches)
        if refused:
            warnings.warn(
                RefusalWarning(
                    f"{refused} of {len(items)} outputs {self.refusal_reason(options)} and "
                    "were refused (left empty).",
                    refused,
                ),
                stacklevel=2,
            )
        in_length_order = [
            hypotheses[0].text if options.n_best == 1 else hypotheses
            for batch in batches
            for hypotheses in batch_hypotheses(batch, options.n_best)
        ]
        results = in_input_order(order, in_length_order)
        return results[0] if single else results

    def refusal_reason(self, options: DecodeOptions) -> str:
        """Why outputs are refused, for the counted warning: `min_score`, the output check.

        Example:
        >>> translator.refusal_reason(DecodeOptions(min_score=-1.0))  # doctest: +SKIP
        'scored below min_score=-1.0'
        """
        reasons = []
        if options.min_score is not None:
            reasons.append(f"scored below min_score={options.min_score}")
        check = describe_output_check(self.config.target_text)
        if check is not None:
            reasons.append(f"failed the model's output check (outputs {check})")
        pattern = describe_input_pattern(self.config.source_text)
        if pattern is not None:
            reasons.append(f"had inputs the model does not read (inputs {pattern})")
        return " or ".join(reasons) or "were empty"

    def _warn_truncated(self, batches: list[Decoded], count: int) -> None:
        num_truncated = sum(int(batch.truncated.sum()) for batch in batches)
        if num_truncated:
            warnings.warn(
                TruncationWarning(
                    f"{num_truncated} of {count} inputs had more than max_source_length="
                    f"{self.config.source_text.max_length} tokens (set when the model was "
                    "trained) and were truncated before translation.",
                    num_truncated,
                ),
                stacklevel=3,
            )


def batch_hypotheses(batch: Decoded, n_best: int) -> list[list[Hypothesis]]:
    """The `n_best` hypotheses of every input of a numpy `Decoded`, best first."""
    return [
        [
            Hypothesis(
                batch.outputs[row, k].decode("utf-8"),
                float(batch.scores[row, k]),
                float(batch.normalized_scores[row, k]),
                bool(batch.accepted[row, k]),
            )
            for k in range(n_best)
        ]
        for row in range(len(batch.outputs))
    ]


def load(path: str | Path | Sequence[str | Path]) -> Translator:
    """Loads a trained model (or an ensemble of several) for translation.

    A model directory that holds a lexicon (`lexicon.tsv`, e.g. an export made with
    `export_model(..., lexicon=...)`) answers its known inputs from it; for a list, the first
    path's lexicon is used.

    Args:
        path: a run directory, an exported base path (newest version), a version
            directory or a shipped model's name (`keras_seq2seq.shipped`); or a list of
            them, decoded as one ensemble (log-probabilities averaged at every step; see
            `keras_seq2seq.models.Ensemble`).

    Returns:
        Translator.

    Raises:
        FileNotFoundError: a directory or one of its files is missing.
        ValueError: a file is corrupt (named in the message), or ensemble members differ in
            their vocabularies or tokenizers (the message names the difference).

    Example:
    >>> load("saved_models/dates").translate("March 3, 2021")  # doctest: +SKIP
    '2021-03-03'
    >>> load(["runs/a", "runs/b"]).translate("March 3, 2021")  # doctest: +SKIP
    '2021-03-03'
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths:
        raise ValueError("`path` is an empty list: give at least one model directory.")
    runs = [load_run(member) for single in paths for member in resolve_model_dirs(single)]
    first = runs[0]
    lexicon = load_lexicon(model_root(paths[0]), first.config.source_text.lowercase)
    if len(runs) == 1:
        return Translator(
            first.model, first.source_tokenizer, first.target_tokenizer, first.config, lexicon
        )
    check_ensemble(runs)
    model = Ensemble([run.model for run in runs])
    return Translator(model, first.source_tokenizer, first.target_tokenizer, first.config, lexicon)


def check_ensemble(runs: Sequence[LoadedRun]) -> None:
    """Checks that models can be decoded together: same tokenizers, same vocabularies.

    Raises:
        ValueError: the first difference found, naming both models.
    """
    first = runs[0]
    for run in runs[1:]:
        for side in ("source", "target"):
            mine = getattr(first, f"{side}_tokenizer")
            theirs = getattr(run, f"{side}_tokenizer")
            settings = ("tokenizer", "lowercase")
            mine_text, their_text = (getattr(r.config, f"{side}_text") for r in (first, run))
            differs = [n for n in settings if getattr(mine_text, n) != getattr(their_text, n)]
            if differs or mine.vocabulary != theirs.vocabulary:
                what = f"{differs[0]} setting" if differs else "vocabulary"
                raise ValueError(
                    f"Ensemble members must share their {side} tokenizer, but the {side} "
                    f"{what} of {run.run_dir} differs from that of {first.run_dir} "
                    f"({theirs.vocabulary_size} and {mine.vocabulary_size} tokens). Train the "
                    "members with the same vocabulary (e.g. the same data and tokenizer "
                    "settings)."
                )
