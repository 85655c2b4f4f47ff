"""Ensembles: several trained models decoded as one, log-probabilities averaged every step.

`Ensemble(members)` is itself an `Architecture` for decoding: `encode` runs every member's
encoder, `step` every member's step and averages their log-probabilities (and their attention
weights, when all have some), and beam search reorders every member's state with the beams.
So greedy search, sampling, beam search, scoring and export work on an ensemble exactly as
on one model, inside one graph; the members may be of different architectures, as long as
they share the source and target vocabularies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from keras_seq2seq.models.base import Architecture


class Ensemble(Architecture):
    """Several trained models decoded as one (log-probabilities averaged at every step).

    Args:
        members: sequence of Architecture. At least two, with the same target vocabulary
            size (the caller checks that the vocabularies themselves agree).

    Raises:
        ValueError: fewer than two members, or their vocabulary sizes differ.

    Example:
    >>> ensemble = Ensemble([load_run(a).model, load_run(b).model])  # doctest: +SKIP
    """

    name = "ensemble"

    def __init__(self, members: Sequence[Architecture]):
        members = list(members)
        if len(members) < 2:
            raise ValueError(f"An ensemble needs at least two models. Received {len(members)}.")
        for member in members:
            if not isinstance(member, Architecture):
                raise TypeError(f"Ensemble members must be Architectures: {member!r}")
        sizes = {
            (m.config.source_vocabulary_size, m.config.target_vocabulary_size) for m in members
        }
        if len(sizes) > 1:
            raise ValueError(
                "Ensemble members must share the source and target vocabularies; their "
                f"(source, target) sizes differ: {sorted(sizes)}."
            )
        if len({m.copies for m in members}) > 1:
            raise ValueError(
                "Ensemble members must all have copy attention or all be without it: their "
                "output vocabularies differ (a copying model predicts over the target "
                "vocabulary extended by the source positions)."
            )
        self.members = members
        self.config = members[0].config
        self.options = None
        self.training = members[0].training

    @classmethod
    def build_training_model(cls, config, options, dtype) -> keras.Model:
        raise TypeError("An ensemble is made of trained models; it has no training model.")

    @property
    def has_attention(self) -> bool:
        return all(member.has_attention for member in self.members)

    @property
    def keras_models(self) -> tuple[keras.Model, ...]:
        return tuple(model for member in self.members for model in member.keras_models)

    def float32_copy(self) -> Ensemble:
        return Ensemble([member.float32_copy() for member in self.members])

    @property
    def copies(self) -> bool:
        return self.members[0].copies

    def encode(self, source_ids: tf.Tensor, max_length: int, copy_ids=None) -> tuple[Any, Any]:
        extra = (copy_ids,) if self.copies else ()
        encoded = [member.encode(source_ids, max_length, *extra) for member in self.members]
        return tuple(state for state, _ in encoded), tuple(context for _, context in encoded)

    def step(self, tokens, state, context, time):
        outputs = [
            member.step(tokens, member_state, member_context, time)
            for member, member_state, member_context in zip(
                self.members, state, context, strict=True
            )
        ]
        log_probs = tf.add_n([lp for lp, _, _ in outputs]) / len(outputs)
        attentions = [attention for _, _, attention in outputs]
        attention = None
        if all(a is not None for a in attentions):
            attention = tf.add_n([tf.cast(a, tf.float32) for a in attentions]) / len(attentions)
        return log_probs, tuple(new_state for _, new_state, _ in outputs), attention

    def tile_context(self, context: Any, beam_width: int | tf.Tensor) -> Any:
        return tuple(
            member.tile_context(member_context, beam_width)
            for member, member_context in zip(self.members, context, strict=True)
        )

    def reorder_state(self, state: Any, rows: tf.Tensor) -> Any:
        return tuple(
            member.reorder_state(member_state, rows)
            for member, member_state in zip(self.members, state, strict=True)
        )

    def teacher_forced_log_probs(self, source_ids, target_input_ids, copy_ids=None) -> tf.Tensor:
        """Averaged log-probabilities `[B, T, V]` of the members under teacher forcing."""
        return tf.add_n([
            m.teacher_forced_log_probs(source_ids, target_input_ids, copy_ids)
            for m in self.members
        ]) / len(self.members)  # fmt: skip
