"""Functional-API builders: a training model and inference models sharing the same layers.

`build_seq2seq(config)` returns three Keras models built from the *same layer objects*:

- `training`: `(source_ids [B,S], target_input_ids [B,T]) -> logits [B,T,V]` (teacher forcing,
  attention over all target positions at once);
- `encoder`: `source_ids [B,S] -> [memory [B,S,U], memory_mask [B,S], *states]`;
- `decoder_step`: `[token [B,1], *states, memory, memory_mask] -> [logits [B,V], *new_states,
  attention [B,S]]` (memory inputs and attention output exist only when attention is on).

Each recurrent layer contributes its states in order: LSTM `(h, c)`, GRU `(h,)`. Masks are
right-padded (`[PAD]=0` at the end), which keeps the cuDNN kernels eligible on GPU. LSTMs are
`keras_seq2seq.lstm.LSTM`: `keras.layers.LSTM` with a faster CPU training kernel (same weights
and results; Keras's own cuDNN kernel on GPU).
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from keras_seq2seq.config import ModelConfig, precision_policy
from keras_seq2seq.lstm import LSTM


class Seq2SeqModels(NamedTuple):
    """The training model and its two inference models (shared weights)."""

    training: keras.Model
    encoder: keras.Model
    decoder_step: keras.Model


def states_per_layer(config: ModelConfig) -> int:
    """Number of state tensors one recurrent layer carries (LSTM 2, GRU 1)."""
    return 2 if config.cell == "lstm" else 1


def _recurrent(config: ModelConfig, units: int, name: str, dtype: str | None) -> layers.Layer:
    cls = LSTM if config.cell == "lstm" else layers.GRU
    return cls(units, return_sequences=True, return_state=True, name=name, dtype=dtype)


def _make_layers(config: ModelConfig, dtype: str | None) -> dict[str, layers.Layer]:
    made: dict[str, layers.Layer] = {
        "source_embedding": layers.Embedding(
            config.source_vocabulary_size,
            config.embedding_dim,
            mask_zero=True,
            name="source_embedding",
            dtype=dtype,
        ),
        "target_embedding": layers.Embedding(
            config.target_vocabulary_size,
            config.embedding_dim,
            mask_zero=True,
            name="target_embedding",
            dtype=dtype,
        ),
        # float32 logits under mixed precision: a float16 softmax over a large vocabulary
        # loses the small probabilities.
        "output_projection": layers.Dense(
            config.target_vocabulary_size, name="output_projection", dtype="float32"
        ),
    }
    for i in range(config.num_layers):
        if config.bidirectional:
            made[f"encoder_{i}"] = layers.Bidirectional(
                _recurrent(config, config.units // 2, f"encoder_{i}_cell", dtype),
                name=f"encoder_{i}",
                dtype=dtype,
            )
        else:
            made[f"encoder_{i}"] = _recurrent(config, config.units, f"encoder_{i}", dtype)
        made[f"decoder_{i}"] = _recurrent(config, config.units, f"decoder_{i}", dtype)
    if config.attention != "none":
        attention_cls = layers.Attention if config.attention == "dot" else layers.AdditiveAttention
        made["attention"] = attention_cls(name="attention", dtype=dtype)
        made["attention_projection"] = layers.Dense(
            config.units, activation="tanh", name="attention_projection", dtype=dtype
        )
    return made


def _dropout(config: ModelConfig, name: str, dtype: str):
    # Dropout layers are stateless, so the inference models may use fresh ones: they are
    # inactive outside training anyway.
    if config.dropout > 0:
        return layers.Dropout(config.dropout, name=name, dtype=dtype)
    return lambda x: x


def _policy(get) -> str:
    """The dtype policy the model's layers were built with (for the weightless layers)."""
    return get("source_embedding").dtype_policy.name


def _encode(config: ModelConfig, get, source_ids):
    dtype = _policy(get)
    x = _dropout(config, "source_dropout", dtype)(get("source_embedding")(source_ids))
    states = []
    for i in range(config.num_layers):
        outputs = get(f"encoder_{i}")(x)
        x = outputs[0]
        if config.bidirectional:
            # Bidirectional returns forward states then backward states; each direction has
            # units // 2, so concatenating gives the decoder its `units`.
            n = states_per_layer(config)
            forward, backward = outputs[1 : 1 + n], outputs[1 + n :]
            states.extend(
                layers.Concatenate(name=f"encoder_{i}_state_{k}_merge", dtype=dtype)([f, b])
                for k, (f, b) in enumerate(zip(forward, backward, strict=True))
            )
        else:
            states.extend(outputs[1:])
        if i < config.num_layers - 1:
            x = _dropout(config, f"encoder_{i}_dropout", dtype)(x)
    return x, states


def _decode(config: ModelConfig, get, target_ids, states, memory, memory_mask):
    """Runs the decoder over `target_ids`; returns (logits, new_states, attention_scores)."""
    dtype = _policy(get)
    y = _dropout(config, "target_dropout", dtype)(get("target_embedding")(target_ids))
    n = states_per_layer(config)
    new_states = []
    for i in range(config.num_layers):
        outputs = get(f"decoder_{i}")(y, initial_state=list(states[i * n : (i + 1) * n]))
        y = outputs[0]
        new_states.extend(outputs[1:])
        if i < config.num_layers - 1:
            y = _dropout(config, f"decoder_{i}_dropout", dtype)(y)
    scores = None
    if config.attention != "none":
        context, scores = get("attention")(
            [y, memory], mask=[None, memory_mask], return_attention_scores=True
        )
        y = get("attention_projection")(
            layers.Concatenate(name="attention_concat", dtype=dtype)([context, y])
        )
    y = _dropout(config, "output_dropout", dtype)(y)
    return get("output_projection")(y), new_states, scores


def build_seq2seq(config: ModelConfig, *, mixed_precision: bool | str = False) -> Seq2SeqModels:
    """Builds the training model and the encoder / decoder-step inference models.

    Args:
        config: ModelConfig.
        mixed_precision: bool or str. `True` / `"float16"`: build the layers with the
            `mixed_float16` policy (float16 compute, float32 weights); `"bfloat16"`: with
            `mixed_bfloat16`. The output projection stays float32. Defaults to `False`.

    Returns:
        Seq2SeqModels(training, encoder, decoder_step), sharing their layers.

    Example:
    >>> models = build_seq2seq(ModelConfig(source_vocabulary_size=30,
    ...                                    target_vocabulary_size=20, units=8))
    >>> models.training.output_shape
    (None, None, 20)
    """
    made = _make_layers(config, precision_policy(mixed_precision))
    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    target_ids = keras.Input((None,), dtype="int32", name="target_input_ids")
    memory_mask = keras.ops.not_equal(source_ids, 0)
    memory, states = _encode(config, made.__getitem__, source_ids)
    logits, _, _ = _decode(config, made.__getitem__, target_ids, states, memory, memory_mask)
    training = keras.Model([source_ids, target_ids], logits, name="seq2seq")
    encoder, decoder_step = build_inference_models(training, config)
    return Seq2SeqModels(training, encoder, decoder_step)


def build_inference_models(
    training: keras.Model, config: ModelConfig
) -> tuple[keras.Model, keras.Model]:
    """Builds the encoder and decoder-step models from the layers of a training model.

    Works on a freshly built model and on one loaded from a `.keras` file: the layers are
    looked up by name, so nothing is retrained or copied.

    Args:
        training: keras.Model built by `build_seq2seq` (or loaded from its `.keras` file).
        config: ModelConfig it was built with.

    Returns:
        (encoder, decoder_step) keras.Model pair.

    Raises:
        ValueError: a layer the config expects is missing from `training`.
    """

    def get(name: str) -> layers.Layer:
        try:
            return training.get_layer(name)
        except ValueError as error:
            raise ValueError(
                f"The model has no layer named {name!r}; it was not built by build_seq2seq "
                f"with this configuration ({config})."
            ) from error

    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    memory_mask = keras.ops.not_equal(source_ids, 0)
    memory, states = _encode(config, get, source_ids)
    encoder = keras.Model(source_ids, [memory, memory_mask, *states], name="encoder")

    memory_width = config.units
    token = keras.Input((1,), dtype="int32", name="token")
    state_inputs = [
        keras.Input((config.units,), name=f"state_{i}")
        for i in range(config.num_layers * states_per_layer(config))
    ]
    inputs = [token, *state_inputs]
    memory_in = mask_in = None
    if config.attention != "none":
        memory_in = keras.Input((None, memory_width), name="memory")
        mask_in = keras.Input((None,), dtype="bool", name="memory_mask")
        inputs += [memory_in, mask_in]
    logits, new_states, scores = _decode(config, get, token, state_inputs, memory_in, mask_in)
    outputs = [keras.ops.squeeze(logits, axis=1), *new_states]
    if scores is not None:
        outputs.append(keras.ops.squeeze(scores, axis=1))
    decoder_step = keras.Model(inputs, outputs, name="decoder_step")
    return encoder, decoder_step
