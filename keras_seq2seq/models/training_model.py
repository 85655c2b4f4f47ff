"""The Keras model class of every architecture's training model.

`TrainingModel` is a Functional `keras.Model` that `fit` trains the same way with or without a
tf.distribute strategy (see its docstring); `keras_seq2seq.training.distribute` prepares it
for a strategy. It lives with the models because every architecture builds one; the old path
`keras_seq2seq.training.distribute.TrainingModel` still imports it.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _cluster(strategy: tf.distribute.Strategy) -> dict:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return {}
    return resolver.cluster_spec().as_dict()


def num_workers(strategy: tf.distribute.Strategy) -> int:
    """Number of worker processes (1 for the default and mirrored strategies)."""
    cluster = _cluster(strategy)
    return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class TrainingModel(keras.Model):
    """`keras.Model` for training models, fitted the same way with or without tf.distribute.

    Build it with the Functional API, `TrainingModel(inputs, outputs, name=...)`; it saves and
    loads like a Functional model (with `keras_seq2seq` imported). It differs from
    `keras.Model` only under a tf.distribute strategy, where Keras 3 (3.15) `fit`:

    1. builds the metric and optimizer state from a first batch read from a fresh iterator,
       which advances the seeded per-epoch reshuffle: every epoch then sees another order than
       a run without a strategy;
    2. on several workers (`MultiWorkerMirroredStrategy`), averages that batch across workers
       only to read its shapes, which fails for nested `((source, target_in), target_out)`
       batches (keras-team/keras#20585, #20329);
    3. on several workers, averages each step's scalar loss and metrics with
       `strategy.reduce("MEAN", value, axis=0)`, which fails on a scalar ("Invalid reduction
       dimension 0 for input with 0 dimensions").

    `prepare_model` builds the state from the dataset's element spec instead (no batch is
    read), and on several workers `train_step` / `test_step` (the public extension points of
    `fit`) return scalars as 1-element vectors, whose mean over axis 0 is the scalar Keras
    expects.

    Example:
    >>> model = TrainingModel(inputs, outputs, name="seq2seq")  # doctest: +SKIP
    """

    _built_for_distribution = False

    def build_for_distribution(self, element_spec) -> None:
        """Builds the model, metric and optimizer state from `element_spec` (no batch read)."""
        # Private Keras API: `_symbolic_build` is what `fit` calls to build this state, and
        # `_maybe_symbolic_build` is where `fit` reads the first batch (1. and 2. above). No
        # public hook builds compiled metrics from a spec. tests/test_distribute.py checks
        # both still exist with these signatures and fails loudly when Keras changes them.
        self._symbolic_build(data_batch=element_spec)
        self._built_for_distribution = True

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._built_for_distribution:
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _several_workers(self) -> bool:
        return num_workers(self.distribute_strategy) > 1

    def train_step(self, data):
        logs = super().train_step(data)
        return _scalars_as_vectors(logs) if self._several_workers() else logs

    def test_step(self, data):
        logs = super().test_step(data)
        return _scalars_as_vectors(logs) if self._several_workers() else logs


def _scalars_as_vectors(logs):
    return tf.nest.map_structure(
        lambda value: tf.reshape(value, [1]) if value.shape.rank == 0 else value, logs
    )
