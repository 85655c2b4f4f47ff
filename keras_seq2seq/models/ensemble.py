"""Ensembles: several trained models decoded as one, log-probabilities averaged every step.

`Ensemble(members)` implements the decoding protocol (`keras_seq2seq.models.protocol`):
`encode` runs every member's encoder, `step` every member's step and averages their
log-probabilities (and their attention weights, when all have some), `expand` and `reorder`
go to every member's state and context. So greedy search, sampling, beam search, scoring and
export work on an ensemble exactly as on one model, inside one graph; the members may be of
different architectures, as long as they share the source and target vocabularies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from keras_seq2seq.models.base import Architecture
from keras_seq2seq.models.protocol import Decodable, SourceBatch, StepOutput


class Ensemble(Decodable):
    """Several trained models decoded as one (log-probabilities averaged at every step).

    Args:
        members: sequence of Architecture. At least two, with the same target vocabulary
            size (the caller checks that the vocabularies themselves agree).

    Raises:
        ValueError: fewer than two members, or their vocabulary sizes differ.
        TypeError: a member is not an Architecture.

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
        if len({m.head.extends_vocabulary for m in members}) > 1:
            raise ValueError(
                "Ensemble members must all have copy attention or all be without it: their "
                "output vocabularies differ (a copying model predicts over the target "
                "vocabulary extended by the source positions)."
            )
        self.members = members

    @property
    def config(self):
        """The first member's ModelConfig (the members share their vocabularies)."""
        return self.members[0].config

    @property
    def head(self):
        """The members' output head (they all extend the vocabulary or none does)."""
        return self.members[0].head

    @property
    def has_attention(self) -> bool:
        return all(member.has_attention for member in self.members)

    @property
    def keras_models(self) -> tuple[keras.Model, ...]:
        """Every member's Keras models."""
        return tuple(model for member in self.members for model in member.keras_models)

    def float32_copy(self) -> Ensemble:
        """The ensemble of the members computing in float32."""
        return Ensemble([member.float32_copy() for member in self.members])

    def encode(self, batch: SourceBatch) -> tuple[Any, Any]:
        encoded = [member.encode(batch) for member in self.members]
        return tuple(state for state, _ in encoded), tuple(context for _, context in encoded)

    def step(self, tokens, state, context, time) -> StepOutput:
        outputs = [
            member.step(tokens, member_state, member_context, time)
            for member, member_state, member_context in zip(
                self.members, state, context, strict=True
            )
        ]
        log_probs = tf.add_n([output.log_probs for output in outputs]) / len(outputs)
        attentions = [output.attention for output in outputs]
        attention = None
        if all(a is not None for a in attentions):
            attention = tf.add_n([tf.cast(a, tf.float32) for a in attentions]) / len(attentions)
        return StepOutput(log_probs, tuple(output.state for output in outputs), attention)

    def expand(self, state: Any, context: Any, width: int | tf.Tensor) -> tuple[Any, Any]:
        states = [None] * len(self.members) if state is None else state
        expanded = [
            member.expand(member_state, member_context, width)
            for member, member_state, member_context in zip(
                self.members, states, context, strict=True
            )
        ]
        new_state = None if state is None else tuple(s for s, _ in expanded)
        return new_state, tuple(c for _, c in expanded)

    def reorder(self, state: Any, indices: tf.Tensor) -> Any:
        return tuple(
            member.reorder(member_state, indices)
            for member, member_state in zip(self.members, state, strict=True)
        )

    def teacher_forced_log_probs(self, source_ids, target_input_ids, copy_ids=None) -> tf.Tensor:
        """Averaged log-probabilities `[B, T, V]` of the members under teacher forcing."""
        return tf.add_n([
            m.teacher_forced_log_probs(source_ids, target_input_ids, copy_ids)
            for m in self.members
        ]) / len(self.members)  # fmt: skip
