"""The RNN architecture: Functional-API builders, training and inference models sharing layers.

`build_seq2seq(config)` returns an `RNNSeq2Seq` holding three Keras models built from the
*same layer objects*:

- `training`: `(source_ids [B,S], target_input_ids [B,T]) -> logits [B,T,V]` (teacher forcing,
  attention over all target positions at once);
- `encoder`: `source_ids [B,S] -> [memory [B,S,U], memory_mask [B,S], *states]`;
- `decoder_step`: `[token [B,1], *states, memory, memory_mask] -> [logits [B,V], *new_states,
  attention [B,S]]` (memory inputs and attention output exist only when attention is on).

Each recurrent layer contributes its states in order: LSTM `(h, c)`, GRU `(h,)`. Masks are
right-padded (`[PAD]=0` at the end), which keeps the cuDNN kernels eligible on GPU. LSTMs are
`keras_seq2seq.models.lstm.LSTM`: `keras.layers.LSTM` with a faster CPU training kernel (same
weights and results; Keras's own cuDNN kernel on GPU).

Options (`ModelConfig.options`): `embedding_dim`, `cell`, `bidirectional`, `attention`,
`input_feeding` (Luong input feeding: `keras_seq2seq.models.input_feeding`; the decoder's
cells, attention and attentional projection then live in one `InputFeedingDecoder` layer named
`decoder`, and the decoder state ends with the fed attentional vector), `tie_embeddings` (one
`ReversibleEmbedding` named `shared_embedding` embeds the source and the target and projects
onto the vocabulary after a linear `output_bridge` from `units` down to `embedding_dim`; the
two vocabularies must be the same).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import layers

from keras_seq2seq.architecture_options import RNNOptions
from keras_seq2seq.config import ModelConfig
from keras_seq2seq.models.base import Architecture, register_architecture
from keras_seq2seq.models.input_feeding import InputFeedingDecoder
from keras_seq2seq.models.layers import ReversibleEmbedding
from keras_seq2seq.models.lstm import LSTM
from keras_seq2seq.models.output_head import OutputHead, output_head
from keras_seq2seq.models.protocol import SourceBatch, StepOutput
from keras_seq2seq.models.training_model import TrainingModel


def states_per_layer(options: RNNOptions) -> int:
    """Number of state tensors one recurrent layer carries (LSTM 2, GRU 1)."""
    return 2 if options.cell == "lstm" else 1


def _recurrent(options: RNNOptions, units: int, name: str, dtype: str | None) -> layers.Layer:
    cls = LSTM if options.cell == "lstm" else layers.GRU
    return cls(units, return_sequences=True, return_state=True, name=name, dtype=dtype)


TIED_ALIASES = ("source_embedding", "target_embedding")
"""Layer names that all mean `shared_embedding` when the embeddings are tied."""


def _embedding_layers(config: ModelConfig, options: RNNOptions, dtype) -> dict[str, layers.Layer]:
    if options.tie_embeddings:
        shared = ReversibleEmbedding(
            config.target_vocabulary_size,
            options.embedding_dim,
            mask_zero=True,
            name="shared_embedding",
            dtype=dtype,
        )
        bridge = layers.Dense(options.embedding_dim, name="output_bridge", dtype=dtype)
        return {"shared_embedding": shared, **dict.fromkeys(TIED_ALIASES, shared),
                "output_bridge": bridge}  # fmt: skip
    made: dict[str, layers.Layer] = {
        f"{side}_embedding": layers.Embedding(
            getattr(config, f"{side}_vocabulary_size"),
            options.embedding_dim,
            mask_zero=True,
            name=f"{side}_embedding",
            dtype=dtype,
        )
        for side in ("source", "target")
    }
    # float32 logits under mixed precision: a float16 softmax over a large vocabulary
    # loses the small probabilities.
    made["output_projection"] = layers.Dense(
        config.target_vocabulary_size, name="output_projection", dtype="float32"
    )
    return made


def _output_logits(options: RNNOptions, get, y):
    """Float32 logits over the target vocabulary from the decoder's output vectors."""
    if options.tie_embeddings:
        return get("shared_embedding")(get("output_bridge")(y), reverse=True)
    return get("output_projection")(y)


def _make_layers(
    config: ModelConfig, options: RNNOptions, dtype, head: OutputHead
) -> dict[str, layers.Layer]:
    made = _embedding_layers(config, options, dtype)
    for i in range(config.num_layers):
        if options.bidirectional:
            made[f"encoder_{i}"] = layers.Bidirectional(
                _recurrent(options, config.units // 2, f"encoder_{i}_cell", dtype),
                name=f"encoder_{i}",
                dtype=dtype,
            )
        else:
            made[f"encoder_{i}"] = _recurrent(options, config.units, f"encoder_{i}", dtype)
        if not options.input_feeding:
            made[f"decoder_{i}"] = _recurrent(options, config.units, f"decoder_{i}", dtype)
    if options.input_feeding:
        made["decoder"] = InputFeedingDecoder(
            config.units,
            config.num_layers,
            options.cell,
            options.attention,
            name="decoder",
            dtype=dtype,
        )
    elif options.attention != "none":
        attention_cls = layers.Attention if options.attention == "dot" else layers.AdditiveAttention
        made["attention"] = attention_cls(name="attention", dtype=dtype)
        made["attention_projection"] = layers.Dense(
            config.units, activation="tanh", name="attention_projection", dtype=dtype
        )
    made.update(head.make_layers())
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


def _encode(config: ModelConfig, options: RNNOptions, get, source_ids):
    dtype = _policy(get)
    x = _dropout(config, "source_dropout", dtype)(get("source_embedding")(source_ids))
    states = []
    for i in range(config.num_layers):
        outputs = get(f"encoder_{i}")(x)
        x = outputs[0]
        if options.bidirectional:
            # Bidirectional returns forward states then backward states; each direction has
            # units // 2, so concatenating gives the decoder its `units`.
            n = states_per_layer(options)
            forward, backward = outputs[1 : 1 + n], outputs[1 + n :]
            states.extend(
                layers.Concatenate(name=f"encoder_{i}_state_{k}_merge", dtype=dtype)([f, b])
                for k, (f, b) in enumerate(zip(forward, backward, strict=True))
            )
        else:
            states.extend(outputs[1:])
        if i < config.num_layers - 1:
            x = _dropout(config, f"encoder_{i}_dropout", dtype)(x)
    if options.input_feeding:
        states.append(keras.ops.zeros_like(states[0]))  # no attentional vector yet
    return x, states


def _decode(config: ModelConfig, options: RNNOptions, get, target_ids, states, memory, mask,
            head: OutputHead, extras=()):  # fmt: skip
    """Runs the decoder over `target_ids`; returns (logits, new_states, attention_scores).

    The "logits" are what the output `head` makes of them (`extras`: its extra inputs), e.g.
    log-probabilities over an extended vocabulary.
    """
    dtype = _policy(get)
    embedded = get("target_embedding")(target_ids)
    y = _dropout(config, "target_dropout", dtype)(embedded)
    if options.input_feeding:
        outputs = get("decoder")([y, memory, mask, states[-1], *states[:-1]])
        y, scores, context, decoded = outputs[:4]
        new_states = [*outputs[5:], outputs[4]]
    else:
        y, new_states, scores, context, decoded = _decode_layers(
            config, options, get, y, states, memory, mask
        )
    y = _dropout(config, "output_dropout", dtype)(y)
    logits = _output_logits(options, get, y)
    if head.reads_decoder:
        target_mask = keras.ops.not_equal(target_ids, 0)
        logits = head.apply(get, logits, scores, [context, decoded, embedded], extras, target_mask)
    return logits, new_states, scores


def _decode_layers(config: ModelConfig, options: RNNOptions, get, y, states, memory, mask):
    """The recurrent layers over the whole target, then attention (no input feeding).

    Returns (outputs, new_states, attention_scores, context, decoded): without attention the
    last three are None and the outputs are the last layer's.
    """
    dtype = _policy(get)
    n = states_per_layer(options)
    new_states = []
    for i in range(config.num_layers):
        outputs = get(f"decoder_{i}")(y, initial_state=list(states[i * n : (i + 1) * n]))
        y = outputs[0]
        new_states.extend(outputs[1:])
        if i < config.num_layers - 1:
            y = _dropout(config, f"decoder_{i}_dropout", dtype)(y)
    if options.attention == "none":
        return y, new_states, None, None, None
    context, scores = get("attention")([y, memory], mask=[None, mask], return_attention_scores=True)
    attended = get("attention_projection")(
        layers.Concatenate(name="attention_concat", dtype=dtype)([context, y])
    )
    return attended, new_states, scores, context, y


def _training_model(config: ModelConfig, options: RNNOptions, dtype) -> keras.Model:
    head = output_head(config, RNNSeq2Seq, options)
    made = _make_layers(config, options, dtype, head)
    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    target_ids = keras.Input((None,), dtype="int32", name="target_input_ids")
    inputs = [source_ids, target_ids]
    extras = head.extra_inputs()
    inputs += extras
    memory_mask = keras.ops.not_equal(source_ids, 0)
    memory, states = _encode(config, options, made.__getitem__, source_ids)
    logits, _, _ = _decode(
        config, options, made.__getitem__, target_ids, states, memory, memory_mask, head, extras
    )
    return TrainingModel(inputs, logits, name="seq2seq")


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
    options = RNNSeq2Seq.parse_options(config)

    def get(name: str) -> layers.Layer:
        if options.tie_embeddings and name in TIED_ALIASES:
            name = "shared_embedding"
        try:
            return training.get_layer(name)
        except ValueError as error:
            raise ValueError(
                f"The model has no layer named {name!r}; it was not built by build_seq2seq "
                f"with this configuration ({config})."
            ) from error

    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    memory_mask = keras.ops.not_equal(source_ids, 0)
    memory, states = _encode(config, options, get, source_ids)
    encoder = keras.Model(source_ids, [memory, memory_mask, *states], name="encoder")

    token = keras.Input((1,), dtype="int32", name="token")
    state_count = config.num_layers * states_per_layer(options) + int(options.input_feeding)
    state_inputs = [keras.Input((config.units,), name=f"state_{i}") for i in range(state_count)]
    inputs = [token, *state_inputs]
    memory_in = mask_in = None
    if options.attention != "none":
        memory_in = keras.Input((None, config.units), name="memory")
        mask_in = keras.Input((None,), dtype="bool", name="memory_mask")
        inputs += [memory_in, mask_in]
    head = output_head(config, RNNSeq2Seq, options)
    extras = head.extra_inputs()
    inputs += extras
    logits, new_states, scores = _decode(
        config, options, get, token, state_inputs, memory_in, mask_in, head, extras
    )
    outputs = [keras.ops.squeeze(logits, axis=1), *new_states]
    if scores is not None:
        outputs.append(keras.ops.squeeze(scores, axis=1))
    decoder_step = keras.Model(inputs, outputs, name="decoder_step")
    return encoder, decoder_step


@register_architecture("rnn")
class RNNSeq2Seq(Architecture):
    """LSTM/GRU encoder-decoder with Luong or Bahdanau attention (the default architecture).

    Holds the Functional `training` model and the `encoder` and `decoder_step` inference
    models built from its layers. The decoder state is the list of recurrent states (LSTM
    `h, c` or GRU `h` per layer; with input feeding, then the fed attentional vector); the
    context is `(memory [B, S, U], memory_mask [B, S])`, or None without attention.

    Example:
    >>> model = build_seq2seq(ModelConfig(30, 20, units=8))
    >>> [m.name for m in (model.training, model.encoder, model.decoder_step)]
    ['seq2seq', 'encoder', 'decoder_step']
    """

    options_class = RNNOptions

    def __init__(self, config: ModelConfig, training: keras.Model):
        super().__init__(config, training)
        self.encoder, self.decoder_step = build_inference_models(training, config)

    supports_output_heads = True

    @classmethod
    def check_config(cls, config: ModelConfig, options: RNNOptions) -> None:
        if options.input_feeding and options.attention == "none":
            raise ValueError(
                "Input feeding feeds the previous step's attentional vector, so it needs "
                "attention: use attention='dot' or 'additive' with input_feeding=True."
            )
        if options.bidirectional and config.units % 2:
            raise ValueError(
                "A bidirectional encoder splits `units` between its two directions, so `units` "
                f"must be even. Received: units={config.units}"
            )

    @classmethod
    def build_training_model(cls, config, options, dtype) -> keras.Model:
        return _training_model(config, options, dtype)

    @classmethod
    def attends(cls, options: RNNOptions) -> bool:
        return options.attention != "none"

    @property
    def has_attention(self) -> bool:
        return self.attends(self.options)

    @property
    def keras_models(self) -> tuple[keras.Model, ...]:
        return (self.training, self.encoder, self.decoder_step)

    def encode(self, batch: SourceBatch) -> tuple[list, Any]:
        extras = self.head.batch_extras(batch)
        outputs = self.encoder(batch.ids)
        # tf.identity drops the Keras mask metadata the encoder attaches to its outputs.
        state = [tf.identity(s) for s in outputs[2:]]
        if not self.has_attention:
            return state, None
        context = (tf.identity(outputs[0]), tf.identity(outputs[1]))
        return state, (*context, *extras)

    def step(self, tokens, state, context, time) -> StepOutput:
        del time  # the recurrent state carries the position
        inputs = [self.head.step_tokens(tokens)[:, tf.newaxis], *state]
        if context is not None:
            inputs += list(context)
        outputs = self.decoder_step(inputs)
        n = len(state)
        attention = outputs[1 + n] if context is not None else None
        log_probs = self.head.log_probs(outputs[0])
        return StepOutput(log_probs, list(outputs[1 : 1 + n]), attention)


def build_seq2seq(config: ModelConfig, *, mixed_precision: bool | str = False) -> RNNSeq2Seq:
    """Builds the RNN training model and its encoder / decoder-step inference models.

    Args:
        config: ModelConfig with `architecture="rnn"`.
        mixed_precision: bool or str. `True` / `"float16"`: build the layers with the
            `mixed_float16` policy (float16 compute, float32 weights); `"bfloat16"`: with
            `mixed_bfloat16`. The output projection stays float32. Defaults to `False`.

    Returns:
        RNNSeq2Seq with `training`, `encoder` and `decoder_step`, sharing their layers.

    Raises:
        ValueError: `config.architecture` is not `"rnn"`, or an option is invalid.

    Example:
    >>> models = build_seq2seq(ModelConfig(source_vocabulary_size=30,
    ...                                    target_vocabulary_size=20, units=8))
    >>> models.training.output_shape
    (None, None, 20)
    """
    if config.architecture != RNNSeq2Seq.name:
        raise ValueError(
            "build_seq2seq builds the 'rnn' architecture; use "
            f"keras_seq2seq.models.build_model for {config.architecture!r}."
        )
    return RNNSeq2Seq.build(config, mixed_precision=mixed_precision)
