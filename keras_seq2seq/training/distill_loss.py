"""Token-level distillation: the student's loss mixes cross-entropy with the KL divergence to
a frozen teacher's per-step distribution, computed by teacher forcing in every training step.

`DistillationModel` is the student's training model (the same layers, so the same weights)
with `compute_loss` overridden, the public extension point of `fit`:

    loss = (1 - kd_weight) · cross-entropy(reference) + kd_weight · KL(teacher ‖ student)

The KL divergence is summed over the vocabulary and averaged over the non-padding target
positions, like the cross-entropy (`MaskedSparseCrossentropy`). An ensemble teacher's
distribution is the mean of its members' probabilities. Saving the model saves the student
alone: the run directory's `model.keras` stays a plain student model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import tensorflow as tf
from keras import ops

from keras_seq2seq.models import Architecture
from keras_seq2seq.text.vocabulary import PAD_ID
from keras_seq2seq.training.distribute import TrainingModel


class Teacher:
    """A frozen teacher (one model or an ensemble) giving per-step log-probabilities.

    Args:
        members: sequence of Architecture. The teacher models, without copy attention and
            with the same vocabularies (the caller checks the vocabularies themselves).

    Raises:
        ValueError: no members, a member with copy attention, or members whose vocabulary
            sizes differ.

    Example:
    >>> teacher = Teacher([load_run("runs/teacher").model])  # doctest: +SKIP
    >>> teacher.log_probs(source_ids, target_input_ids).shape  # doctest: +SKIP
    TensorShape([32, 12, 40])
    """

    def __init__(self, members: Sequence[Architecture]):
        self.members = list(members)
        if not self.members:
            raise ValueError("A teacher needs at least one model.")
        for member in self.members:
            if member.head.extends_vocabulary:
                raise ValueError(
                    "Token-level distillation compares the teacher's and the student's "
                    "distributions over the target vocabulary, and a teacher with copy "
                    "attention predicts over source positions too: use sequence-level "
                    "distillation (mode='sequence') with this teacher."
                )
        sizes = {m.config.target_vocabulary_size for m in self.members}
        if len(sizes) > 1:
            raise ValueError(
                f"The teachers' target vocabularies differ in size ({sorted(sizes)}): an "
                "ensemble teacher needs one vocabulary."
            )
        self.vocabulary_size = sizes.pop()

    def log_probs(self, source_ids: tf.Tensor, target_input_ids: tf.Tensor) -> tf.Tensor:
        """float32 `[B, T, V]` log of the mean of the members' next-token probabilities."""
        member_log_probs = [
            member.teacher_forced_log_probs(source_ids, target_input_ids) for member in self.members
        ]
        if len(member_log_probs) == 1:
            return member_log_probs[0]
        stacked = tf.stack(member_log_probs, axis=0)
        return tf.reduce_logsumexp(stacked, axis=0) - math.log(len(member_log_probs))


def masked_kl_divergence(
    y_true: tf.Tensor, teacher_log_probs: tf.Tensor, student_logits: tf.Tensor
) -> tf.Tensor:
    """KL(teacher ‖ student) summed over the vocabulary, averaged over non-padding positions.

    Args:
        y_true: int `[B, T]` target ids; positions holding `[PAD]` (0) are left out.
        teacher_log_probs: float `[B, T, V]` teacher log-probabilities.
        student_logits: float `[B, T, V]` student logits.

    Returns:
        float32 scalar. Under a tf.distribute strategy, the replica's share of the
        global-batch mean (as `MaskedSparseCrossentropy`), so the replicas' sum is the mean.

    Example:
    >>> logits = tf.constant([[[0.0, 1.0, 2.0]]])
    >>> float(masked_kl_divergence([[1]], tf.nn.log_softmax(logits), logits))
    0.0
    """
    teacher = tf.cast(teacher_log_probs, tf.float32)
    student = tf.nn.log_softmax(tf.cast(student_logits, tf.float32), axis=-1)
    probs = tf.exp(teacher)
    # Where the teacher gives a token no mass, that token adds nothing (0 · log 0 = 0).
    terms = tf.where(probs > 0.0, probs * (teacher - student), 0.0)
    per_position = tf.reduce_sum(terms, axis=-1)
    mask = ops.cast(ops.not_equal(ops.cast(y_true, "int32"), PAD_ID), "float32")
    count = ops.sum(mask)
    replica = tf.distribute.get_replica_context()
    if replica is not None and replica.num_replicas_in_sync > 1:
        count = replica.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(count))
    return ops.sum(per_position * mask) / ops.maximum(count, 1.0)


class DistillationModel(TrainingModel):
    """The student's training model, with a loss that adds the teacher's distribution.

    It shares the student's layers (a Functional model over the same inputs and outputs),
    so training it trains the student; the teacher stays frozen and untracked (no gradient,
    not in the checkpoints). `save` writes the student alone.

    Args:
        student: keras.Model. The student architecture's training model (logits).
        teacher: Teacher. Same source and target vocabularies as the student.
        kd_weight: float in [0, 1]. Weight of the KL term; `0` is plain cross-entropy.

    Raises:
        ValueError: `kd_weight` outside [0, 1], or the student's and the teacher's output
            sizes differ.

    Example:
    >>> trainer = DistillationModel(model.training, Teacher([teacher]), kd_weight=0.5)
    ... # doctest: +SKIP
    """

    def __init__(self, student: keras.Model, teacher: Teacher, kd_weight: float):
        super().__init__(student.inputs, student.outputs, name=student.name)
        self.kd_weight = check_kd_weight(kd_weight)
        student_size = student.outputs[0].shape[-1]
        if student_size != teacher.vocabulary_size:
            raise ValueError(
                f"The student predicts over {student_size} target tokens and the teacher over "
                f"{teacher.vocabulary_size}: token-level distillation needs the teacher's "
                "target vocabulary for the student."
            )
        # A plain object attribute: Keras tracks neither, so the teacher's weights are not
        # trained and not written into the backups, and the student is saved on its own.
        self._distillation = _Frozen(student, teacher)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
        source_ids, target_input_ids = x[0], x[1]
        teacher_log_probs = tf.stop_gradient(
            self._distillation.teacher.log_probs(source_ids, target_input_ids)
        )
        divergence = masked_kl_divergence(y, teacher_log_probs, y_pred)
        return (1.0 - self.kd_weight) * loss + self.kd_weight * divergence

    def save(self, filepath, *args, **kwargs):
        """Saves the student's training model (a plain model that loads without the teacher)."""
        return self._distillation.student.save(filepath, *args, **kwargs)


class _Frozen:
    """Holds the student's own model and the teacher out of Keras's tracking."""

    def __init__(self, student: keras.Model, teacher: Teacher):
        self.student = student
        self.teacher = teacher


def check_kd_weight(kd_weight: float) -> float:
    """`kd_weight` as a float, checked to be in [0, 1].

    Raises:
        TypeError: not a number.
        ValueError: outside [0, 1].

    Example:
    >>> check_kd_weight(0.5)
    0.5
    """
    if isinstance(kd_weight, bool) or not isinstance(kd_weight, (int, float)):
        raise TypeError(f"`kd_weight` must be a number in [0, 1]. Received: {kd_weight!r}")
    if not 0.0 <= kd_weight <= 1.0:
        raise ValueError(
            "`kd_weight` must be in [0, 1]: the weight of the KL divergence to the teacher "
            f"(0: cross-entropy only, 1: the teacher only). Received: kd_weight={kd_weight}"
        )
    return float(kd_weight)
