"""The Transformer architecture: pre-layer-norm encoder–decoder with an incremental decoder.

Built from Keras layers (`Embedding`, `MultiHeadAttention`, `LayerNormalization`, `Dense`,
`Dropout`) with sinusoidal positions (no maximum length in the weights), padding masks on the
source and a causal mask on the target. Pre-layer-norm blocks (Xiong et al. 2020):
`x + Dropout(Sublayer(LayerNorm(x)))`, with a final LayerNorm after each stack.

Decoding reuses the training model's layers through their public parts
(`MultiHeadAttention.query_dense` / `key_dense` / `value_dense` / `output_dense`):

- `encode` runs the encoder once and projects the memory into every decoder layer's
  cross-attention keys and values (the context: one row per input, which every hypothesis of
  that input reads, `context_per_input`);
- the state is a self-attention key/value cache per layer, `[N, heads, steps so far, key_dim]`
  (heads first like the encoder's keys and values, so attention needs no transposes), and
  the cache's ancestry (`keras_seq2seq.models.step_attention`): it starts empty and each step
  appends its keys and values, so each step's work on it grows with the tokens decoded so
  far, not with `max_length`. Beam search reorders the ancestry only (`reorder_beams`); the
  cache rows stay where they were computed. The loop's shape invariant leaves the steps axis
  free (`keras_seq2seq.decoding.common.relaxed_shape`). A cache preallocated to `max_length`
  and written with a scatter was measured 2.2x slower in beam search: every step copied and
  reordered the whole buffer (README *Decoding speed*).
- the step's attention projections run as 2-D matmuls on the layers' own kernels
  (`step_attention.project`): called on a one-token `[N, 1, D]` input, `EinsumDense` lowers
  to a batched matmul of `N` single rows, which was measured 1.7x slower in beam search.

Options (`ModelConfig.options`): `heads`, `ffn_dim` (default `4 * units`), `tie_embeddings`
(one embedding matrix for the source, the target and the output projection; the two
vocabularies must be the same).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import layers, ops

from keras_seq2seq.architecture_options import TransformerOptions
from keras_seq2seq.config import ModelConfig
from keras_seq2seq.models.base import Architecture, register_architecture
from keras_seq2seq.models.layers import (
    ReversibleEmbedding,
    TokenAndPositionEmbedding,
)
from keras_seq2seq.models.output_head import OutputHead, output_head
from keras_seq2seq.models.protocol import SourceBatch, StepOutput
from keras_seq2seq.models.step_attention import (
    ANCESTRY,
    append_ancestry,
    append_step,
    attend_cache,
    attend_inputs,
    empty_ancestry,
    follow_beams,
    heads_first,
    project,
    reorder_cache,
)
from keras_seq2seq.models.training_model import TrainingModel


def _ffn_dim(config: ModelConfig, options: TransformerOptions) -> int:
    return options.ffn_dim or 4 * config.units


def _embedding_layers(config: ModelConfig, options: TransformerOptions, dtype) -> dict:
    units = config.units
    if options.tie_embeddings:
        shared = ReversibleEmbedding(
            config.target_vocabulary_size, units, name="shared_embedding", dtype=dtype
        )
        return {"source_embedding": shared, "target_embedding": shared, "output_projection": shared}
    made = {
        f"{side}_embedding": layers.Embedding(
            getattr(config, f"{side}_vocabulary_size"), units, name=f"{side}_embedding", dtype=dtype
        )
        for side in ("source", "target")
    }
    # float32 logits under mixed precision (see the RNN architecture).
    made["output_projection"] = layers.Dense(
        config.target_vocabulary_size, name="output_projection", dtype="float32"
    )
    return made


def _sublayers(prefix: str, sub: str, config, options, dtype) -> dict:
    """The layers of one pre-layer-norm block: its LayerNorm and attention or feed-forward."""
    made = {f"{prefix}_{sub}_norm": layers.LayerNormalization(
        epsilon=1e-6, name=f"{prefix}_{sub}_norm", dtype=dtype
    )}  # fmt: skip
    if sub == "ffn":
        made[f"{prefix}_ffn_in"] = layers.Dense(
            _ffn_dim(config, options), activation="relu", name=f"{prefix}_ffn_in", dtype=dtype
        )
        made[f"{prefix}_ffn_out"] = layers.Dense(
            config.units, name=f"{prefix}_ffn_out", dtype=dtype
        )
    else:
        made[f"{prefix}_{sub}_attention"] = layers.MultiHeadAttention(
            options.heads,
            config.units // options.heads,
            dropout=config.dropout,
            name=f"{prefix}_{sub}_attention",
            dtype=dtype,
        )
    return made


def _make_layers(
    config: ModelConfig, options: TransformerOptions, dtype, head: OutputHead
) -> dict[str, Any]:
    made = _embedding_layers(config, options, dtype)
    made["positions"] = TokenAndPositionEmbedding(config.units, name="positions", dtype=dtype)
    blocks = {"encoder": ("self", "ffn"), "decoder": ("self", "cross", "ffn")}
    for stack, sublayers in blocks.items():
        for i in range(config.num_layers):
            for sub in sublayers:
                made.update(_sublayers(f"{stack}_{i}", sub, config, options, dtype))
        made[f"{stack}_norm"] = layers.LayerNormalization(
            epsilon=1e-6, name=f"{stack}_norm", dtype=dtype
        )
    made.update(head.make_layers())
    return made


def _dropout(config: ModelConfig, made, name: str):
    # Dropout layers hold no weights, so only the training graph has them: the decoding
    # pieces, which never drop anything, skip them.
    if config.dropout > 0 and made.get("training_graph"):
        return layers.Dropout(config.dropout, name=name, dtype=made["positions"].dtype_policy)
    return lambda x: x


def _residual(config, made, prefix, x, sublayer):
    """Pre-layer-norm residual block: `x + Dropout(sublayer(LayerNorm(x)))`."""
    out = sublayer(made[f"{prefix}_norm"](x))
    return x + _dropout(config, made, f"{prefix}_dropout")(out)


def _ffn(made, prefix):
    return lambda h: made[f"{prefix}_ffn_out"](made[f"{prefix}_ffn_in"](h))


def _encoder(config, made, source_ids, source_mask):
    x = made["positions"](made["source_embedding"](source_ids))
    x = _dropout(config, made, "source_dropout")(x)
    attention_mask = ops.expand_dims(source_mask, 1)
    for i in range(config.num_layers):
        attention = made[f"encoder_{i}_self_attention"]
        x = _residual(
            config,
            made,
            f"encoder_{i}_self",
            x,
            lambda h, a=attention: a(h, h, attention_mask=attention_mask),
        )
        x = _residual(config, made, f"encoder_{i}_ffn", x, _ffn(made, f"encoder_{i}"))
    return made["encoder_norm"](x)


def _decoder(config, made, target_ids, memory, source_mask, head: OutputHead, extras=()):
    """The decoder's logits `[B, T, V]`, through the output `head` (`extras`: its inputs)."""
    embedded = made["positions"](made["target_embedding"](target_ids))
    y = _dropout(config, made, "target_dropout")(embedded)
    cross_mask = ops.expand_dims(source_mask, 1)
    last = {}  # the last layer's cross-attention output and weights (for the head)

    def cross(h, attention, i):
        if i < config.num_layers - 1 or not head.reads_decoder:
            return attention(h, memory, attention_mask=cross_mask)
        last["output"], weights = attention(
            h, memory, attention_mask=cross_mask, return_attention_scores=True
        )
        last["weights"] = ops.mean(ops.cast(weights, "float32"), axis=1)  # over heads
        return last["output"]

    for i in range(config.num_layers):
        self_attention = made[f"decoder_{i}_self_attention"]
        cross_attention = made[f"decoder_{i}_cross_attention"]
        y = _residual(
            config,
            made,
            f"decoder_{i}_self",
            y,
            lambda h, a=self_attention: a(h, h, use_causal_mask=True),
        )
        y = _residual(
            config,
            made,
            f"decoder_{i}_cross",
            y,
            lambda h, a=cross_attention, i=i: cross(h, a, i),
        )
        y = _residual(config, made, f"decoder_{i}_ffn", y, _ffn(made, f"decoder_{i}"))
    y = made["decoder_norm"](y)
    logits = _logits(made, y)
    if not head.reads_decoder:
        return logits
    features = [y, last["output"], embedded]
    return head.apply(made.__getitem__, logits, last["weights"], features, extras,
                      ops.not_equal(target_ids, 0))  # fmt: skip


def _logits(made, y):
    projection = made["output_projection"]
    if isinstance(projection, ReversibleEmbedding):
        return projection(y, reverse=True)
    return projection(y)


@register_architecture("transformer")
class TransformerSeq2Seq(Architecture):
    """Transformer encoder–decoder (Vaswani et al. 2017) with pre-layer-norm blocks.

    Example:
    >>> model = build_model(ModelConfig(30, 20, architecture="transformer", units=16,
    ...                                 heads=2))  # doctest: +SKIP
    """

    options_class = TransformerOptions
    supports_output_heads = True

    @property
    def context_per_input(self) -> bool:
        """The step reads its memory per input (`attend_inputs`) unless its output head
        reads per-hypothesis extras (copy attention)."""
        return not (self.head.reads_decoder or self.head.extra_names)

    def reorder(self, state: Any, indices: tf.Tensor) -> Any:
        """Any reordering of rows (see `step_attention.reorder_cache`)."""
        return reorder_cache(state, indices)

    def reorder_beams(self, state: Any, indices: tf.Tensor) -> Any:
        """Beam search's reordering: the cache stays, its ancestry moves (`follow_beams`)."""
        return follow_beams(state, indices)

    def __init__(self, config: ModelConfig, training: keras.Model):
        super().__init__(config, training)
        names = [layer.name for layer in training.layers]
        self._layers = {name: training.get_layer(name) for name in names}
        if self.options.tie_embeddings:
            for alias in ("source_embedding", "target_embedding", "output_projection"):
                self._layers[alias] = self._layers["shared_embedding"]

    @classmethod
    def check_config(cls, config: ModelConfig, options: TransformerOptions) -> None:
        if config.units % options.heads:
            raise ValueError(
                f"`units` ({config.units}) must be a multiple of `heads` ({options.heads}): "
                "each head gets units // heads dimensions."
            )
        if config.units % 2:
            raise ValueError(
                f"`units` must be even (sinusoidal positions). Received: {config.units}"
            )

    @classmethod
    def build_training_model(cls, config, options, dtype) -> keras.Model:
        head = output_head(config, cls, options)
        made = {**_make_layers(config, options, dtype, head), "training_graph": True}
        source_ids = keras.Input((None,), dtype="int32", name="source_ids")
        target_ids = keras.Input((None,), dtype="int32", name="target_input_ids")
        inputs = [source_ids, target_ids]
        extras = head.extra_inputs()
        inputs += extras
        source_mask = ops.not_equal(source_ids, 0)
        memory = _encoder(config, made, source_ids, source_mask)
        logits = _decoder(config, made, target_ids, memory, source_mask, head, extras)
        return TrainingModel(inputs, logits, name="transformer")

    # -- decoding -------------------------------------------------------------------------

    def _layer(self, name: str):
        return self._layers[name]

    def encode(self, batch: SourceBatch) -> tuple[dict, dict]:
        source_ids = batch.ids
        extras = self.head.batch_extras(batch)
        source_mask = tf.not_equal(source_ids, 0)
        memory = _encoder(self.config, self._layers, source_ids, source_mask)
        context: dict[str, Any] = {"source_mask": source_mask}
        context.update(zip(self.head.extra_names, extras, strict=True))
        for i in range(self.config.num_layers):
            attention = self._layer(f"decoder_{i}_cross_attention")
            context[f"keys_{i}"] = heads_first(attention.key_dense(memory))
            context[f"values_{i}"] = heads_first(attention.value_dense(memory))
        # The cache grows with the output: `batch.max_length` is not needed.
        batch = tf.shape(source_ids)[0]
        heads, key_dim = self.options.heads, self.config.units // self.options.heads
        dtype = memory.dtype
        state = {ANCESTRY: empty_ancestry(batch)}
        for i in range(self.config.num_layers):
            for kind in ("keys", "values"):
                state[f"{kind}_{i}"] = tf.zeros([batch, heads, 0, key_dim], dtype)
        return state, context

    def step(self, tokens, state, context, time) -> StepOutput:
        layer = self._layer
        tokens = self.head.step_tokens(tokens)
        embedded = layer("positions")(layer("target_embedding")(tokens[:, tf.newaxis]), time)
        y = embedded
        source_mask = context["source_mask"][:, tf.newaxis, tf.newaxis]  # [B, 1, 1, S]
        inputs = tf.shape(source_mask)[0]  # B: N = B * width hypotheses (`context_per_input`)
        new_state = {ANCESTRY: append_ancestry(state[ANCESTRY])}
        weights = None
        for i in range(self.config.num_layers):
            attention = layer(f"decoder_{i}_self_attention")
            h = layer(f"decoder_{i}_self_norm")(y)
            for kind, dense in (("keys", attention.key_dense), ("values", attention.value_dense)):
                new_state[f"{kind}_{i}"] = append_step(state[f"{kind}_{i}"], project(h, dense))
            out = attend_cache(
                project(h, attention.query_dense),
                new_state[f"keys_{i}"],
                new_state[f"values_{i}"],
                new_state[ANCESTRY],
                inputs,
                attention,
            )
            y = y + out
            cross = layer(f"decoder_{i}_cross_attention")
            h = layer(f"decoder_{i}_cross_norm")(y)
            cross_out, weights = attend_inputs(
                project(h, cross.query_dense),
                context[f"keys_{i}"],
                context[f"values_{i}"],
                source_mask,
                cross,
            )
            y = y + cross_out
            h = layer(f"decoder_{i}_ffn_norm")(y)
            y = y + layer(f"decoder_{i}_ffn_out")(layer(f"decoder_{i}_ffn_in")(h))
        y = layer("decoder_norm")(y)
        # The last layer's cross-attention, averaged over heads: [N, 1, S].
        attention_weights = tf.reduce_mean(tf.cast(weights, tf.float32), axis=1)
        attention_weights = tf.reshape(attention_weights, [tf.shape(tokens)[0], 1, -1])
        outputs = _logits(self._layers, y)
        if self.head.reads_decoder:
            target_mask = tf.ones_like(tokens[:, tf.newaxis], tf.bool)
            extras = [context[name] for name in self.head.extra_names]
            outputs = self.head.apply(self._layer, outputs, attention_weights,
                                      [y, cross_out, embedded], extras, target_mask)  # fmt: skip
        log_probs = self.head.log_probs(outputs[:, 0])
        return StepOutput(log_probs, new_state, attention_weights[:, 0], y[:, 0])
