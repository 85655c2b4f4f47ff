"""Masked loss and metric for teacher-forced sequence outputs ([PAD]=0 is ignored)."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from keras_seq2seq.text.vocabulary import PAD_ID


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class MaskedSparseCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy from logits, averaged over non-padding tokens.

    Args:
        label_smoothing: float in [0, 1). Mass spread uniformly over the vocabulary.
            Defaults to `0.0`.
        vocabulary_size: int or None. Spread the smoothing mass over the first this many
            outputs only (a copying model's target vocabulary, without the source
            positions). Defaults to `None` (all outputs).
        from_log_probs: bool. The predictions are log-probabilities already (a copying
            model's), not logits. Defaults to `False`.
        name: str. Defaults to `"masked_sparse_crossentropy"`.

    Example:
    >>> loss = MaskedSparseCrossentropy()
    >>> float(loss([[4, 0]], [[[0.0] * 4 + [9.0], [0.0] * 5]])) < 0.01
    True
    """

    def __init__(
        self,
        label_smoothing: float = 0.0,
        vocabulary_size: int | None = None,
        from_log_probs: bool = False,
        name="masked_sparse_crossentropy",
        **kw,
    ):
        # `call` already divides by the number of real tokens, so the reduction is a plain sum
        # (and stays right whether or not Keras also applies the output mask).
        kw["reduction"] = "sum"
        super().__init__(name=name, **kw)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"`label_smoothing` must be in [0, 1). Received: label_smoothing={label_smoothing}"
            )
        self.label_smoothing = float(label_smoothing)
        self.vocabulary_size = None if vocabulary_size is None else int(vocabulary_size)
        self.from_log_probs = bool(from_log_probs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        log_probs = ops.cast(y_pred, "float32")
        if not self.from_log_probs:
            log_probs = tf.nn.log_softmax(log_probs, axis=-1)
        # A batched gather and a split, not take_along_axis and a slice: over a large
        # vocabulary their gradients cost several times more (see benchmarks/loss_speed.py).
        nll = -tf.gather(log_probs, y_true, batch_dims=y_true.shape.rank)
        if self.label_smoothing:
            generated = log_probs
            if self.vocabulary_size is not None:
                generated = tf.split(log_probs, [self.vocabulary_size, -1], axis=-1)[0]
            smooth = -ops.mean(generated, axis=-1)
            nll = (1.0 - self.label_smoothing) * nll + self.label_smoothing * smooth
        mask = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")
        count = ops.sum(mask)
        replica = tf.distribute.get_replica_context()
        if replica is not None and replica.num_replicas_in_sync > 1:
            # Inside a distributed train/test step each replica holds a slice of the global
            # batch, and the replicas' gradients are summed. Dividing by the token count of
            # the *whole* batch makes that sum the single-device mean, however the batch was
            # split (a mean per replica would weigh a replica's tokens by its own count, and
            # Keras 3 divides only its mean-reduced losses by the number of replicas, not a
            # "sum" one). The logged loss, which Keras multiplies back by the number of
            # replicas and averages over them, is the single-device value too.
            count = replica.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(count))
        return nll * mask / ops.maximum(count, 1.0)

    def get_config(self):
        return {
            **super().get_config(),
            "label_smoothing": self.label_smoothing,
            "vocabulary_size": self.vocabulary_size,
            "from_log_probs": self.from_log_probs,
        }


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class MaskedAccuracy(keras.metrics.Metric):
    """Token accuracy over non-padding positions.

    Example:
    >>> metric = MaskedAccuracy()
    >>> metric.update_state([[4, 0]], [[[0.0] * 4 + [9.0], [9.0] + [0.0] * 4]])
    >>> float(metric.result())
    1.0
    """

    def __init__(self, name="masked_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        mask = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")
        hits = ops.cast(ops.equal(predicted, y_true), "float32") * mask
        self.correct.assign_add(ops.sum(hits))
        self.total.assign_add(ops.sum(mask))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)
