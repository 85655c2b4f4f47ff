"""In-graph tokenizers on `tf.string` tensors.

The same tokenizer object runs in the tf.data training pipeline, in `Translator.translate` and
inside an exported SavedModel, so text is never tokenized two different ways. Only TF core ops and
`tensorflow_text.normalize_utf8` are used, which stock TF Serving links.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from keras_seq2seq.config import TextConfig
from keras_seq2seq.text.vocabulary import (
    END_ID,
    PAD_ID,
    RESERVED_TOKENS,
    START_ID,
    UNK_ID,
    build_vocabulary,
    check_vocabulary,
)

# Runs of whitespace, Unicode separators and control characters become one space: a tab or a
# line break inside an input must not leak into a TSV line or a vocabulary file.
_SPACE_PATTERN = r"[\s\p{Z}\p{Cc}]+"
# Punctuation and symbols become tokens of their own in the word tokenizer.
_PUNCTUATION_PATTERN = r"([\p{P}\p{S}])"


def normalize_text(texts: tf.Tensor, *, lowercase: bool = False) -> tf.Tensor:
    """Normalizes a batch of strings the way every tokenizer here sees them.

    Invalid UTF-8 bytes become U+FFFD, then NFKC normalization, optional lower-casing, and
    whitespace/control-character runs collapse to one space with no space at either end.

    Args:
        texts: tf.string tensor of any shape.
        lowercase: bool. Lower-case after normalization. Defaults to `False`.

    Returns:
        tf.string tensor of the same shape.

    Example:
    >>> normalize_text(tf.constant(["  Ｈｅｌｌｏ\\tworld "])).numpy()
    array([b'Hello world'], dtype=object)
    """
    texts = tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    texts = tf_text.normalize_utf8(texts, "NFKC")
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.regex_replace(texts, _SPACE_PATTERN, " ")
    return tf.strings.strip(texts)


class Tokenizer(tf.Module, metaclass=abc.ABCMeta):
    """Base class: normalize → split into token strings → look up ids, and back.

    Subclasses define `split` (strings → ragged token strings) and `join` (ragged token
    strings → strings). Ids are int32; unknown tokens map to `[UNK]`.

    Args:
        vocabulary: list of str starting with the reserved tokens
            `[PAD]`, `[UNK]`, `[START]`, `[END]`.
        lowercase: bool. Lower-case the text before splitting. Defaults to `False`.
        name: str or None. Module name.

    Raises:
        ValueError: the vocabulary is malformed.
    """

    kind = "base"
    asset_names: tuple[str, ...] = ()
    """Files besides the vocabulary that the tokenizer needs (see `assets`)."""

    def __init__(self, vocabulary: Sequence[str], *, lowercase: bool = False, name=None):
        super().__init__(name=name)
        vocabulary = list(vocabulary)
        check_vocabulary(vocabulary)
        # A plain tuple: tf.Module would wrap a list attribute into a tracked ListWrapper.
        self._vocabulary = tuple(vocabulary)
        self.lowercase = bool(lowercase)
        self._tokens = tf.constant(vocabulary, dtype=tf.string)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                self._tokens, tf.range(len(vocabulary), dtype=tf.int64)
            ),
            default_value=UNK_ID,
        )

    @property
    def vocabulary(self) -> list[str]:
        return list(self._vocabulary)

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocabulary)

    def get_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase}

    @classmethod
    def fit(cls, config: TextConfig, texts: Sequence[str]) -> Tokenizer:
        """A tokenizer of this kind learned from training texts (see `fit_tokenizer`)."""
        return cls(cls.learn_vocabulary(config, texts), lowercase=config.lowercase)

    @classmethod
    def from_assets(
        cls, config: TextConfig, vocabulary: Sequence[str], assets: dict[str, bytes]
    ) -> Tokenizer:
        """The tokenizer of a saved vocabulary and its asset files (`asset_names`)."""
        del assets  # a vocabulary is all these tokenizers need
        return cls(vocabulary, lowercase=config.lowercase)

    def assets(self) -> dict[str, bytes]:
        """Files to save beside the vocabulary, by name (e.g. a SentencePiece model)."""
        return {}

    @classmethod
    def learn_vocabulary(cls, config: TextConfig, texts: Sequence[str]) -> list[str]:
        """Learns this tokenizer's vocabulary from training texts (used by `fit_tokenizer`).

        The most frequent tokens of `split` are kept (`build_vocabulary`); subword tokenizers
        override this with their own learner.

        Args:
            config: TextConfig. Lower-casing, `max_vocabulary_size` and `min_count`.
            texts: sequence of str. Training texts of one side.

        Returns:
            list of str, the reserved tokens first.
        """
        probe = cls(list(RESERVED_TOKENS) + ["a"], lowercase=config.lowercase)
        return build_vocabulary(
            iterate_token_strings(probe, texts),
            max_size=config.max_vocabulary_size,
            min_count=config.min_count,
        )

    def normalize(self, texts: tf.Tensor) -> tf.Tensor:
        return normalize_text(texts, lowercase=self.lowercase)

    @abc.abstractmethod
    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Splits normalized strings [B] into token strings, ragged [B, (tokens)]."""

    @abc.abstractmethod
    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        """Joins ragged token strings [B, (tokens)] back into strings [B]."""

    def tokenize_to_strings(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Normalizes and splits strings [B] into token strings, ragged [B, (tokens)]."""
        return self.split(self.normalize(tf.convert_to_tensor(texts, dtype=tf.string)))

    def tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Strings [B] → token ids, ragged int32 [B, (tokens)] without [START]/[END].

        Example:
        >>> tok = CharTokenizer(["[PAD]", "[UNK]", "[START]", "[END]", "a", "b"])
        >>> tok.tokenize(tf.constant(["abz"])).to_list()
        [[4, 5, 1]]
        """
        tokens = self.tokenize_to_strings(texts)
        return tf.cast(tokens.with_flat_values(self._table.lookup(tokens.flat_values)), tf.int32)

    def tokenize_to_surface(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Strings [B] → the text of each token, ragged [B, (tokens)], aligned with `tokenize`.

        Like `tokenize_to_strings`, except that a token outside the vocabulary keeps its own
        text where the tokenizer knows it (a WordPiece `[UNK]` is the whole word it stands
        for). Copy attention and `replace_unknown` copy these texts into outputs.
        """
        return self.tokenize_to_strings(texts)

    def token_strings(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.RaggedTensor:
        """Token ids [B, T] → the vocabulary's strings of the ids that are text, ragged.

        Raises:
            tf.errors.InvalidArgumentError: an id is outside the vocabulary (when the graph
                runs): ids are never clamped into range.
        """
        return tf.gather(self._tokens, self.checked_ids(ids, self.vocabulary_size))

    def detokenize(self, ids: tf.Tensor | tf.RaggedTensor) -> tf.Tensor:
        """Token ids [B, T] (dense or ragged) → strings [B].

        Everything from the first [END] on is dropped, and so are [PAD] and [START];
        unknown tokens come back as the text `[UNK]`.

        Raises:
            tf.errors.InvalidArgumentError: an id is outside the vocabulary (when the graph
                runs); an id that no token stands for is an error, never clamped.
        """
        return self.join(self.token_strings(ids))

    @classmethod
    def checked_ids(cls, ids: tf.Tensor | tf.RaggedTensor, limit: Any) -> tf.RaggedTensor:
        """`kept_ids(ids)`, after checking in graph that every one of them is below `limit`.

        Args:
            ids: int [B, T], dense or ragged.
            limit: int or int32 scalar tensor. How many ids can be turned into text.

        Returns:
            int32 ragged [B, (tokens)].
        """
        kept = cls.kept_ids(ids)
        check = tf.debugging.assert_less(
            kept.flat_values,
            tf.cast(limit, tf.int32),
            message=(
                "Cannot detokenize: a token id is outside the vocabulary (ids must be below "
                "the limit shown). The ids do not come from this model's vocabulary; decode "
                "them with the tokenizer the model was trained with."
            ),
        )
        with tf.control_dependencies([check] if check is not None else []):
            return tf.identity(kept)

    @staticmethod
    def kept_ids(ids: tf.Tensor | tf.RaggedTensor) -> tf.RaggedTensor:
        """The ids that are text: before the first [END], without [PAD] and [START].

        Args:
            ids: int [B, T], dense or ragged.

        Returns:
            int32 ragged [B, (tokens)].
        """
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(default_value=PAD_ID)
        ids = tf.cast(tf.convert_to_tensor(ids), tf.int32)
        before_end = tf.cumsum(tf.cast(ids == END_ID, tf.int32), axis=-1, exclusive=True) == 0
        keep = before_end & (ids != PAD_ID) & (ids != START_ID) & (ids != END_ID)
        return tf.ragged.boolean_mask(ids, keep)


class CharTokenizer(Tokenizer):
    """One token per Unicode character (spaces included).

    Example:
    >>> tok = fit_tokenizer(TextConfig(tokenizer="char"), ["héllo"])
    >>> tok.detokenize(tok.tokenize(tf.constant(["héllo"]))).numpy()[0].decode()
    'héllo'
    """

    kind = "char"

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return tf.strings.unicode_split(texts, "UTF-8")

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        return tf.strings.reduce_join(tokens, axis=-1)


class WordTokenizer(Tokenizer):
    """Words split on whitespace, with punctuation and symbols split off as tokens.

    Detokenization joins with spaces and then removes the space before closing punctuation,
    after opening brackets and around apostrophes and hyphens between letters, so ordinary
    text comes back as it was written.

    Example:
    >>> tok = fit_tokenizer(TextConfig(tokenizer="word"), ["Hello, world!"])
    >>> tok.tokenize_to_strings(tf.constant(["Hello, world!"])).to_list()
    [[b'Hello', b',', b'world', b'!']]
    """

    kind = "word"

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        spaced = tf.strings.strip(tf.strings.regex_replace(texts, _PUNCTUATION_PATTERN, r" \1 "))
        spaced = tf.strings.regex_replace(spaced, " +", " ")
        words = tf.strings.split(spaced, sep=" ")
        # split("") gives [""]: drop empty tokens so an empty text has no tokens.
        return tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        text = tf.strings.regex_replace(text, r" ([.,!?;:%)\]}»…])", r"\1")
        text = tf.strings.regex_replace(text, r"([(\[{«¿¡]) ", r"\1")
        text = tf.strings.regex_replace(text, r"(\pL) ([’'-]) (\pL)", r"\1\2\3")
        return text


TOKENIZER_CLASSES: dict[str, type[Tokenizer]] = {
    CharTokenizer.kind: CharTokenizer,
    WordTokenizer.kind: WordTokenizer,
}


def tokenizer_class(kind: str) -> type[Tokenizer]:
    """Returns the tokenizer class for `kind` (`"char"`, `"word"`, ...).

    Raises:
        ValueError: unknown kind.
    """
    if kind not in TOKENIZER_CLASSES:
        raise ValueError(
            f"Unknown tokenizer {kind!r}. Available tokenizers: {sorted(TOKENIZER_CLASSES)}."
        )
    return TOKENIZER_CLASSES[kind]


def iterate_token_strings(
    tokenizer: Tokenizer, texts: Sequence[str], batch_size: int = 4096
) -> Iterable[list[str]]:
    """Yields the token strings of each text, tokenizing in batches (eagerly)."""
    for begin in range(0, len(texts), batch_size):
        batch = tf.constant(list(texts[begin : begin + batch_size]), dtype=tf.string)
        ragged = tokenizer.tokenize_to_strings(batch)
        flat = [token.decode("utf-8") for token in ragged.flat_values.numpy()]
        splits = ragged.row_splits.numpy()
        for row in range(len(splits) - 1):
            yield flat[splits[row] : splits[row + 1]]


def fit_tokenizer(config: TextConfig, texts: Sequence[str]) -> Tokenizer:
    """Builds a tokenizer whose vocabulary is learned from `texts`.

    Args:
        config: TextConfig. Tokenizer kind, lower-casing, vocabulary size and min count.
        texts: sequence of str. Training texts of one side.

    Returns:
        Tokenizer.

    Raises:
        ValueError: unknown tokenizer kind, or `texts` is empty.

    Example:
    >>> fit_tokenizer(TextConfig(tokenizer="char"), ["ab", "ba"]).vocabulary
    ['[PAD]', '[UNK]', '[START]', '[END]', 'a', 'b']
    """
    if len(texts) == 0:
        raise ValueError("Cannot build a vocabulary from an empty list of texts.")
    return tokenizer_class(config.tokenizer).fit(config, texts)


def tokenizer_from_vocabulary(
    config: TextConfig, vocabulary: Sequence[str], assets: dict[str, bytes] | None = None
) -> Tokenizer:
    """Creates the tokenizer described by `config` over an existing vocabulary.

    Args:
        config: TextConfig.
        vocabulary: list of str.
        assets: dict or None. The tokenizer's saved asset files by name (`asset_names`).

    Raises:
        ValueError: unknown tokenizer kind, or a malformed vocabulary or asset.
    """
    return tokenizer_class(config.tokenizer).from_assets(config, vocabulary, assets or {})


def ragged_to_numpy(ids: tf.RaggedTensor) -> list[np.ndarray]:
    """Ragged ids [B, (T)] → list of B int32 arrays."""
    flat = ids.flat_values.numpy()
    splits = ids.row_splits.numpy()
    return [flat[splits[i] : splits[i + 1]] for i in range(len(splits) - 1)]
