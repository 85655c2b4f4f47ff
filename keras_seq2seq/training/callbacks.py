"""Keras callbacks for training sequence-to-sequence models.

`DecodedMetricsCallback` decodes a validation subset with the model being trained (greedy or
beam search, in graph) and writes text-level scores into the epoch `logs`, where History,
TensorBoard, ModelCheckpoint and EarlyStopping read them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras

from keras_seq2seq.config import RunConfig
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.translator import Translator
from keras_seq2seq.evaluation.evaluate import check_metrics, score_decoded
from keras_seq2seq.evaluation.metrics import METRICS, default_metric_names, group_references
from keras_seq2seq.models import get_architecture
from keras_seq2seq.text.tokenizers import Tokenizer
from keras_seq2seq.validation import check_int


class DecodedMetricsCallback(keras.callbacks.Callback):
    """Decodes validation sources during `fit` and logs text metrics (`val_bleu`, ...).

    Every `every` epochs (and at the last epoch) the sources of `pairs` are decoded with the
    weights being trained, through inference models built from the training model's own
    layers, and the scores are added to the epoch `logs` as `prefix + name`: for the default
    metrics `val_exact_match`, `val_token_error_rate` and `val_bleu` (percent / 0–100 scale;
    `token_error_rate` counts characters for a char target tokenizer, whitespace tokens
    otherwise). Pairs sharing a source are scored against all of their targets.

    Keras calls callbacks in list order with one shared `logs` dict, so this callback must
    come *before* the callbacks that read its values (ModelCheckpoint, EarlyStopping,
    TensorBoard, CSVLogger); History is always called last and sees them. Keras cannot tell
    whether these metrics should go up or down, so pass the mode:
    `ModelCheckpoint(path, monitor="val_exact_match", mode="max", save_best_only=True)`,
    `EarlyStopping(monitor="val_token_error_rate", mode="min")`. With `every > 1` the keys
    are absent on the other epochs, which those callbacks skip (with a warning).

    `keras_seq2seq.training.fit.train(..., decoded_metrics_pairs=pairs)` adds this callback in
    the right place, with the run's tokenizers and config.

    Args:
        pairs: sequence of (source, target) str pairs to decode and score.
        source_tokenizer: Tokenizer of the source side (the one the model is trained with).
        target_tokenizer: Tokenizer of the target side.
        config: RunConfig of the model (its `model` part must describe the trained model).
        every: int. Decode every this many epochs. Defaults to `1`.
        max_examples: int. Decode at most this many sources (the first ones, after grouping
            references). Defaults to `200`.
        metrics: sequence of names from `keras_seq2seq.evaluation.metrics.METRIC_NAMES`. Defaults to
            the registry's `"training"` metrics: `("exact_match", "token_error_rate", "bleu")`.
        options: DecodeOptions or None. How to decode. Defaults to greedy search.
        batch_size: int. Sources decoded together. Defaults to `256`.
        prefix: str. Prepended to every logged name. Defaults to `"val_"`.
        **option_kwargs: DecodeOptions fields (`beam_width=4`, ...), when `options` is None.

    Raises:
        TypeError: an argument or option of the wrong type.
        ValueError: no pairs, a malformed pair, an unknown metric or an out-of-range option;
            at the start of training, a model that was not built with `config.model`.

    Example:
    >>> callback = DecodedMetricsCallback(
    ...     validation_pairs, source_tokenizer=source, target_tokenizer=target,
    ...     config=config)  # doctest: +SKIP
    >>> model.fit(data, epochs=10, callbacks=[
    ...     callback,
    ...     keras.callbacks.EarlyStopping(monitor="val_exact_match", mode="max"),
    ... ])  # doctest: +SKIP
    """

    def __init__(
        self,
        pairs: Sequence[tuple[str, str]],
        source_tokenizer: Tokenizer,
        target_tokenizer: Tokenizer,
        config: RunConfig,
        *,
        every: int = 1,
        max_examples: int = 200,
        metrics: Sequence[str] = default_metric_names("training"),
        options: DecodeOptions | None = None,
        batch_size: int = 256,
        prefix: str = "val_",
        **option_kwargs,
    ):
        super().__init__()
        check_int("every", every)
        check_int("max_examples", max_examples)
        check_int("batch_size", batch_size)
        self.options = DecodeOptions.coerce(options, **option_kwargs)
        if self.options.n_best != 1:
            raise ValueError(
                "The callback scores one output per source: leave `n_best` at 1. "
                f"Received: n_best={self.options.n_best}."
            )
        if not isinstance(config, RunConfig):
            raise TypeError(f"`config` must be a RunConfig. Received: {type(config).__name__}")
        for name, tokenizer in (
            ("source_tokenizer", source_tokenizer),
            ("target_tokenizer", target_tokenizer),
        ):
            if not isinstance(tokenizer, Tokenizer):
                raise TypeError(
                    f"`{name}` must be a keras_seq2seq Tokenizer. "
                    f"Received: {type(tokenizer).__name__}"
                )
        self.metric_names = check_metrics(metrics)
        sources, references = group_references(pairs)
        if not sources:
            raise ValueError(
                "`pairs` is empty: the callback needs (source, target) pairs to decode."
            )
        self.sources = sources[:max_examples]
        self.references = references[:max_examples]
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.config = config
        self.every = every
        self.batch_size = batch_size
        self.prefix = prefix
        self.translator: Translator | None = None

    def on_train_begin(self, logs=None):
        # The architecture wraps the model being trained: its inference pieces share the
        # training model's layers, so they decode with the current weights, copying nothing.
        architecture = get_architecture(self.config.model.architecture)
        self.translator = Translator(
            architecture(self.config.model, self.model),
            self.source_tokenizer,
            self.target_tokenizer,
            self.config,
        )

    def compute_scores(self) -> dict[str, float]:
        """Decodes the sources now and returns the logged values (`{"val_bleu": ..., ...}`)."""
        if self.translator is None:
            self.on_train_begin()
        hypotheses = self.translator.translate(
            self.sources, self.options, batch_size=self.batch_size
        )
        report = score_decoded(
            hypotheses,
            self.references,
            metrics=self.metric_names,
            target_tokenizer=self.config.target_text.tokenizer,
        )
        return {
            self.prefix + key: float(report[key])
            for name in self.metric_names
            for key in METRICS[name].keys
        }

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs") if self.params else False
        if (epoch + 1) % self.every and not last:
            return
        if logs is not None:
            logs.update(self.compute_scores())


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the last epoch that fits in a wall-clock budget.

    After each epoch, training stops if the mean epoch time so far would take the next epoch
    past the budget, so no epoch is cut off half-way (its validation and checkpoint would be
    lost) and training ends by the budget (unless one epoch alone is longer). A resumed run
    (`fit` starting at a later epoch) gets the whole budget again and times only its own
    epochs.

    Args:
        minutes: float. The budget, counted from the start of `fit`.

    Example:
    >>> model.fit(data, epochs=100, callbacks=[TimeBudget(30)])  # doctest: +SKIP
    """

    def __init__(self, minutes: float):
        super().__init__()
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
            raise ValueError(f"`minutes` must be a positive number. Received: {minutes!r}")
        self.seconds = 60.0 * minutes
        self.started = 0.0
        self.first_epoch: int | None = None
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        self.first_epoch = None
        self.stopped_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = epoch  # > 0 when `fit` resumes a run

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.started
        per_epoch = elapsed / (epoch + 1 - (self.first_epoch or 0))
        last = self.params is not None and epoch + 1 >= self.params.get("epochs", epoch + 2)
        if elapsed + per_epoch > self.seconds and not last:
            self.model.stop_training = True
            self.stopped_epoch = epoch
