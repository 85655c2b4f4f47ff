"""SentencePiece subword tokenizer: learned with `sentencepiece`, run in graph by tensorflow-text.

The model is trained by the `sentencepiece` package's C++ trainer (unigram or BPE; seconds for
tens of thousands of sentences) on text normalized the way every tokenizer here normalizes it
(`normalize_text`: NFKC, whitespace collapsed), with SentencePiece's own normalization turned
off, so training, `translate` and an exported model all see the same text. Its reserved pieces
are ours at the same ids (`[PAD]=0`, `[UNK]=1`, `[START]=2`, `[END]=3`), and byte fallback
turns a character the model never saw into its UTF-8 bytes, so detokenizing restores any text
(`libfoo2-dev`, `--help`, URLs, `C++`).

In graph it runs with `tensorflow_text.SentencepieceTokenizer`, whose ops (`SentencepieceOp`,
`SentencepieceTokenizeOp`, `SentencepieceDetokenizeOp`, ...) are in the TF-Text library stock
TF Serving links. The serialized model proto is kept in the run directory
(`source_spm.model` / `target_spm.model`) and inside an exported SavedModel.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import sentencepiece
import tensorflow as tf
import tensorflow_text as tf_text

from keras_seq2seq.config import SENTENCEPIECE_TYPES, TextConfig
from keras_seq2seq.text.tokenizers import TOKENIZER_CLASSES, Tokenizer, normalize_text
from keras_seq2seq.text.vocabulary import (
    END,
    END_ID,
    PAD,
    PAD_ID,
    START,
    START_ID,
    UNK,
    UNK_ID,
)

MODEL_ASSET = "spm.model"
"""Name of the serialized SentencePiece model among a tokenizer's assets."""


def train_sentencepiece(
    texts: Sequence[str],
    *,
    vocabulary_size: int,
    model_type: str = "unigram",
    num_threads: int = 2,
) -> bytes:
    """Trains a SentencePiece model on already-normalized texts and returns its proto.

    Args:
        texts: sequence of str, normalized (see `normalize_text`).
        vocabulary_size: int. Pieces, the reserved ones and the 256 byte pieces included.
            A small corpus may give fewer (the limit is not hard).
        model_type: str. `"unigram"` or `"bpe"`. Defaults to `"unigram"`.
        num_threads: int. Trainer threads. Defaults to `2`.

    Returns:
        bytes, the serialized `ModelProto`.

    Raises:
        ValueError: no text, a size below what the reserved and byte pieces need (or below
            that plus the texts' distinct characters), or an unknown model type.

    Example:
    >>> proto = train_sentencepiece(["hello world"] * 50, vocabulary_size=300)  # doctest: +SKIP
    """
    if model_type not in SENTENCEPIECE_TYPES:
        raise ValueError(
            f"`model_type` must be one of {list(SENTENCEPIECE_TYPES)}. Received: {model_type!r}"
        )
    lines = [text for text in texts if text]
    if not lines:
        raise ValueError("Cannot learn a SentencePiece model from empty texts.")
    if vocabulary_size < 4 + 256 + 1:
        raise ValueError(
            "A SentencePiece vocabulary holds 4 reserved pieces and 256 byte pieces (for "
            f"characters never seen in training), so `vocab_size` must be at least 261. "
            f"Received: {vocabulary_size}"
        )
    model = io.BytesIO()
    try:
        _run_trainer(lines, model, vocabulary_size, model_type, num_threads)
    except RuntimeError as error:
        needed = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", str(error))
        if not needed:
            raise
        raise ValueError(
            f"A SentencePiece vocabulary of {vocabulary_size} pieces is too small for these "
            f"texts: it must hold each of their distinct characters besides the reserved and "
            f"byte pieces, {needed.group(2)} in all. Use --vocab-size {needed.group(2)} or "
            "more (a few thousand is usual)."
        ) from error
    return model.getvalue()


def _run_trainer(lines, model, vocabulary_size, model_type, num_threads) -> None:
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocabulary_size,
        model_type=model_type,
        character_coverage=1.0,
        byte_fallback=True,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=START_ID,
        eos_id=END_ID,
        pad_piece=PAD,
        unk_piece=UNK,
        bos_piece=START,
        eos_piece=END,
        num_threads=num_threads,
        max_sentence_length=1 << 16,
        minloglevel=2,
    )


def pieces_of(model_proto: bytes) -> list[str]:
    """The pieces of a SentencePiece model, by id (the tokenizer's vocabulary)."""
    processor = sentencepiece.SentencePieceProcessor(model_proto=model_proto)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


class SentencePieceTokenizer(Tokenizer):
    """SentencePiece pieces, in graph (`tensorflow_text.SentencepieceTokenizer`).

    Args:
        vocabulary: list of str. The model's pieces by id (reserved tokens first).
        model_proto: bytes. The serialized SentencePiece model.
        lowercase: bool. Lower-case the text before tokenizing. Defaults to `False`.
        name: str or None. Module name.

    Raises:
        ValueError: the vocabulary is not the model's pieces.

    Example:
    >>> tok = SentencePieceTokenizer.fit(
    ...     TextConfig(tokenizer="sentencepiece", max_vocabulary_size=300),
    ...     ["libfoo2-dev --help"] * 20)  # doctest: +SKIP
    >>> tok.detokenize(tok.tokenize(tf.constant(["libfoo2-dev --help"]))).numpy()  # doctest: +SKIP
    array([b'libfoo2-dev --help'], dtype=object)
    """

    kind = "sentencepiece"
    asset_names = (MODEL_ASSET,)

    def __init__(
        self, vocabulary: Sequence[str], *, model_proto: bytes, lowercase: bool = False, name=None
    ):
        super().__init__(vocabulary, lowercase=lowercase, name=name)
        if pieces_of(model_proto) != list(vocabulary):
            raise ValueError(
                "The vocabulary is not the SentencePiece model's list of pieces; the "
                "vocabulary file and the model file come from different runs."
            )
        self.model_proto = model_proto
        self._sentencepiece = tf_text.SentencepieceTokenizer(model=model_proto, out_type=tf.int32)

    @classmethod
    def fit(cls, config: TextConfig, texts: Sequence[str]) -> SentencePieceTokenizer:
        """Trains the SentencePiece model on `texts` (normalized first) and wraps it.

        Raises:
            ValueError: see `train_sentencepiece`.
        """
        normalized = [
            text.decode("utf-8")
            for begin in range(0, len(texts), 4096)
            for text in normalize_text(
                tf.constant(list(texts[begin : begin + 4096])), lowercase=config.lowercase
            ).numpy()
        ]
        proto = train_sentencepiece(
            normalized,
            vocabulary_size=config.max_vocabulary_size,
            model_type=config.sentencepiece_type,
        )
        return cls(pieces_of(proto), model_proto=proto, lowercase=config.lowercase)

    @classmethod
    def from_assets(
        cls, config: TextConfig, vocabulary: Sequence[str], assets: dict[str, bytes]
    ) -> SentencePieceTokenizer:
        if MODEL_ASSET not in assets:
            raise ValueError(f"A SentencePiece tokenizer needs its model file ({MODEL_ASSET}).")
        return cls(vocabulary, model_proto=assets[MODEL_ASSET], lowercase=config.lowercase)

    def assets(self) -> dict[str, bytes]:
        return {MODEL_ASSET: self.model_proto}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "model_bytes": len(self.model_proto)}

    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        normalized = self.normalize(tf.convert_to_tensor(texts, dtype=tf.string))
        return self._sentencepiece.tokenize(normalized)

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self._sentencepiece.id_to_string(self._sentencepiece.tokenize(texts))

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        ids = tf.cast(tokens.with_flat_values(self._table.lookup(tokens.flat_values)), tf.int32)
        return self._sentencepiece.detokenize(ids)

    def detokenize(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        """Token ids [B, T] → strings [B] (everything from the first [END] on is dropped).

        Raises:
            tf.errors.InvalidArgumentError: an id is outside the vocabulary (when the graph
                runs).
        """
        return self._sentencepiece.detokenize(self.checked_ids(ids, self.vocabulary_size))


TOKENIZER_CLASSES[SentencePieceTokenizer.kind] = SentencePieceTokenizer
