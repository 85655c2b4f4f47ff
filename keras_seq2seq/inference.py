"""Strings in, strings out: the translator over the encoder and decoder-step models.

`Translator` tokenizes in graph, runs the encoder once per input, decodes with greedy or beam
search inside one `tf.function` (`tf.while_loop` over the decoder-step model), and
detokenizes in graph. The same graph functions are what `export` writes into a SavedModel.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from keras_seq2seq.config import RunConfig
from keras_seq2seq.data.pipeline import TruncationWarning
from keras_seq2seq.decoding import beam_search, greedy_search, sample_search
from keras_seq2seq.models import (
    Seq2SeqModels,
    build_inference_models,
    build_seq2seq,
    states_per_layer,
)
from keras_seq2seq.text.tokenizers import Tokenizer, tokenizer_from_vocabulary
from keras_seq2seq.text.vocabulary import END_ID, START_ID, load_vocabulary
from keras_seq2seq.training import (
    CONFIG_FILE,
    MODEL_FILE,
    SOURCE_VOCAB_FILE,
    TARGET_VOCAB_FILE,
)
from keras_seq2seq.validation import check_int

RUN_FILES = (CONFIG_FILE, SOURCE_VOCAB_FILE, TARGET_VOCAB_FILE, MODEL_FILE)


class Hypothesis(NamedTuple):
    """One decoded output: its text, total log-probability and length-normalized score."""

    text: str
    score: float
    normalized_score: float


class Decoded(NamedTuple):
    """Tensors of a decoded batch (numpy after `Translator.decode`).

    Attributes:
        outputs: tf.string [B, N] decoded texts, best first.
        scores: float32 [B, N] total log-probabilities.
        normalized_scores: float32 [B, N] scores divided by the GNMT length penalty.
        ids: int32 [B, N, T] output token ids ([END] included, [PAD] after it).
        source_ids: int32 [B, S] source token ids ([END] appended, right-padded).
        attention: float32 [B, N, T, S] attention weights, or None without attention.
        truncated: bool [B], True where the source had more tokens than the model's
            `max_length` and was cut.
    """

    outputs: Any
    scores: Any
    normalized_scores: Any
    ids: Any
    source_ids: Any
    attention: Any
    truncated: Any


class Translator(tf.Module):
    """Translates strings with a trained model, in graph and batched.

    Args:
        models: Seq2SeqModels (training, encoder, decoder_step).
        source_tokenizer: Tokenizer of the source side.
        target_tokenizer: Tokenizer of the target side.
        config: RunConfig the model was trained with.

    Example:
    >>> translator = load("saved_models/dates")  # doctest: +SKIP
    >>> translator.translate(["March 3, 2021"])  # doctest: +SKIP
    ['2021-03-03']
    """

    def __init__(
        self,
        models: Seq2SeqModels,
        source_tokenizer: Tokenizer,
        target_tokenizer: Tokenizer,
        config: RunConfig,
    ):
        super().__init__(name="translator")
        self.models = models
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.config = config
        self._functions: dict[tuple, Any] = {}

    @property
    def has_attention(self) -> bool:
        return self.config.model.attention != "none"

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

    def encode(self, source_ids: tf.Tensor) -> tuple[dict[str, Any], tuple | None]:
        """Runs the encoder once.

        Returns:
            `(state, context)`: the decoder state of the step-function protocol
            (`{"rnn": [...], "attention": [B, S]}`) and the attention context
            `(memory [B, S, U], memory_mask [B, S])`, or None without attention. The context
            never changes while decoding, so it is kept out of the loop state: beam search then
            has nothing to reorder but the recurrent states.
        """
        outputs = self.models.encoder(source_ids)
        # tf.identity drops the Keras mask metadata the encoder attaches to its outputs.
        state: dict[str, Any] = {"rnn": [tf.identity(s) for s in outputs[2:]]}
        if not self.has_attention:
            return state, None
        memory_mask = tf.identity(outputs[1])
        state["attention"] = tf.zeros_like(tf.cast(memory_mask, tf.float32))
        return state, (tf.identity(outputs[0]), memory_mask)

    def step_function(self, context: tuple | None, beam_width: int = 1):
        """The decoding protocol `(tokens [N], state) -> (log_probs [N, V], new_state)`.

        Args:
            context: the attention context from `encode` (or None).
            beam_width: int or scalar int32 tensor. The context is repeated this many times
                per input, matching the rows of a beam-tiled state. Defaults to `1`.
        """
        if context is not None and (tf.is_tensor(beam_width) or beam_width > 1):
            context = tuple(tf.repeat(t, beam_width, axis=0) for t in context)
        n = self.config.model.num_layers * states_per_layer(self.config.model)

        def step(tokens: tf.Tensor, state: dict[str, Any]) -> tuple[tf.Tensor, dict]:
            inputs = [tokens[:, None], *state["rnn"]]
            if context is not None:
                inputs += list(context)
            outputs = self.models.decoder_step(inputs)
            new_state = dict(state, rnn=list(outputs[1 : 1 + n]))
            if context is not None:
                new_state["attention"] = outputs[1 + n]
            return tf.nn.log_softmax(tf.cast(outputs[0], tf.float32), axis=-1), new_state

        return step

    def decode_graph(
        self,
        texts: tf.Tensor,
        *,
        beam_width: int = 1,
        n_best: int = 1,
        length_penalty: float = 0.0,
        max_length: int | None = None,
        max_length_ratio: float | None = None,
        temperature: float | None = None,
        top_k: int = 0,
        seed: int | None = None,
    ) -> Decoded:
        """The whole strings → strings computation, traceable by `tf.function`.

        Args:
            texts: tf.string [B].
            beam_width: int or scalar int32 tensor. 1 is greedy search. Defaults to `1`.
            n_best: int or scalar int32 tensor. Hypotheses returned per input
                (≤ beam_width). Defaults to `1`.
            length_penalty: float. GNMT alpha (beam search only). Defaults to `0.0`.
            max_length: int or None. Output tokens cap ([END] included). Defaults to the
                training target max length + 1.
            max_length_ratio: float or None. Also cap each output at
                `ceil(ratio * source tokens) + 1` tokens. Defaults to `None`.
            temperature: float or None. Sample instead of searching (`beam_width` must be 1),
                from softmax(logits / temperature). Defaults to `None`.
            top_k: int. With sampling, draw among the k most likely tokens (0 = all).
            seed: int or None. Sampling seed.

        Returns:
            Decoded of tensors.
        """
        max_length = max_length or self.default_max_length
        tokens = self.source_tokenizer.tokenize(texts)
        truncated = tokens.row_lengths() > self.config.source_text.max_length
        source_ids = self._source_ids(tokens)
        max_lengths = None
        if max_length_ratio is not None:
            source_lengths = tf.reduce_sum(tf.cast(source_ids != 0, tf.float32), axis=1) - 1.0
            max_lengths = tf.cast(tf.math.ceil(max_length_ratio * source_lengths), tf.int32) + 1
        state, context = self.encode(source_ids)
        step = self.step_function(context, beam_width)
        common = {"start_id": START_ID, "end_id": END_ID, "max_length": max_length}
        common["max_lengths"] = max_lengths
        # A tensor beam width (an exported signature input) always takes beam search, which
        # equals greedy search at width 1.
        if temperature is not None or (not tf.is_tensor(beam_width) and beam_width == 1):
            if temperature is not None:
                result = sample_search(
                    step, state, temperature=temperature, top_k=top_k, seed=seed, **common
                )
            else:
                result = greedy_search(step, state, **common)
            ids = result.ids[:, None, :]
            scores = result.scores[:, None]
            normalized = scores
            attention = None if result.attention is None else result.attention[:, None]
        else:
            result = beam_search(
                step,
                state,
                beam_width=beam_width,
                length_penalty=length_penalty,
                n_best=n_best,
                **common,
            )
            ids, scores = result.ids, result.scores
            normalized, attention = result.normalized_scores, result.attention
        batch = tf.shape(ids)[0]
        flat = tf.reshape(ids, [batch * tf.shape(ids)[1], -1])
        outputs = tf.reshape(self.target_tokenizer.detokenize(flat), tf.shape(ids)[:2])
        return Decoded(outputs, scores, normalized, ids, source_ids, attention, truncated)

    def _function(self, **options) -> Any:
        key = tuple(sorted(options.items()))
        if key not in self._functions:

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
            def run(texts):
                return self.decode_graph(texts, **options)

            self._functions[key] = run
        return self._functions[key]

    # -- Python API -------------------------------------------------------------------------

    def decode(
        self,
        texts: Sequence[str],
        *,
        beam_width: int = 1,
        n_best: int = 1,
        length_penalty: float = 0.0,
        max_length: int | None = None,
        max_length_ratio: float | None = None,
        temperature: float | None = None,
        top_k: int = 0,
        seed: int | None = None,
        batch_size: int = 256,
    ) -> list[Decoded]:
        """Decodes `texts` in batches; returns one numpy `Decoded` per batch.

        Raises:
            ValueError: an option is out of range.
        """
        options = self._check_options(beam_width, n_best, length_penalty, max_length)
        options.update(_check_sampling(beam_width, max_length_ratio, temperature, top_k, seed))
        check_int("batch_size", batch_size)
        run = self._function(**options)
        results = []
        for begin in range(0, len(texts), batch_size):
            batch = tf.constant(list(texts[begin : begin + batch_size]), dtype=tf.string)
            decoded = run(batch)
            results.append(
                Decoded(*(None if t is None else t.numpy() for t in decoded))  # type: ignore[arg-type]
            )
        return results

    def translate(
        self,
        texts: str | Sequence[str],
        *,
        beam_width: int = 1,
        n_best: int = 1,
        length_penalty: float = 0.0,
        max_length: int | None = None,
        max_length_ratio: float | None = None,
        temperature: float | None = None,
        top_k: int = 0,
        seed: int | None = None,
        batch_size: int = 256,
    ) -> Any:
        """Translates strings.

        Args:
            texts: str or sequence of str.
            beam_width: int. 1 is greedy search; more is beam search. Defaults to `1`.
            n_best: int. With 1, one string per input; with more, a list of `Hypothesis`
                per input, best first. Defaults to `1`.
            length_penalty: float ≥ 0. GNMT length-penalty alpha for beam search.
                Defaults to `0.0`.
            max_length: int or None. Maximum output tokens ([END] included).
                Defaults to the training target max length + 1.
            max_length_ratio: float or None. Also cap each output at
                `ceil(ratio * source tokens) + 1` tokens. Defaults to `None`.
            temperature: float or None. Sample the output (with `beam_width=1`) from
                softmax(logits / temperature) instead of searching. Defaults to `None`.
            top_k: int. With sampling, draw among the k most likely tokens (0 = all).
                Defaults to `0`.
            seed: int or None. Sampling seed, for reproducible samples. Defaults to `None`.
            batch_size: int. Inputs decoded together. Defaults to `256`.

        Returns:
            A str (for a str input) or a list of str; with `n_best > 1` lists of
            `Hypothesis` instead of strings.

        Raises:
            TypeError: `texts` is not a str or a sequence of str.
            ValueError: an option is out of range.

        Example:
        >>> translator.translate("March 3, 2021")  # doctest: +SKIP
        '2021-03-03'
        """
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise TypeError(
                    f"`texts` must be a str or a sequence of str. Item {index} is "
                    f"{type(item).__name__}: {item!r}"
                )
        batches = self.decode(
            items,
            beam_width=beam_width,
            n_best=n_best,
            length_penalty=length_penalty,
            max_length=max_length,
            max_length_ratio=max_length_ratio,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            batch_size=batch_size,
        )
        num_truncated = sum(int(batch.truncated.sum()) for batch in batches)
        if num_truncated:
            warnings.warn(
                f"{num_truncated} of {len(items)} inputs had more than max_source_length="
                f"{self.config.source_text.max_length} tokens (set when the model was trained) "
                "and were truncated before translation.",
                TruncationWarning,
                stacklevel=2,
            )
        results: list[Any] = []
        for batch in batches:
            for row in range(len(batch.outputs)):
                hyps = [
                    Hypothesis(
                        batch.outputs[row, k].decode("utf-8"),
                        float(batch.scores[row, k]),
                        float(batch.normalized_scores[row, k]),
                    )
                    for k in range(n_best)
                ]
                results.append(hyps[0].text if n_best == 1 else hyps)
        return results[0] if single else results

    def _check_options(self, beam_width, n_best, length_penalty, max_length) -> dict[str, Any]:
        check_int("beam_width", beam_width, maximum=256)
        check_int("n_best", n_best, maximum=beam_width)
        if (
            isinstance(length_penalty, bool)
            or not isinstance(length_penalty, (int, float))
            or not math.isfinite(length_penalty)
            or length_penalty < 0
        ):
            raise ValueError(
                f"`length_penalty` must be a finite number >= 0. Received: {length_penalty!r}"
            )
        if max_length is not None:
            check_int("max_length", max_length, maximum=10_000)
        return {
            "beam_width": beam_width,
            "n_best": n_best,
            "length_penalty": float(length_penalty),
            "max_length": max_length,
        }


def _check_sampling(beam_width, max_length_ratio, temperature, top_k, seed) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if max_length_ratio is not None:
        ok = isinstance(max_length_ratio, (int, float)) and not isinstance(max_length_ratio, bool)
        if not ok or not math.isfinite(max_length_ratio) or max_length_ratio <= 0:
            raise ValueError(
                f"`max_length_ratio` must be a positive number. Received: {max_length_ratio!r}"
            )
        options["max_length_ratio"] = float(max_length_ratio)
    if temperature is None:
        if top_k or seed is not None:
            raise ValueError("`top_k` and `seed` apply to sampling: also pass `temperature`.")
        return options
    ok = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
    if not ok or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"`temperature` must be a positive number. Received: {temperature!r}")
    if beam_width != 1:
        raise ValueError(
            "Sampling (`temperature`) draws one output per input; use beam_width=1. "
            f"Received: beam_width={beam_width}"
        )
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ValueError(f"`top_k` must be an integer >= 0. Received: top_k={top_k!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"`seed` must be an integer >= 0 or None. Received: seed={seed!r}")
    options.update(temperature=float(temperature), top_k=top_k, seed=seed)
    return options


def resolve_run_dir(path: str | Path) -> Path:
    """Finds the directory holding a model's files.

    Accepts a run directory, an exported base path (`saved_models/NAME`, whose newest
    numeric version is taken) or a version directory.

    Raises:
        FileNotFoundError: the path does not exist, or holds no model (names what is missing).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Model path not found: {path}")
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path} is a file; pass the model directory (a run directory or saved_models/NAME)."
        )
    if not (path / CONFIG_FILE).exists():
        versions = sorted(
            (int(child.name), child)
            for child in path.iterdir()
            if child.is_dir() and child.name.isdigit()
        )
        if versions:
            path = versions[-1][1]
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{path} is not a model directory: missing {', '.join(missing)}. A model directory "
            f"is written by `keras-seq2seq train` or `export` and holds {', '.join(RUN_FILES)}."
        )
    return path


def load(path: str | Path) -> Translator:
    """Loads a trained model for translation.

    Args:
        path: a run directory, an exported base path (newest version) or a version directory.

    Returns:
        Translator.

    Raises:
        FileNotFoundError: the directory or one of its files is missing.
        ValueError: a file is corrupt (named in the message).

    Example:
    >>> load("saved_models/dates").translate("March 3, 2021")  # doctest: +SKIP
    '2021-03-03'
    """
    run_dir = resolve_run_dir(path)
    config = RunConfig.load(run_dir / CONFIG_FILE)
    source = tokenizer_from_vocabulary(
        config.source_text, load_vocabulary(run_dir / SOURCE_VOCAB_FILE)
    )
    target = tokenizer_from_vocabulary(
        config.target_text, load_vocabulary(run_dir / TARGET_VOCAB_FILE)
    )
    for name, tokenizer, expected in (
        (SOURCE_VOCAB_FILE, source, config.model.source_vocabulary_size),
        (TARGET_VOCAB_FILE, target, config.model.target_vocabulary_size),
    ):
        if tokenizer.vocabulary_size != expected:
            raise ValueError(
                f"{run_dir / name} has {tokenizer.vocabulary_size} tokens but config.json "
                f"expects {expected}; the vocabulary does not belong to this model."
            )
    try:
        training = keras.saving.load_model(run_dir / MODEL_FILE, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises several types for a damaged archive.
        raise ValueError(f"Could not load {run_dir / MODEL_FILE}: {error}") from error
    if training.get_layer("source_embedding").dtype_policy.name != "float32":
        # Trained with mixed precision: translate in float32 (the weights are float32).
        float32 = build_seq2seq(config.model).training
        float32.set_weights(training.get_weights())
        training = float32
    encoder, decoder_step = build_inference_models(training, config.model)
    return Translator(Seq2SeqModels(training, encoder, decoder_step), source, target, config)
