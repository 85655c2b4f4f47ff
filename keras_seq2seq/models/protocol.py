"""The decoding protocol: the calls anything decodable answers.

An architecture, an ensemble of models and a model wrapped by a feature all decode the same
way, through these calls and nothing else:

```
state, context = model.encode(SourceBatch(source_ids, max_length))   # once per input
state, context = model.expand(state, context, beam_width)            # beam search only
output = model.step(tokens, state, context, time)                    # a StepOutput
state = model.reorder_beams(output.state, parent_rows)               # beams move
state = model.reorder(state, rows)                                   # inputs leave, tiling
```

`state` holds what changes from step to step (recurrent states, a key/value cache), one row
per hypothesis; `context` what every step reads but never changes (the encoder's memory and
its mask). Nothing outside a model's own module knows what either holds.
"""

from __future__ import annotations

import abc
from typing import Any, NamedTuple

import tensorflow as tf


class SourceBatch(NamedTuple):
    """What `encode` reads: the source ids and what the model's features need with them.

    Attributes:
        ids: int32 `[B, S]` source ids, right-padded with 0, [END] after each source.
        max_length: int. The most decoding steps that will follow (to size a cache).
        copy_ids: int32 `[B, S]` or None. The extended-vocabulary id of every source position
            (`keras_seq2seq.models.copying.source_batch` fills it for a model with copy
            attention; other models ignore it).

    Example:
    >>> SourceBatch(tf.constant([[5, 3]]), 10).max_length
    10
    """

    ids: Any
    max_length: Any
    copy_ids: Any = None


class StepOutput(NamedTuple):
    """What one decoding step returns.

    Attributes:
        log_probs: float32 `[N, V]` log-probabilities of the next token (a model with copy
            attention: `[N, V + S]`, its extended vocabulary).
        state: the new state, same structure and shapes as the state given.
        attention: float32 `[N, S]` attention weights of this step, or None.
        hidden: `[N, H]` the decoder output before the output projection, or None.

    Example:
    >>> StepOutput(tf.zeros([1, 4]), (), None, None).attention is None
    True
    """

    log_probs: Any
    state: Any
    attention: Any
    hidden: Any = None


def gather_rows(state: Any, rows: tf.Tensor) -> Any:
    """Every tensor of a nest with its rows taken in the order `rows` (axis 0).

    Example:
    >>> gather_rows({"h": tf.constant([[1.0], [2.0]])}, tf.constant([1, 1]))["h"].numpy()
    array([[2.],
           [2.]], dtype=float32)
    """
    return tf.nest.map_structure(lambda tensor: tf.gather(tensor, rows), state)


def repeat_rows(nest: Any, width: int | tf.Tensor) -> Any:
    """Every tensor of a nest with each row repeated `width` times (None stays None).

    Example:
    >>> repeat_rows((tf.constant([1, 2]),), 2)[0].numpy()
    array([1, 1, 2, 2], dtype=int32)
    """
    if nest is None:
        return None
    return tf.nest.map_structure(lambda tensor: tf.repeat(tensor, width, axis=0), nest)


class Decodable(abc.ABC):
    """Anything the decoders, scoring and export can run: `encode`, `step`, `expand`, `reorder`.

    Subclasses implement `encode` and `step`; `expand` and `reorder` work on any nest of
    tensors whose rows are hypotheses, and are overridden only by models whose state or
    context holds something else (an ensemble: one nest per member).

    Attributes:
        has_attention: bool. Whether `step` returns attention weights.
        context_per_input: bool. Whether `step` also takes the context from `encode` as it
            is, one row per input, while its tokens and state have `width` rows per input
            (rows `b * width ...` for input `b`; `step` reads `width` from the shapes). Beam
            search then skips `expand`ing the context, and the step reads each input's
            context once for all its hypotheses. Defaults to `False`.

    Example:
    >>> class Constant(Decodable):
    ...     def encode(self, batch):
    ...         return tf.zeros([tf.shape(batch.ids)[0], 1]), None
    ...     def step(self, tokens, state, context, time):
    ...         return StepOutput(tf.math.log(tf.fill([tf.shape(tokens)[0], 3], 1 / 3)), state,
    ...                           None)
    >>> state, context = Constant().encode(SourceBatch(tf.constant([[4, 3]]), 5))
    >>> Constant().step(tf.constant([1]), state, context, 0).log_probs.shape
    TensorShape([1, 3])
    """

    has_attention: bool = True
    context_per_input: bool = False

    @abc.abstractmethod
    def encode(self, batch: SourceBatch) -> tuple[Any, Any]:
        """Runs the encoder once per input.

        Args:
            batch: SourceBatch.

        Returns:
            `(state, context)`: the decoder's initial state (a nest of `[B, ...]` tensors that
            `step` updates) and the context every step reads but never changes (a nest of
            `[B, ...]` tensors, or None).
        """

    @abc.abstractmethod
    def step(self, tokens: tf.Tensor, state: Any, context: Any, time: tf.Tensor) -> StepOutput:
        """One decoding step for `N` hypotheses.

        Args:
            tokens: int32 `[N]`. Each hypothesis's previous token.
            state: the state from `encode` or the previous step (`N` rows).
            context: the context from `encode`, expanded to `N` rows by `expand`.
            time: int32 scalar. Index of the token being generated.

        Returns:
            StepOutput.
        """

    def expand(self, state: Any, context: Any, width: int | tf.Tensor) -> tuple[Any, Any]:
        """The state and context with each input's rows repeated `width` times (one per beam).

        Args:
            state: the state from `encode`, or None (the decoders tile the state themselves
                through `reorder`; only the context is then expanded).
            context: the context from `encode`, or None.
            width: int or int32 scalar tensor. Hypotheses per input.

        Returns:
            `(state, context)` with `B * width` rows.
        """
        return repeat_rows(state, width), repeat_rows(context, width)

    def reorder_beams(self, state: Any, indices: tf.Tensor) -> Any:
        """Beam search's reordering: `reorder` where every new row extends a hypothesis of
        its own input (`indices[n] // width == n // width`).

        A model may keep part of its state in place for such a reordering (the Transformer's
        cache); every other reordering (tiling, dropping inputs) goes through `reorder`.

        Args:
            state: the state of a step.
            indices: int32 `[N]`. Row of the old state that each new row comes from, a row
                of the same input.

        Returns:
            The reordered state.
        """
        return self.reorder(state, indices)

    def reorder(self, state: Any, indices: tf.Tensor) -> Any:
        """The state with its rows taken in the order `indices` (any rows: beam search's
        reordering, tiling for beams, dropping finished inputs).

        Args:
            state: the state of a step.
            indices: int32 `[N]`. Row of the old state that each new row comes from.

        Returns:
            The reordered state.
        """
        return gather_rows(state, indices)
