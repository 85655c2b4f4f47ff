"""Pieces shared by the decoders: the step protocol, result type and argument checks.

The step protocol. Every decoder drives one function

    step_fn(tokens, state, time) -> StepOutput(log_probs, new_state, attention, hidden)

(`keras_seq2seq.models.protocol.StepOutput`; a plain triple `(log_probs, new_state,
attention)` is read the same way):

- `tokens`: int32 `[N]`, the previous token of each hypothesis (`start_id` at time 0);
- `state`: a nest of tensors with leading dimension `N` (recurrent states, a key/value cache
  preallocated to the maximum length, ...); `new_state` has the same structure and shapes;
- `time`: int32 scalar, the index of the token being generated (0, 1, ...);
- `log_probs`: float `[N, vocabulary_size]`, already log-softmaxed;
- `attention`: float `[N, source_length]` weights of this step, or `None`. The decoders collect
  them per output token when they are given.

Beam search reorders the state rows with the beams through `reorder_fn(state, rows)`
(a model's `reorder`; default: `tf.gather` of every tensor along axis 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import tensorflow as tf

from keras_seq2seq.models.protocol import StepOutput, gather_rows
from keras_seq2seq.validation import check_int, check_number

__all__ = ["StepOutput", "check_int", "check_number", "gather_rows"]

PAD_ID = 0
"""Token id written after a sequence has ended (the reserved [PAD] id)."""

StepFn = Callable[[tf.Tensor, Any, tf.Tensor], Any]
"""`step_fn(tokens, state, time) -> StepOutput` (or a `(log_probs, state, attention)` triple)."""
ReorderFn = Callable[[Any, tf.Tensor], Any]


class DecodeResult(NamedTuple):
    """Output of `greedy_search` and `sample_search`.

    Attributes:
        ids: int32 tensor of shape `[batch, steps]`. Generated tokens, [END] included where it
            was emitted, `0` ([PAD]) after a sequence ended. `steps` is the number of decoding
            steps actually run (at most `max_length`).
        lengths: int32 tensor of shape `[batch]`. Generated tokens per sequence, [END] included.
        scores: float32 tensor of shape `[batch]`. Sum of the model's log-probabilities of the
            generated tokens.
        attention: float32 tensor of shape `[batch, steps, source_length]` with the attention
            weights of every step (zeros after the end), or `None` when the step function
            returns no attention.
    """

    ids: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor
    attention: tf.Tensor | None


def check_common_args(
    step_fn: Any, start_id: Any, end_id: Any, max_length: Any
) -> tuple[int, int, int]:
    """Checks the arguments every decoder takes and returns the ids and `max_length` as ints."""
    if not callable(step_fn):
        raise TypeError(
            "`step_fn` must be a callable `step_fn(tokens, state, time) -> (log_probs, "
            f"new_state, attention)`. Received: step_fn={step_fn!r} of type "
            f"{type(step_fn).__name__}."
        )
    start_id = check_int("start_id", start_id, minimum=0, description="a non-negative integer")
    end_id = check_int("end_id", end_id, minimum=0, description="a non-negative integer")
    if end_id == PAD_ID:
        raise ValueError(
            f"`end_id` must differ from the padding id {PAD_ID}, which fills the positions "
            f"after a sequence ended. Received: end_id={end_id}."
        )
    max_length = check_int("max_length", max_length)
    return start_id, end_id, max_length


def prepare_state(initial_state: Any) -> tuple[Any, tf.Tensor]:
    """Converts the state to tensors and returns it with its (dynamic) batch size."""
    state = tf.nest.map_structure(tf.convert_to_tensor, initial_state)
    flat = tf.nest.flatten(state)
    if not flat:
        raise ValueError(
            "`initial_state` must contain at least one tensor with a leading batch dimension. "
            f"Received: initial_state={initial_state!r}."
        )
    for tensor in flat:
        if tensor.shape.rank == 0:
            raise ValueError(
                "Every tensor in `initial_state` needs a leading batch dimension. "
                f"Received a scalar: {tensor!r}."
            )
    static_sizes = {t.shape[0] for t in flat if t.shape.rank is not None} - {None}
    if len(static_sizes) > 1:
        raise ValueError(
            "Every tensor in `initial_state` must have the same leading (batch) dimension. "
            f"Received leading dimensions {sorted(static_sizes)}."
        )
    return state, tf.shape(flat[0], out_type=tf.int32)[0]


def sequence_caps(max_length: int, max_lengths: Any, batch_size: tf.Tensor) -> tf.Tensor:
    """Returns the int32 [batch] number of steps each sequence may take."""
    if max_lengths is None:
        return tf.fill([batch_size], max_length)
    max_lengths = tf.convert_to_tensor(max_lengths)
    if not max_lengths.dtype.is_integer:
        raise TypeError(
            "`max_lengths` must be an integer tensor of shape [batch]. "
            f"Received dtype {max_lengths.dtype.name}."
        )
    if max_lengths.shape.rank is not None and max_lengths.shape.rank != 1:
        raise ValueError(
            "`max_lengths` must be an integer tensor of shape [batch]. "
            f"Received shape {max_lengths.shape}."
        )
    return tf.minimum(tf.cast(max_lengths, tf.int32), max_length)


def relaxed_shape(tensor: tf.Tensor) -> tf.TensorShape:
    """The tensor's static shape with the leading (batch) dimension and empty axes unknown.

    Used as a `tf.while_loop` shape invariant. The batch dimension is left free so a step
    function may return a state whose batch dimension is less static than the one it was
    given; an axis whose static size is 0 is left free so a state may start empty along it and
    grow at every step (the Transformer's key/value cache). Every other dimension stays fixed.

    Example:
    >>> relaxed_shape(tf.zeros([2, 4, 0, 8]))
    TensorShape([None, 4, None, 8])
    """
    if tensor.shape.rank is None:
        return tf.TensorShape(None)
    rest = [None if size == 0 else size for size in tensor.shape[1:]]
    return tf.TensorShape([None, *rest])


def call_step_fn(
    step_fn: StepFn, tokens: tf.Tensor, state: Any, time: tf.Tensor
) -> tuple[tf.Tensor, Any, tf.Tensor | None]:
    """Calls `step_fn` and checks that it kept the protocol."""
    outputs = step_fn(tokens, state, time)
    if isinstance(outputs, StepOutput):
        outputs = outputs[:3]  # the decoders read no hidden state
    if not isinstance(outputs, (tuple, list)) or len(outputs) != 3:
        raise TypeError(
            "`step_fn` must return a triple `(log_probs, new_state, attention)` (attention may "
            f"be None) or a StepOutput. Received: {outputs!r}."
        )
    log_probs, new_state, attention = outputs
    try:
        tf.nest.assert_same_structure(state, new_state)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "`step_fn` must return a new state with the same structure as the state it was "
            f"given. Received: {new_state!r}; given: {state!r}."
        ) from error
    log_probs = tf.cast(log_probs, tf.float32)
    if log_probs.shape.rank is not None and log_probs.shape.rank != 2:
        raise ValueError(
            "`step_fn` must return log-probabilities of shape [batch, vocabulary_size]. "
            f"Received shape {log_probs.shape}."
        )
    if attention is not None:
        attention = tf.cast(attention, tf.float32)
        if attention.shape.rank is not None and attention.shape.rank != 2:
            raise ValueError(
                "`step_fn` must return attention weights of shape [batch, source_length] (or "
                f"None). Received shape {attention.shape}."
            )
    new_state = tf.nest.map_structure(tf.convert_to_tensor, new_state)
    return log_probs, new_state, attention
