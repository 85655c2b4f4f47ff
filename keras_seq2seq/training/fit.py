"""Training: fit tokenizers, build the model, compile and run `model.fit` into a run directory.

The run directory's layout is described in `keras_seq2seq.training.run_dir`. With
`strategy="multi-worker"` only the chief writes RUN_DIR; the other workers write the same files
under `RUN_DIR/.worker-N/`, removed when training ends (see `keras_seq2seq.training.distribute`).
"""

from __future__ import annotations

import datetime
import json
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from keras_seq2seq.atomic_write import write_json
from keras_seq2seq.config import (
    MONITORS,
    ModelConfig,
    RunConfig,
    TextConfig,
    TrainConfig,
    precision_policy,
)
from keras_seq2seq.data.pipeline import encode_pairs, make_dataset, split_pairs
from keras_seq2seq.evaluation.metrics import default_metric_names
from keras_seq2seq.models import get_architecture
from keras_seq2seq.models.copying import copy_vocabulary_for
from keras_seq2seq.progress import Progress
from keras_seq2seq.run_layout import (
    BACKUP_DIR,
    CHECKPOINTS_DIR,
    HISTORY_FILE,
    LOGS_DIR,
    MODEL_FILE,
    SOURCE_VOCAB_FILE,
    TRAINING_FILE,
)
from keras_seq2seq.serving.model_card import pairs_sha256
from keras_seq2seq.text.tokenizers import Tokenizer, fit_tokenizer
from keras_seq2seq.training import distribute
from keras_seq2seq.training.averaging import KeepCheckpoints
from keras_seq2seq.training.callbacks import DecodedMetricsCallback, TimeBudget
from keras_seq2seq.training.cpu import SpeedWarning, bfloat16_advice
from keras_seq2seq.training.losses import MaskedAccuracy, MaskedSparseCrossentropy
from keras_seq2seq.training.run_dir import read_tokenizers, save_run, training_lock
from keras_seq2seq.training.schedules import make_learning_rate, plateau_callback


class TrainResult(NamedTuple):
    """What `train` returns."""

    run_dir: Path
    config: RunConfig
    history: dict[str, list[float]]
    num_train_examples: int
    num_validation_examples: int


def compile_model(
    model: keras.Model, train_config: TrainConfig, *, vocabulary_size: int | None = None
) -> None:
    """Compiles a training model with the masked loss, masked accuracy and clipped Adam.

    With float16 mixed precision the optimizer is wrapped in a
    `keras.optimizers.LossScaleOptimizer` (dynamic loss scaling, so float16 gradients
    neither underflow nor overflow).

    Args:
        model: keras.Model. The training model of an architecture.
        train_config: TrainConfig. Learning rate and its schedule, clipping, label
            smoothing, mixed precision, XLA.
        vocabulary_size: int or None. For a copying model (log-probabilities over the target
            vocabulary extended by source positions): the target vocabulary, over which label
            smoothing spreads its mass. Defaults to `None` (a model that outputs logits).
    """
    optimizer = keras.optimizers.Adam(
        learning_rate=make_learning_rate(train_config),
        clipnorm=train_config.clipnorm or None,
    )
    if precision_policy(train_config.mixed_precision) == "mixed_float16":
        # bfloat16 has float32's exponent range: only float16 needs loss scaling.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer,
        loss=MaskedSparseCrossentropy(
            label_smoothing=train_config.label_smoothing,
            vocabulary_size=vocabulary_size,
            from_log_probs=vocabulary_size is not None,
        ),
        metrics=[MaskedAccuracy()],
        # Off by default: XLA recompiles for every new padded shape, which costs far more
        # than it saves with length-bucketed batches on CPU.
        jit_compile=train_config.jit_compile,
    )


class _HistoryWriter(keras.callbacks.Callback):
    """Appends each epoch's logs to history.json, so an interrupted run keeps its history."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        history = read_history(self.path)
        for key, value in (logs or {}).items():
            values = history.setdefault(key, [])
            del values[epoch:]
            values.append(float(value))
        write_json(self.path, history)  # a process killed mid-write keeps the last history


def read_history(path: str | Path) -> dict[str, list[float]]:
    """Reads a history.json (an empty dict when there is none yet)."""
    path = Path(path)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


SHARED_TEXT_SETTINGS = (
    "tokenizer",
    "lowercase",
    "max_vocabulary_size",
    "min_count",
    "sentencepiece_type",
    "wordpiece_learner",
)
"""TextConfig settings that both sides of a shared vocabulary must have alike."""


def check_shared_vocabulary(source_text: TextConfig, target_text: TextConfig) -> bool:
    """Whether the two sides share one vocabulary; checks that they agree on it.

    Raises:
        ValueError: only one side asks for a shared vocabulary, or the sides differ in a
            setting one vocabulary cannot have twice (tokenizer, lower-casing, size).
    """
    if source_text.shared_vocabulary != target_text.shared_vocabulary:
        raise ValueError(
            "`shared_vocabulary` must be set on both sides (TextConfig of the source and of "
            "the target), or on neither; --shared-vocabulary sets both."
        )
    if not source_text.shared_vocabulary:
        return False
    for name in SHARED_TEXT_SETTINGS:
        if getattr(source_text, name) != getattr(target_text, name):
            raise ValueError(
                f"A shared vocabulary needs the same `{name}` on both sides. Received: "
                f"source {getattr(source_text, name)!r}, target {getattr(target_text, name)!r}."
            )
    return True


def _prepare_tokenizers(
    run_dir: Path,
    source_text: TextConfig,
    target_text: TextConfig,
    train_pairs: Sequence[tuple[str, str]],
    report: Progress,
    given: tuple[Tokenizer, Tokenizer] | None = None,
) -> tuple[Tokenizer, Tokenizer]:
    if given is not None:  # fixed vocabularies (a teacher's, for token-level distillation)
        save_run(run_dir, tokenizers=given)
        # Read back rather than reuse: seeding the run (`set_random_seed`) clears TensorFlow's
        # resources, a SentencePiece model's among them, so the given objects may be dead.
        return read_tokenizers(run_dir, source_text, target_text)
    shared = check_shared_vocabulary(source_text, target_text)
    if (run_dir / BACKUP_DIR).is_dir() and (run_dir / SOURCE_VOCAB_FILE).is_file():
        # Resuming an interrupted run: keep the vocabularies the saved weights were trained with.
        return read_tokenizers(run_dir, source_text, target_text)
    sources, targets = [p[0] for p in train_pairs], [p[1] for p in train_pairs]
    if shared:
        with report.stage(f"Learning one {_describe(source_text)} for both sides"):
            source = target = fit_tokenizer(source_text, sources + targets)
    else:
        with report.stage(f"Learning the source {_describe(source_text)}"):
            source = fit_tokenizer(source_text, sources)
        with report.stage(f"Learning the target {_describe(target_text)}"):
            target = fit_tokenizer(target_text, targets)
    save_run(run_dir, tokenizers=(source, target))
    return source, target


def _describe(text: TextConfig) -> str:
    if text.tokenizer in ("char", "word"):
        return f"{text.tokenizer} vocabulary"
    kind = text.tokenizer
    if kind == "sentencepiece":
        kind += f" {text.sentencepiece_type}"
    return f"{kind} vocabulary (up to {text.max_vocabulary_size:,} tokens)"


def _checked_model_options(model_options: dict[str, Any] | None) -> dict[str, Any]:
    """The model options, checked before any data is read (vocabulary sizes come later)."""
    options = dict(model_options or {})
    for reserved in ("source_vocabulary_size", "target_vocabulary_size"):
        if reserved in options:
            raise ValueError(f"`{reserved}` is set from the data; leave it out of `model_options`.")
    probe = ModelConfig(source_vocabulary_size=5, target_vocabulary_size=5, **options)
    get_architecture(probe.architecture).parse_options(probe)
    return options


def _model_config(options: dict[str, Any], source: Tokenizer, target: Tokenizer) -> ModelConfig:
    """The model config for the learned vocabularies, checked by its architecture."""
    config = ModelConfig(source.vocabulary_size, target.vocabulary_size, **options)
    architecture = get_architecture(config.architecture)
    architecture.check_vocabularies(
        architecture.parse_options(config), source.vocabulary, target.vocabulary
    )
    return config


def _datasets(
    train_pairs, validation_pairs, source_tok, target_tok, config: RunConfig
) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
    """The training and validation datasets, with the sharding policy for `model.fit`."""
    encode = {
        "source_tokenizer": source_tok,
        "target_tokenizer": target_tok,
        "max_source_length": config.source_text.max_length,
        "max_target_length": config.target_text.max_length,
    }
    encode["copy"] = copy_vocabulary_for(
        config.model, source_tok, target_tok, config.source_text.max_length
    )
    batching = {"batch_size": config.train.batch_size, "bucket": config.train.bucket}
    train_data = make_dataset(
        encode_pairs(train_pairs, **encode), seed=config.train.seed, **batching
    )
    validation_data = None
    if validation_pairs:
        validation_data = distribute.shard_across_workers(
            make_dataset(encode_pairs(validation_pairs, **encode), shuffle=False, **batching)
        )
    return distribute.shard_across_workers(train_data), validation_data


def _mode(monitor: str) -> str:
    return MONITORS.get(monitor, "min")


def _decoded_metrics(config: RunConfig, pairs, validation_pairs):
    """The pairs the decoded-metric callback scores, if any (needed to monitor one)."""
    if pairs is None and config.train.monitor != "val_loss":
        if not validation_pairs:
            raise ValueError(
                f"`monitor={config.train.monitor!r}` decodes the validation pairs, and there are "
                "none: give validation pairs or a validation fraction, or monitor 'val_loss'."
            )
        return validation_pairs
    return pairs


def _decoded_settings(config: RunConfig) -> dict[str, Any]:
    """Callback settings: the monitored metric among those logged, on 1,000 sources."""
    monitored = config.train.monitor.removeprefix("val_")
    if monitored == "loss":
        return {}
    metrics = list(default_metric_names("training"))
    if monitored not in metrics:
        metrics.append(monitored)
    return {"metrics": metrics, "max_examples": 1000}


def _fit_callbacks(
    write_dir: Path,
    strategy: tf.distribute.Strategy,
    config: RunConfig,
    extra_callbacks: list[keras.callbacks.Callback],
    monitor: str,
) -> list[keras.callbacks.Callback]:
    """The callbacks of `fit`, in the order they must run (they share one `logs` dict)."""
    fit_callbacks: list[keras.callbacks.Callback] = [
        # `_train_into` deletes the backup when the run is over, and keeps it when the time
        # budget stopped the run, so the same command resumes it.
        keras.callbacks.BackupAndRestore(str(write_dir / BACKUP_DIR), delete_checkpoint=False),
        distribute.SyncWithChief(strategy),
        # Callbacks share one `logs` dict in list order: metrics added by the extra callbacks
        # must be there before the checkpoint, history and early stopping read it.
        *extra_callbacks,
        keras.callbacks.ModelCheckpoint(
            str(write_dir / MODEL_FILE),
            monitor=monitor,
            mode=_mode(monitor),
            save_best_only=True,
            initial_value_threshold=_best_before_resuming(write_dir, monitor),
        ),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.TensorBoard(str(write_dir / LOGS_DIR), write_graph=False),
        _HistoryWriter(write_dir / HISTORY_FILE),
    ]
    plateau = plateau_callback(config.train, monitor)
    if plateau is not None:
        fit_callbacks.append(plateau)
    if config.train.time_budget_minutes:
        fit_callbacks.append(TimeBudget(config.train.time_budget_minutes))
    if config.train.keep_checkpoints:
        fit_callbacks.append(
            KeepCheckpoints(write_dir / CHECKPOINTS_DIR, config.train.keep_checkpoints)
        )
    if config.train.patience:
        fit_callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode=_mode(monitor), patience=config.train.patience
            )
        )
    return fit_callbacks


def _best_before_resuming(write_dir: Path, monitor: str) -> float | None:
    """The best `monitor` value of the epochs a resumed run already has (None: a new run).

    So that the first epoch after resuming replaces the saved best model only if it is better.
    """
    metadata = write_dir / BACKUP_DIR / "training_metadata.json"
    if not metadata.is_file():
        return None
    epochs_done = int(json.loads(metadata.read_text(encoding="utf-8")).get("epoch", 0))
    values = read_history(write_dir / HISTORY_FILE).get(monitor, [])[:epochs_done]
    if not values or not (write_dir / MODEL_FILE).is_file():
        return None
    return max(values) if _mode(monitor) == "max" else min(values)


def _stopped_by_budget(fit_callbacks: list[keras.callbacks.Callback]) -> bool:
    return any(
        isinstance(callback, TimeBudget) and callback.stopped_epoch is not None
        for callback in fit_callbacks
    )


def _check_batch_size(train_config: TrainConfig, strategy: tf.distribute.Strategy) -> None:
    if train_config.batch_size < strategy.num_replicas_in_sync:
        raise ValueError(
            f"`batch_size` is the global batch, split over {strategy.num_replicas_in_sync} "
            f"replicas: it must be at least that. Received: batch_size={train_config.batch_size}"
        )


class _Job(NamedTuple):
    """What `train` trains on and with (checked)."""

    train_pairs: Sequence[tuple[str, str]]
    validation_pairs: Sequence[tuple[str, str]]
    model_options: dict[str, Any]
    source_text: TextConfig
    target_text: TextConfig
    train_config: TrainConfig
    tokenizers: tuple[Tokenizer, Tokenizer] | None = None
    wrap_model: Callable[[keras.Model], keras.Model] | None = None


def _train_into(
    write_dir: Path,
    job: _Job,
    strategy: tf.distribute.Strategy,
    verbose: int | str,
    extra_callbacks: list[keras.callbacks.Callback],
    decoded_metrics_pairs: Sequence[tuple[str, str]] | None,
) -> tuple[RunConfig, dict[str, list[float]]]:
    """Learns the vocabularies, builds, compiles and fits the model into `write_dir`."""
    train_pairs, validation_pairs, options, source_text, target_text, train_config = job[:6]
    keras.utils.set_random_seed(train_config.seed)
    report = Progress(enabled=verbose != 0)
    source_tok, target_tok = _prepare_tokenizers(
        write_dir, source_text, target_text, train_pairs, report, job.tokenizers
    )
    # Every worker builds its vocabularies from its own copy of the data (deterministic: ties
    # are broken by the token): check that the workers' vocabularies agree before training on them.
    distribute.check_same_data(
        strategy,
        distribute.data_fingerprint(train_pairs, [source_tok.vocabulary, target_tok.vocabulary]),
    )
    model_config = _model_config(options, source_tok, target_tok)
    architecture = get_architecture(model_config.architecture)
    config = RunConfig(model_config, source_text, target_text, train_config)
    save_run(write_dir, config=config)
    with report.stage(f"Tokenizing {len(train_pairs) + len(validation_pairs or ()):,} pairs"):
        train_data, validation_data = _datasets(
            train_pairs, validation_pairs, source_tok, target_tok, config
        )
    # Variables (weights, optimizer slots, metrics) are created in the strategy's scope.
    with strategy.scope():
        model = architecture.build(model_config, mixed_precision=train_config.mixed_precision)
        training = job.wrap_model(model.training) if job.wrap_model else model.training
        compile_model(
            training,
            train_config,
            vocabulary_size=model_config.target_vocabulary_size
            if model.head.extends_vocabulary
            else None,
        )
    distribute.prepare_model(training, strategy, train_data)
    decoded = _decoded_metrics(config, decoded_metrics_pairs, validation_pairs)
    if decoded is not None:
        extra_callbacks.insert(0, DecodedMetricsCallback(decoded, source_tok, target_tok, config,
                                                         **_decoded_settings(config)))  # fmt: skip
    monitor = train_config.monitor if validation_data is not None else "loss"
    fit_callbacks = _fit_callbacks(write_dir, strategy, config, extra_callbacks, monitor)
    try:
        _fit(training, train_data, validation_data, fit_callbacks, config.train, verbose)
    except KeyboardInterrupt:
        raise TrainingInterruptedError(write_dir, read_history(write_dir / HISTORY_FILE)) from None
    if _stopped_by_budget(fit_callbacks):
        report.note(
            f"The time budget ({train_config.time_budget_minutes:g} min) ended training; "
            f"{write_dir}/{BACKUP_DIR} holds the last epoch's weights and optimizer state: "
            "run the same command again to train on from there."
        )
    else:
        shutil.rmtree(write_dir / BACKUP_DIR, ignore_errors=True)
    if not (write_dir / MODEL_FILE).is_file():
        # Every epoch had a NaN loss: keep what there is so the run can be inspected.
        save_run(write_dir, model=model.training)
    history = read_history(write_dir / HISTORY_FILE)
    return config, history


def _record_training(
    write_dir: Path,
    job: _Job,
    history: dict,
    data_source: str | None,
    seconds: float,
    resumed: bool,
) -> None:
    """Writes `training.json` for the model card (see `keras_seq2seq.serving.model_card`).

    `seconds` adds up the calls of a resumed run that each wrote a `training.json` (a run
    the time budget stopped); `resumable` says whether the backup of the last epoch is kept
    (the same command trains on).
    """
    import keras_seq2seq

    if resumed and (write_dir / TRAINING_FILE).is_file():
        earlier = json.loads((write_dir / TRAINING_FILE).read_text(encoding="utf-8"))
        seconds += float(earlier.get("seconds", 0.0))
    write_json(
        write_dir / TRAINING_FILE,
        {
            "data": {
                "source": data_source,
                "train_pairs": len(job.train_pairs),
                "validation_pairs": len(job.validation_pairs or ()),
                "sha256": pairs_sha256(job.train_pairs),
            },
            "epochs": job.train_config.epochs,
            "epochs_run": len(history.get("loss", [])),
            "seconds": round(seconds, 1),
            "resumable": (write_dir / BACKUP_DIR).is_dir(),
            "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "versions": {
                "keras_seq2seq": keras_seq2seq.__version__,
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
            },
        },
    )


class TrainingInterruptedError(KeyboardInterrupt):
    """Training was stopped (Ctrl-C); the message says what the backup holds and how to resume."""

    def __init__(self, run_dir: Path, history: dict[str, list[float]]):
        done = len(history.get("loss", []))
        if (run_dir / BACKUP_DIR).is_dir() and done:
            message = (
                f"Training stopped during epoch {done + 1}. {run_dir}/{BACKUP_DIR} holds the "
                f"weights and optimizer state after epoch {done}: run the same command again "
                f"to resume from there (epoch {done + 1} starts over)."
            )
        else:
            message = (
                "Training stopped before the first epoch ended; nothing was backed up, so the "
                "same command starts over."
            )
        super().__init__(message)


def train(
    train_pairs: Sequence[tuple[str, str]],
    output_dir: str | Path,
    *,
    validation_pairs: Sequence[tuple[str, str]] | None = None,
    model_options: dict[str, Any] | None = None,
    source_text: TextConfig | None = None,
    target_text: TextConfig | None = None,
    train_config: TrainConfig | None = None,
    verbose: int | str = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    decoded_metrics_pairs: Sequence[tuple[str, str]] | None = None,
    strategy: str | tf.distribute.Strategy = "default",
    data_source: str | None = None,
    tokenizers: tuple[Tokenizer, Tokenizer] | None = None,
    wrap_model: Callable[[keras.Model], keras.Model] | None = None,
) -> TrainResult:
    """Trains a sequence-to-sequence model with `model.fit` and writes a run directory.

    Running the same call again on an interrupted run directory resumes from the last
    epoch backup (`keras.callbacks.BackupAndRestore`) and finishes the configured epochs. A
    run that `train_config.time_budget_minutes` stopped keeps that backup too
    (`training.json` says `"resumable": true`): the same call trains on for another budget.

    Args:
        train_pairs: sequence of (source, target) strings.
        output_dir: str or Path. The run directory (created if needed).
        validation_pairs: sequence of (source, target) or None. When None, a
            `train_config.validation_fraction` part of `train_pairs` is held out (by seed).
        model_options: dict of `ModelConfig` settings other than the vocabulary sizes:
            `architecture`, `units`, `num_layers`, `dropout` and the architecture's options
            (e.g. `{"units": 128, "attention": "additive"}`). Defaults to `ModelConfig`'s.
        source_text: TextConfig of the source side. Defaults to `TextConfig()` (characters).
        target_text: TextConfig of the target side. Defaults to `TextConfig()` (characters).
        train_config: TrainConfig. Defaults to `TrainConfig()`.
        verbose: int or "auto". Keras progress output on stdout: `0` silent, `1` a progress
            bar, `2` one line per epoch. `"auto"`: the bar when stdout is a terminal (or a
            Jupyter kernel), one line per epoch when it goes to a file or a pipe (no
            carriage returns or escape codes in logs); see `default_verbosity`. Defaults to
            `"auto"`.
        callbacks: extra Keras callbacks. They run before the checkpoint, TensorBoard,
            history and early-stopping callbacks, so values they add to `logs` are saved too.
        decoded_metrics_pairs: sequence of (source, target) or None. When given, a
            `DecodedMetricsCallback` decodes (up to 200 of) them after every epoch and logs
            `val_exact_match`, `val_token_error_rate` and `val_bleu`. Defaults to `None`.
        strategy: str or tf.distribute.Strategy. `"default"` (one device), `"mirrored"` (every
            GPU of this machine) or `"multi-worker"` (every worker of the `TF_CONFIG` cluster;
            run the same call on each worker), or a strategy instance; see
            `keras_seq2seq.training.distribute.get_strategy`. `train_config.batch_size` is the
            global batch, split over all replicas. Defaults to `"default"`.
        data_source: str or None. Where the pairs came from (a builtin dataset's name or a
            file path), for the model card (`training.json`). Defaults to `None`.
        tokenizers: (source, target) Tokenizers or None. Train with these vocabularies
            instead of learning them from the pairs (e.g. a teacher's, for token-level
            distillation); `source_text` and `target_text` must be the settings they were
            made with. Defaults to `None` (learned).
        wrap_model: callable or None. Takes the architecture's training model and returns
            the `keras.Model` that is compiled and fitted in its place, sharing its layers
            (e.g. `keras_seq2seq.training.distill_loss.DistillationModel`, whose loss adds a
            teacher's); its `save` must write the training model itself. Defaults to `None`.

    Returns:
        TrainResult with the run directory, config and history.

    Raises:
        TypeError: an option of the wrong type.
        ValueError: invalid options (an unknown architecture or option included), a
            `verbose` other than 0, 1, 2 or "auto", no training pairs, an unknown strategy,
            a multi-worker run without `TF_CONFIG` or whose workers have different data, a
            batch smaller than the number of replicas, or tied embeddings without a shared
            vocabulary.
        RuntimeError: `strategy="multi-worker"` asked for after TensorFlow already ran in
            this process (create the strategy first and pass it instead).

    Example:
    >>> import keras_seq2seq as ks
    >>> pairs = [("abc", "cba"), ("ab", "ba")] * 50
    >>> result = ks.train(pairs, "/tmp/reverse", model_options={"units": 16},
    ...                   train_config=ks.TrainConfig(epochs=1))  # doctest: +SKIP
    >>> result.run_dir, result.num_train_examples  # doctest: +SKIP
    (PosixPath('/tmp/reverse'), 95)
    """
    verbose = _checked_verbosity(verbose)
    # First: a multi-worker strategy can only be created before TensorFlow runs anything.
    strategy = distribute.get_strategy(strategy)
    train_config = train_config or TrainConfig()
    _check_batch_size(train_config, strategy)
    options = _checked_model_options(model_options)
    if train_config.mixed_precision == "bfloat16" and (advice := bfloat16_advice()):
        warnings.warn(advice, SpeedWarning, stacklevel=2)
    if len(train_pairs) == 0:
        raise ValueError("No training pairs: the dataset is empty.")
    if validation_pairs is None:
        train_pairs, validation_pairs = split_pairs(
            train_pairs, train_config.validation_fraction, seed=train_config.seed
        )
    run_dir = Path(output_dir)
    write_dir = distribute.worker_dir(run_dir, strategy)  # run_dir, except on non-chief workers

    source_text, target_text = source_text or TextConfig(), target_text or TextConfig()
    if options.get("tie_embeddings") and not check_shared_vocabulary(source_text, target_text):
        # Before any vocabulary is learned: learning two would take minutes and then fail.
        raise ValueError(
            "`tie_embeddings` shares one embedding matrix between the source and the target, "
            "so it needs one vocabulary for both sides: add --shared-vocabulary "
            "(TextConfig(shared_vocabulary=True) on both sides)."
        )
    job = _Job(
        train_pairs, validation_pairs, options, source_text, target_text, train_config,
        tokenizers, wrap_model,
    )  # fmt: skip
    started = time.perf_counter()
    with training_lock(write_dir):
        resumed = (write_dir / BACKUP_DIR).is_dir()
        config, history = _train_into(
            write_dir, job, strategy, verbose, list(callbacks), decoded_metrics_pairs
        )
        seconds = time.perf_counter() - started
        _record_training(write_dir, job, history, data_source, seconds, resumed)
    if write_dir != run_dir:
        shutil.rmtree(write_dir)  # a non-chief worker's copy of the run directory
    return TrainResult(
        run_dir=run_dir,
        config=config,
        history=history,
        num_train_examples=len(train_pairs),
        num_validation_examples=len(validation_pairs or ()),
    )


def _fit(training, train_data, validation_data, fit_callbacks, train_config, verbose) -> None:
    with warnings.catch_warnings():
        # Length-bucketed batches have no known count, so Keras warns at the end of epoch 1.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        training.fit(
            train_data,
            validation_data=validation_data,
            epochs=train_config.epochs,
            callbacks=fit_callbacks,
            verbose=verbose,
            shuffle=False,  # the dataset reshuffles itself every epoch (seeded)
        )


def default_verbosity() -> int:
    """Keras's `verbose` for `fit`: the progress bar on a terminal, one line per epoch otherwise.

    Keras draws its bar with backspaces and carriage returns on `sys.stdout` whether or not
    it is a terminal, which fills a redirected log with escape codes; one line per epoch
    reads well there. A Jupyter kernel displays the bar, so it gets the bar too.

    Returns:
        int. `1` (progress bar) when `sys.stdout` is a terminal or a Jupyter kernel runs,
        `2` (one line per epoch) otherwise.

    Example:
    >>> default_verbosity() in (1, 2)
    True
    """
    try:
        terminal = sys.stdout is not None and sys.stdout.isatty()
    except (AttributeError, ValueError):  # a stream without isatty, or a closed one
        terminal = False
    return 1 if terminal or "ipykernel" in sys.modules else 2


def _checked_verbosity(verbose: int | str) -> int:
    """`verbose` as Keras takes it, with `"auto"` resolved by `default_verbosity`."""
    if verbose == "auto":
        return default_verbosity()
    if isinstance(verbose, int) and verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(
        f'`verbose` must be 0 (silent), 1 (progress bar), 2 (one line per epoch) or "auto". '
        f"Received: verbose={verbose!r}."
    )
