"""The extended vocabulary of copy attention: target ids for source tokens, and back to text.

A copy-attention model (`ModelConfig(copy_attention=True)`, See et al. 2017) predicts over the
target vocabulary (`V` ids) *extended* by the positions of its source: id `V + j` means "the
token at source position `j`". Each source token gets a *copy id*:

- its target id, when its text is a target-vocabulary token (copying it adds to that id);
- otherwise `V + j`, where `j` is the first source position holding the same text, so every
  out-of-vocabulary token of a source has one extended id however often it occurs;
- `[END]` for the source's closing `[END]`, `[PAD]` for padding.

Training targets that are `[UNK]` but whose text is an out-of-vocabulary source token become
that token's extended id (`extended_targets`), so the model learns to copy it; decoded ids
`>= V` turn back into the source token's text (`token_strings`). A token's text is what
`Tokenizer.tokenize_to_surface` gives: a WordPiece `[UNK]` is the whole word.

The same class gives `replace_unknown` for models without copy attention: a decoded `[UNK]`
becomes the source token the step attended to most.

This module is the one place that knows whether a model copies. Copy attention is an output
head (`CopyHead`, `keras_seq2seq.models.output_head`) that any architecture calling the
head hooks takes: `ModelConfig(copy_attention=True)` selects it through the registered
factory `copy_head`. `source_batch` (decoding), `scoring_inputs` (scoring) and
`copy_vocabulary_for` (the training pipeline) build the copy ids of sources the same way,
with `CopyVocabulary`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf
from keras import ops

from keras_seq2seq.config import ModelConfig
from keras_seq2seq.models.copy_generator import CopyGenerator
from keras_seq2seq.models.output_head import OutputHead, register_output_head
from keras_seq2seq.models.protocol import SourceBatch
from keras_seq2seq.text.tokenizers import Tokenizer
from keras_seq2seq.text.vocabulary import END_ID, PAD_ID, UNK_ID


class CopyVocabulary(tf.Module):
    """Maps source tokens into a target vocabulary extended by source positions.

    Args:
        source_tokenizer: Tokenizer of the source side.
        target_tokenizer: Tokenizer of the target side.
        max_source_length: int. Source tokens kept (the model's `max_length`), before [END].

    Raises:
        ValueError: the target is a SentencePiece tokenizer and the two vocabularies differ
            (SentencePiece turns pieces into text through their ids, so a copied piece must be
            a target piece: learn one shared vocabulary).

    Example:
    >>> copy = CopyVocabulary(source_tokenizer, target_tokenizer, 96)  # doctest: +SKIP
    >>> surfaces = copy.source_surfaces(tf.constant(["install libfoo2"]))  # doctest: +SKIP
    """

    def __init__(self, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
                 max_source_length: int):  # fmt: skip
        super().__init__(name="copy_vocabulary")
        if (
            target_tokenizer.kind == "sentencepiece"
            and source_tokenizer.vocabulary != target_tokenizer.vocabulary
        ):
            raise ValueError(
                "Copy attention and replace_unknown with a SentencePiece target need one "
                "vocabulary for both sides (SentencePiece writes text from piece ids, so a "
                "copied piece must be a target piece). Train with --shared-vocabulary."
            )
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = int(max_source_length)
        self.vocabulary_size = target_tokenizer.vocabulary_size
        tokens = tf.constant(target_tokenizer.vocabulary, tf.string)
        self._target_ids = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tokens, tf.range(self.vocabulary_size, dtype=tf.int32)
            ),
            default_value=-1,
        )
        self._target_tokens = tokens

    def source_surfaces(self, texts: tf.Tensor) -> tf.Tensor:
        """Strings [B] → the text of each source token, `[B, S]`, aligned with source ids.

        Cut to `max_source_length` like the source ids, with `""` at the closing [END]
        position and in the padding.
        """
        surfaces = self.source_tokenizer.tokenize_to_surface(texts)[:, : self.max_source_length]
        end = tf.RaggedTensor.from_tensor(tf.fill([surfaces.nrows(), 1], ""))
        return tf.concat([surfaces, end], axis=1).to_tensor("")

    def copy_ids(self, surfaces: tf.Tensor, source_ids: tf.Tensor) -> tf.Tensor:
        """The copy id of every source position (see the module docstring).

        Args:
            surfaces: tf.string `[B, S]` from `source_surfaces`.
            source_ids: int32 `[B, S]` source ids ([END] after the tokens, [PAD] after it).

        Returns:
            int32 `[B, S]`, each id below `V + S`.
        """
        target_ids = self._target_ids.lookup(surfaces)
        same = tf.equal(surfaces[:, :, tf.newaxis], surfaces[:, tf.newaxis, :])  # [B, S, S]
        first = tf.argmax(tf.cast(same, tf.int32), axis=-1, output_type=tf.int32)
        ids = tf.where(target_ids >= 0, target_ids, self.vocabulary_size + first)
        ids = tf.where(tf.equal(source_ids, END_ID), END_ID, ids)
        return tf.where(tf.equal(source_ids, PAD_ID), PAD_ID, ids)

    def encode_sources(
        self, texts: tf.Tensor, source_ids: tf.Tensor, surfaces: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """The surfaces and copy ids of sources: what training, scoring and decoding all use.

        Args:
            texts: tf.string `[B]` the source texts (read when `surfaces` is None).
            source_ids: int32 `[B, S]` their ids, [END] after the tokens.
            surfaces: tf.string `[B, S]` from `source_surfaces`, when already computed.

        Returns:
            `(surfaces [B, S], copy_ids [B, S])`.

        Example:
        >>> surfaces, copy_ids = copy.encode_sources(texts, source_ids)  # doctest: +SKIP
        """
        if surfaces is None:
            surfaces = self.source_surfaces(texts)
        return surfaces, self.copy_ids(surfaces, source_ids)

    def extended_targets(
        self, target_ids: tf.Tensor, target_surfaces: tf.Tensor, surfaces: tf.Tensor,
        copy_ids: tf.Tensor,
    ) -> tf.Tensor:  # fmt: skip
        """Target ids with each `[UNK]` that a source token spells replaced by its copy id.

        Args:
            target_ids: int32 `[B, T]` target ids.
            target_surfaces: tf.string `[B, T]`, the text of each target token.
            surfaces: tf.string `[B, S]` from `source_surfaces`.
            copy_ids: int32 `[B, S]` from `copy_ids`.

        Returns:
            int32 `[B, T]`.
        """
        copyable = copy_ids >= self.vocabulary_size
        match = tf.equal(target_surfaces[:, :, tf.newaxis], surfaces[:, tf.newaxis, :])
        match = match & copyable[:, tf.newaxis, :]  # [B, T, S]
        position = tf.argmax(tf.cast(match, tf.int32), axis=-1, output_type=tf.int32)
        copied = tf.gather(copy_ids, position, batch_dims=1)
        use = tf.equal(target_ids, UNK_ID) & tf.reduce_any(match, axis=-1)
        return tf.where(use, copied, target_ids)

    def token_strings(self, ids: tf.Tensor, surfaces: tf.Tensor) -> tf.RaggedTensor:
        """Extended ids `[B, T]` → the text of each token, ragged (as `Tokenizer.kept_ids`).

        Args:
            ids: int32 `[B, T]` decoded ids; `V + j` is the token at source position `j`.
            surfaces: tf.string `[B, S]` of the same rows.

        Raises:
            tf.errors.InvalidArgumentError: an id is `>= V + S` (when the graph runs).
        """
        limit = self.vocabulary_size + tf.shape(surfaces)[1]
        kept = Tokenizer.checked_ids(ids, limit)
        in_vocabulary = kept.flat_values < self.vocabulary_size
        rows = kept.value_rowids()
        vocabulary_text = tf.gather(
            self._target_tokens, tf.where(in_vocabulary, kept.flat_values, UNK_ID)
        )
        positions = tf.maximum(kept.flat_values - self.vocabulary_size, 0)
        source_text = tf.gather_nd(surfaces, tf.stack([tf.cast(rows, tf.int32), positions], -1))
        return kept.with_flat_values(tf.where(in_vocabulary, vocabulary_text, source_text))

    def detokenize(self, ids: tf.Tensor, surfaces: tf.Tensor) -> tf.Tensor:
        """Extended ids `[B, T]` → strings `[B]`, copied tokens written as in the source."""
        return self.target_tokenizer.join(self.token_strings(ids, surfaces))

    def replace_unknown(
        self, ids: tf.Tensor, attention: tf.Tensor, surfaces: tf.Tensor
    ) -> tf.Tensor:
        """Each decoded `[UNK]` pointed at the source token its step attended to most.

        Args:
            ids: int32 `[B, N, T]` decoded ids.
            attention: float32 `[B, N, T, S]` the attention of every step.
            surfaces: tf.string `[B, S]`.

        Returns:
            int32 `[B, N, T]`: `[UNK]` becomes `V + j` for the most attended position `j`,
            unless that position is the closing [END] (no text: the `[UNK]` stays).
        """
        position = tf.argmax(attention, axis=-1, output_type=tf.int32)  # [B, N, T]
        text = tf.gather(surfaces, position, batch_dims=1)
        use = tf.equal(ids, UNK_ID) & tf.not_equal(text, "")
        return tf.where(use, self.vocabulary_size + position, ids)


# -- the copy head: copy attention on any architecture that calls output-head hooks --------


class CopyHead(OutputHead):
    """The output head of a copying model: `CopyGenerator` over the logits and attention.

    Its extra input is `copy_ids` (`SourceBatch.copy_ids`); the architecture hands it the
    attention weights over the source and its decoder vectors (the generation gate's
    features) at every step, and feeds copied ids (`>= V`) back as `[UNK]`.

    Args:
        config: ModelConfig with `copy_attention=True`.

    Example:
    >>> CopyHead(ModelConfig(30, 20, copy_attention=True)).extends_vocabulary
    True
    """

    extends_vocabulary = True
    reads_decoder = True
    extra_names = ("copy_ids",)

    def __init__(self, config: ModelConfig):
        self.config = config

    def make_layers(self) -> dict[str, keras.layers.Layer]:
        return {"copy_generator": CopyGenerator(self.config.coverage_loss, name="copy_generator")}

    def apply(self, get, logits, attention, features, extras, target_mask):
        features = ops.concatenate([ops.cast(f, "float32") for f in features], axis=-1)
        return get("copy_generator")([logits, attention, features, extras[0], target_mask])

    def batch_extras(self, batch: SourceBatch) -> list[tf.Tensor]:
        if batch.copy_ids is None:
            raise ValueError(
                "This model has copy attention: pass the source's copy ids "
                "(keras_seq2seq.models.copying.CopyVocabulary.copy_ids) with the source ids, "
                "e.g. through keras_seq2seq.models.copying.source_batch."
            )
        return [tf.cast(batch.copy_ids, tf.int32)]

    def step_tokens(self, tokens: tf.Tensor) -> tf.Tensor:
        return tf.where(tokens >= self.config.target_vocabulary_size, UNK_ID, tokens)

    def log_probs(self, outputs: tf.Tensor) -> tf.Tensor:
        return tf.cast(outputs, tf.float32)  # the generator gives log-probabilities


@register_output_head
def copy_head(config: ModelConfig, architecture: type, options: Any) -> CopyHead | None:
    """The copy head when `config.copy_attention` is set (the head factory of this feature).

    Raises:
        ValueError: the architecture calls no output-head hooks, or computes no attention
            with these options.
    """
    if not config.copy_attention:
        return None
    if not architecture.supports_output_heads:
        raise ValueError(
            f"The {architecture.name!r} architecture has no copy attention; train it without "
            "--copy-attention, or use 'rnn' or 'transformer'."
        )
    if not architecture.attends(options):
        raise ValueError(
            "Copy attention copies source tokens by the attention weights, so it needs "
            "attention: use attention='dot' or 'additive' with copy_attention=True."
        )
    return CopyHead(config)


def copies(model: Any) -> bool:
    """Whether `model` (a ModelConfig, or a model with a `head`) copies source tokens.

    Example:
    >>> copies(ModelConfig(30, 20, copy_attention=True))
    True
    """
    if isinstance(model, ModelConfig):
        return model.copy_attention
    return isinstance(model.head, CopyHead)


def copy_vocabulary_for(
    config: ModelConfig, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
    max_source_length: int,
) -> CopyVocabulary | None:  # fmt: skip
    """The CopyVocabulary a training pipeline needs for `config` (None when it does not copy).

    Example:
    >>> copy_vocabulary_for(ModelConfig(30, 20), src_tok, tgt_tok, 40) is None  # doctest: +SKIP
    True
    """
    if not config.copy_attention:
        return None
    return CopyVocabulary(source_tokenizer, target_tokenizer, max_source_length)


def check_token_level_student(model_options: dict | None, mode: str) -> None:
    """Checks that a token-level distillation student does not copy source tokens.

    Raises:
        ValueError: `mode` is token-level and the options ask for copy attention.
    """
    if mode != "sequence" and (model_options or {}).get("copy_attention"):
        raise ValueError(
            "Token-level distillation compares distributions over the target vocabulary, and a "
            "student with copy attention predicts over source positions too: use "
            "mode='sequence', or leave copy_attention out."
        )


def source_batch(
    model: Any, copy: CopyVocabulary | None, source_ids: tf.Tensor, max_length: Any = 0,
    surfaces: tf.Tensor | None = None, texts: tf.Tensor | None = None,
) -> SourceBatch:  # fmt: skip
    """The SourceBatch of `source_ids` for `model`: with its copy ids when the model copies.

    The copy ids come from `CopyVocabulary.encode_sources`, as in training and scoring.

    Args:
        model: ModelConfig, architecture or ensemble.
        copy: CopyVocabulary (needed when the model copies) or None.
        source_ids: int32 `[B, S]`.
        max_length: int. The most decoding steps that will follow. Defaults to `0`.
        surfaces: tf.string `[B, S]` from `CopyVocabulary.source_surfaces`, or None to
            compute them from `texts`.
        texts: tf.string `[B]` the source texts (when `surfaces` is None).

    Returns:
        SourceBatch.

    Raises:
        ValueError: the model copies and neither `surfaces` nor `texts` is given.

    Example:
    >>> batch = source_batch(config, copy, source_ids, 10, texts=texts)  # doctest: +SKIP
    """
    if not copies(model):
        return SourceBatch(source_ids, max_length)
    if surfaces is None and texts is None:
        raise ValueError(
            "A model with copy attention needs its sources' texts (or their surfaces) to "
            "build their copy ids."
        )
    _, copy_ids = copy.encode_sources(texts, source_ids, surfaces)
    return SourceBatch(source_ids, max_length, copy_ids)


def scoring_inputs(
    model: Any, copy: Callable[[], CopyVocabulary], source_ids: tf.Tensor, sources: tf.Tensor,
    target_output: tf.Tensor, targets: tf.Tensor, max_target_length: int,
) -> tuple[SourceBatch, tf.Tensor]:  # fmt: skip
    """The SourceBatch and the target ids to score `targets` with, under teacher forcing.

    A copying model scores each `[UNK]` target token that a source token spells at that
    token's extended id, as it was trained (`CopyVocabulary.extended_targets`).

    Args:
        model: ModelConfig, architecture or ensemble.
        copy: callable returning the CopyVocabulary (called only for a copying model).
        source_ids: int32 `[B, S]`.
        sources: tf.string `[B]` the source texts.
        target_output: int32 `[B, T]` target ids, [END] after the tokens.
        targets: tf.string `[B]` the target texts.
        max_target_length: int. Target tokens kept before [END].

    Returns:
        `(batch, target_output)`.

    Example:
    >>> batch, out = scoring_inputs(model, get_copy, ids, texts, out, targets, 20)  # doctest: +SKIP
    """
    if not copies(model):
        return SourceBatch(source_ids, 0), target_output
    vocabulary = copy()
    surfaces, copy_ids = vocabulary.encode_sources(sources, source_ids)
    target_surfaces = vocabulary.target_tokenizer.tokenize_to_surface(targets)
    target_surfaces = target_surfaces[:, :max_target_length]
    end_text = tf.RaggedTensor.from_tensor(tf.fill([target_surfaces.nrows(), 1], ""))
    target_output = vocabulary.extended_targets(
        target_output,
        tf.concat([target_surfaces, end_text], axis=1).to_tensor(""),
        surfaces,
        copy_ids,
    )
    return SourceBatch(source_ids, 0, copy_ids), target_output
