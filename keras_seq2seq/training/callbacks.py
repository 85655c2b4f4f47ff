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
    """Stops training when a wall-clock budget is spent, mid-epoch if need be.

    After each batch, training stops if one more batch (the mean batch time so far) and the
    epoch's end (validation and the epoch-end callbacks, as long as the last epoch's end took)
    would not fit. Keras then validates the part-epoch and ends it like a whole one (history,
    best-model checkpoint, epoch backup), so the budget's last minutes train instead of idling.
    The first epoch's end has not been timed when a budget runs out inside the first epoch:
    a budget shorter than one epoch may be passed by one validation. With `whole_epochs=True`
    training stops only between epochs, after the last epoch that the mean epoch time says
    fits. A resumed run (`fit` starting at a later epoch) gets the whole budget again and
    times only its own batches and epochs.

    Args:
        minutes: float. The budget, counted from the start of `fit`.
        whole_epochs: bool. Never cut an epoch short. Defaults to `False`.

    Attributes:
        stopped_epoch: int or None. The epoch in or after which the budget stopped training,
            when epochs were left to train (a run the same command can train on); `None`
            otherwise.

    Raises:
        ValueError: `minutes` is not a positive number.

    Example:
    >>> model.fit(data, epochs=100, callbacks=[TimeBudget(30)])  # doctest: +SKIP
    """

    def __init__(self, minutes: float, whole_epochs: bool = False):
        super().__init__()
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
            raise ValueError(f"`minutes` must be a positive number. Received: {minutes!r}")
        self.seconds = 60.0 * minutes
        self.whole_epochs = bool(whole_epochs)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        self.first_epoch: int | None = None
        self.epoch = 0
        self.stopped_epoch: int | None = None
        self.epoch_end_seconds = 0.0  # the last epoch's validation and epoch-end callbacks
        self._batch_started: float | None = None
        self._last_batch_ended: float | None = None
        self._timed_batches, self._batch_seconds = 0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = epoch  # > 0 when `fit` resumes a run
        elif self._last_batch_ended is not None:
            self.epoch_end_seconds = time.perf_counter() - self._last_batch_ended
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self._last_batch_ended = now
        if self._batch_started is None:
            return
        step = now - self._batch_started
        if self._timed_batches or self.epoch != self.first_epoch or batch > 0:
            # The run's first batch also traces the train step: not timed.
            self._timed_batches += 1
            self._batch_seconds += step
        mean = self._batch_seconds / self._timed_batches if self._timed_batches else step
        if not self.whole_epochs and now - self.started + mean + self.epoch_end_seconds > (
            self.seconds
        ):
            self._stop(self.epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return
        elapsed = time.perf_counter() - self.started
        if self.whole_epochs:
            needed = elapsed / (epoch + 1 - (self.first_epoch or 0))  # the mean epoch
        else:
            needed = self._batch_seconds / max(self._timed_batches, 1) + self.epoch_end_seconds
        if elapsed + needed > self.seconds:
            self._stop(epoch)

    def _stop(self, epoch: int) -> None:
        self.model.stop_training = True
        last = self.params is not None and epoch + 1 >= self.params.get("epochs", epoch + 2)
        if not last:
            self.stopped_epoch = epoch
