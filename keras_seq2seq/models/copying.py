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
"""

from __future__ import annotations

import tensorflow as tf

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
