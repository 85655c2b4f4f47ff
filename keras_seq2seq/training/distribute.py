"""tf.distribute for `train`: pick a strategy by name, shard the data, find the chief.

`keras_seq2seq.training.fit.train(..., strategy=...)` uses these pieces:

- `get_strategy("default" | "mirrored" | "multi-worker")`: no distribution, the GPUs of one
  machine (`tf.distribute.MirroredStrategy`), or every worker of a `TF_CONFIG` cluster
  (`tf.distribute.MultiWorkerMirroredStrategy`).
- `shard_across_workers(dataset)`: the sharding policy that keeps the global batches of a
  multi-worker run identical to a one-machine run.
- `is_chief` / `worker_dir`: only the chief writes the run directory; the other workers write
  the same files under `RUN_DIR/.worker-N/`, which `train` removes when training ends.
- `TrainingModel`, `prepare_model`, `SyncWithChief` and `check_same_data`: what Keras 3
  `model.fit` needs to train under a strategy exactly as without one, and to keep several
  workers in step (see their docstrings).

Batch sizes are global: `batch_size=64` on 2 workers with 1 GPU each puts 32 examples on each
GPU per step, so the training math (and the learning rate) does not change with the number of
machines.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf

from keras_seq2seq.models.training_model import TrainingModel, num_workers
from keras_seq2seq.modes import STRATEGY_NAMES

_TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
    '"task": {"type": "worker", "index": 0}}\''
)

# A process can configure collective ops once: every `train(strategy="multi-worker")` of a
# process shares one strategy.
_multi_worker_strategy: tf.distribute.Strategy | None = None


def _check_tf_config() -> None:
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        raise ValueError(
            "strategy='multi-worker' needs the TF_CONFIG environment variable: the cluster's "
            "addresses and this process's task, set on every worker before it starts, e.g. "
            f'{_TF_CONFIG_EXAMPLE} on the first host and the same with "index": 1 on the '
            "second. For the GPUs of one machine use strategy='mirrored'."
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"TF_CONFIG is not valid JSON ({error}). Expected e.g. {_TF_CONFIG_EXAMPLE}"
        ) from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError(
            f'TF_CONFIG has no "cluster" of worker addresses. Received: {raw}. '
            f"Expected e.g. {_TF_CONFIG_EXAMPLE}"
        )
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(
            f'TF_CONFIG has no "task" with a "type" and an "index" (which worker this process '
            f"is). Received: {raw}. Expected e.g. {_TF_CONFIG_EXAMPLE}"
        )
    addresses = cluster.get(task["type"])
    if not isinstance(addresses, list) or not 0 <= task["index"] < len(addresses):
        raise ValueError(
            f"TF_CONFIG's task {task} is not in its cluster {cluster}: the index must point at "
            f"one of the {task['type']!r} addresses."
        )


def _create_multi_worker_strategy() -> tf.distribute.Strategy:
    global _multi_worker_strategy
    if _multi_worker_strategy is None:
        _check_tf_config()
        try:
            _multi_worker_strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as error:
            if "program startup" not in str(error):
                raise
            raise RuntimeError(
                "strategy='multi-worker' must be created before TensorFlow runs anything in "
                "this process (collective ops are configured at startup). Create it first "
                "thing, `strategy = tf.distribute.MultiWorkerMirroredStrategy()`, and pass it "
                "as `train(..., strategy=strategy)`."
            ) from error
    return _multi_worker_strategy


def get_strategy(strategy: str | tf.distribute.Strategy = "default") -> tf.distribute.Strategy:
    """Returns the `tf.distribute.Strategy` named by `strategy` (or `strategy` itself).

    Args:
        strategy: str or tf.distribute.Strategy. `"default"`: no distribution (one device, as
            plain Keras). `"mirrored"`: `tf.distribute.MirroredStrategy` over every GPU of this
            machine (the CPU when there is none). `"multi-worker"`:
            `tf.distribute.MultiWorkerMirroredStrategy` over the cluster that the `TF_CONFIG`
            environment variable describes; every worker runs the same program with its own
            `TF_CONFIG` task. A strategy instance is returned as is. Defaults to `"default"`.

    Returns:
        tf.distribute.Strategy.

    Raises:
        ValueError: an unknown name, or `"multi-worker"` without a usable `TF_CONFIG`.
        TypeError: neither a name nor a strategy.
        RuntimeError: `"multi-worker"` asked for after TensorFlow already ran in this process.

    Example:
    >>> get_strategy("mirrored").num_replicas_in_sync >= 1  # doctest: +SKIP
    True
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if not isinstance(strategy, str):
        raise TypeError(
            f"`strategy` must be one of {', '.join(map(repr, STRATEGY_NAMES))} or a "
            f"tf.distribute.Strategy. Received: {type(strategy).__name__}"
        )
    if strategy == "default":
        return tf.distribute.get_strategy()
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if strategy == "multi-worker":
        return _create_multi_worker_strategy()
    raise ValueError(
        f"Unknown `strategy`. Expected one of {', '.join(map(repr, STRATEGY_NAMES))} or a "
        f"tf.distribute.Strategy. Received: strategy={strategy!r}"
    )


def _task(strategy: tf.distribute.Strategy) -> tuple[str | None, int | None, dict]:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return None, None, {}
    return resolver.task_type, resolver.task_id, resolver.cluster_spec().as_dict()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run directory (as in the TF multi-worker guide).

    The chief is the `"chief"` task when the cluster has one, else worker 0; a process outside
    any cluster is its own chief.

    Example:
    >>> is_chief(tf.distribute.get_strategy())
    True
    """
    task_type, task_id, cluster = _task(strategy)
    return (
        task_type is None
        or task_type == "chief"
        or (task_type == "worker" and task_id == 0 and "chief" not in cluster)
    )


def worker_dir(run_dir: str | Path, strategy: tf.distribute.Strategy) -> Path:
    """Where this process writes: `run_dir` on the chief, `run_dir/.TASK-N` on the others.

    As in the TF multi-worker guide, the other workers still run every checkpoint and logging
    callback (saving may take part in collective ops, which need every worker), but what they
    write is thrown away: `train` removes their directory when training ends. It is kept after
    a crash, because their `BackupAndRestore` state is in it.

    Example:
    >>> worker_dir("runs/x", tf.distribute.get_strategy())
    PosixPath('runs/x')
    """
    run_dir = Path(run_dir)
    if is_chief(strategy):
        return run_dir
    task_type, task_id, _ = _task(strategy)
    return run_dir / f".{task_type}-{task_id}"


def shard_across_workers(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Sets the auto-shard policy that `model.fit` applies when it distributes `dataset`.

    Args:
        dataset: tf.data.Dataset of global batches (from `make_dataset`).

    Returns:
        tf.data.Dataset with `AutoShardPolicy.DATA`.

    Example:
    >>> ds = shard_across_workers(tf.data.Dataset.range(4).batch(2))
    """
    options = tf.data.Options()
    # Our datasets come from in-memory tensors, not files, so FILE (and AUTO, which warns and
    # falls back) has nothing to split. DATA makes every worker run the same seeded pipeline
    # and keep its own slice of each global batch: together the workers train on exactly the
    # batches (same order, same length buckets, same padding) that one machine would, and all
    # of them run the same number of steps. OFF with an explicit `shard()` before batching
    # would give each worker its own shuffle and its own buckets: a different data order from
    # a one-machine run, and possibly a different number of batches per worker (a worker
    # with one batch more waits forever for the others). Reading the whole dataset on every
    # worker costs nothing here: it is already in memory.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def prepare_model(model: keras.Model, strategy: tf.distribute.Strategy, dataset) -> None:
    """Builds a compiled model's state before `fit` under a tf.distribute strategy.

    See `TrainingModel` for why. Without a strategy (the default one) nothing is done: Keras
    builds the state when it traces the train step.

    Args:
        model: TrainingModel, compiled inside `strategy.scope()`.
        strategy: tf.distribute.Strategy the model was built in.
        dataset: tf.data.Dataset the model will be fitted on.

    Raises:
        TypeError: a non-default strategy and a model that is not a `TrainingModel`.

    Example:
    >>> prepare_model(model.training, strategy, train_data)  # doctest: +SKIP
    """
    if strategy is tf.distribute.get_strategy():
        return  # no distribution
    if not isinstance(model, TrainingModel):
        raise TypeError(
            "Training under a tf.distribute strategy needs the architecture's training model "
            "to be a keras_seq2seq.training.distribute.TrainingModel (build it with "
            f"`TrainingModel(inputs, outputs)`). Received: {type(model).__name__}"
        )
    with strategy.scope():
        model.build_for_distribution(dataset.element_spec)


def _from_chief(strategy: tf.distribute.Strategy, value, chief: bool) -> tf.Tensor:
    # A SUM over workers where only the chief contributes: its value, on every worker.
    value = tf.convert_to_tensor(value)
    mine = tf.cast(value, tf.float64) * (1.0 if chief else 0.0)
    return tf.cast(strategy.reduce(tf.distribute.ReduceOp.SUM, mine, axis=None), value.dtype)


class SyncWithChief(keras.callbacks.Callback):
    """After `BackupAndRestore`, gives every worker the chief's restored epoch and weights.

    Each worker restores its own backup; after a crash during an end-of-epoch save, or with
    a lost disk, they can differ by an epoch, and workers that resume from different weights
    would train on silently. Like `tf.keras`' multi-worker `BackupAndRestore` (everyone reads
    the chief's checkpoint), the chief's state wins; this works without a shared file system.
    Place it right after `BackupAndRestore`.

    Args:
        strategy: tf.distribute.Strategy of the model (a no-op on one worker).

    Example:
    >>> callbacks = [keras.callbacks.BackupAndRestore(backup_dir),
    ...              SyncWithChief(strategy)]  # doctest: +SKIP
    """

    def __init__(self, strategy: tf.distribute.Strategy):
        super().__init__()
        self.strategy = strategy

    def on_train_begin(self, logs=None):
        if num_workers(self.strategy) == 1:
            return
        chief = is_chief(self.strategy)
        # Private Keras API: `_initial_epoch` is where BackupAndRestore tells `fit` to resume
        # (keras/src/callbacks/backup_and_restore.py); there is no public way to change it.
        # tests/test_distribute.py checks that BackupAndRestore still sets it.
        epoch = _from_chief(self.strategy, float(self.model._initial_epoch or 0), chief)
        self.model._initial_epoch = int(epoch.numpy())
        variables = list(self.model.weights)
        if self.model.optimizer is not None:
            variables += list(self.model.optimizer.variables)
        for variable in variables:
            variable.assign(_from_chief(self.strategy, variable.value, chief))


def data_fingerprint(
    pairs: Sequence[tuple[str, str]], vocabularies: Sequence[Sequence[str]]
) -> str:
    """A hash of the training pairs and vocabularies (what every worker must agree on).

    Example:
    >>> len(data_fingerprint([("ab", "ba")], [["a", "b"]]))
    64
    """
    digest = hashlib.sha256()
    for source, target in pairs:
        digest.update(f"{source}\t{target}\n".encode())
    for vocabulary in vocabularies:
        digest.update(b"\0" + "\n".join(vocabulary).encode())
    return digest.hexdigest()


def check_same_data(strategy: tf.distribute.Strategy, fingerprint: str) -> None:
    """Raises on every worker when the workers' `data_fingerprint`s differ.

    With DATA sharding each worker slices the global batches of its *own* copy of the data:
    versions that differ (another file, another `--max-examples`, another seed) would train on
    mismatched batches without any error.

    Raises:
        ValueError: the workers do not all have the same training data and vocabularies.

    Example:
    >>> check_same_data(tf.distribute.get_strategy(), "0" * 64)  # one worker: nothing to do
    """
    if num_workers(strategy) == 1:
        return
    # 16-bit pieces of the hash are exact in float64; the spread over workers is zero on all
    # of them or on none, so every worker raises (no worker is left waiting for the others).
    pieces = tf.constant([int(fingerprint[i : i + 4], 16) for i in range(0, 32, 4)], tf.float64)
    mean = strategy.reduce(tf.distribute.ReduceOp.MEAN, pieces, axis=None)
    spread = strategy.reduce(
        tf.distribute.ReduceOp.SUM, tf.reduce_sum(tf.square(pieces - mean)), axis=None
    )
    if float(spread) != 0.0:
        raise ValueError(
            "The workers do not have the same training data and vocabularies: every worker "
            "must read the same dataset with the same options (--max-examples, --seed, "
            "validation split). Check the data path and arguments on each host."
        )
