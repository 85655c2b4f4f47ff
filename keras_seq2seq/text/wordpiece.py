"""WordPiece subword tokenizer on `tf.string` tensors, and its vocabulary learner.

Text is normalized and split into words and punctuation exactly as `WordTokenizer` does, then
each word is split into subword pieces by `tensorflow_text.WordpieceTokenizer` (greedy
longest-match-first, BERT style): a piece that continues a word carries the `##` prefix
(`"hablamos"` → `"habl"`, `"##amos"`). The graph uses TF core ops, `NormalizeUTF8` and
`WordpieceTokenizeWithOffsets`, which stock TF Serving links (`keras_seq2seq.serving.export`).

The vocabulary is learned with the BERT WordPiece learner shipped in tensorflow-text
(`tensorflow_text.tools.wordpiece_vocab.wordpiece_tokenizer_learner_lib.learn`, the function
behind `bert_vocab_from_dataset`; plain Python and NumPy, no Apache Beam) on word counts made
by this module's own pre-split, so learning and tokenizing see the same words
(`bert_vocab_from_dataset` itself splits words the BERT way, which differs). See
`learn_wordpiece_vocabulary`.
"""

from __future__ import annotations

import collections
import io
from collections.abc import Mapping, Sequence
from typing import Any

import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib

from keras_seq2seq.config import WORDPIECE_LEARNERS, TextConfig
from keras_seq2seq.text.tokenizers import (
    TOKENIZER_CLASSES,
    WordTokenizer,
    iterate_token_strings,
)
from keras_seq2seq.text.vocabulary import RESERVED_TOKENS, UNK
from keras_seq2seq.validation import check_int

SUFFIX_INDICATOR = "##"
"""Prefix of a piece that continues a word rather than starting one."""

DEFAULT_MAX_BYTES_PER_WORD = 200
"""Longer words (UTF-8 bytes) become one `[UNK]`. Above BERT's 100 because words here are not
split per CJK character: a Chinese or Japanese "word" is a run up to the next punctuation."""


def _sentencepiece_pieces(words: list[tuple[str, int]], max_size: int) -> list[str]:
    """Multi-character WordPiece pieces from a SentencePiece BPE model trained on word counts.

    The C++ trainer learns merges in seconds where the pure-Python BERT learner takes minutes.
    A piece that starts a word (`▁habl`) becomes `habl`, one that continues it (`amos`)
    becomes `##amos`; the order is the model's (most useful merges first).
    """
    import os
    import tempfile

    import sentencepiece

    with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8", delete=False) as file:
        for word, count in words:
            file.write(f"{word}\t{count}\n")
    # The trainer needs room for every character (and its 3 control pieces); the caller cuts
    # the result to the vocabulary's own size.
    characters = {char for word, _ in words for char in word}
    size = max(max_size, len(characters) + 4)
    model = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            input=file.name, input_format="tsv", model_writer=model, vocab_size=size,
            model_type="bpe", character_coverage=1.0, hard_vocab_limit=False, minloglevel=2,
            normalization_rule_name="identity", max_sentencepiece_length=64, num_threads=2,
        )  # fmt: skip
    finally:
        os.unlink(file.name)
    processor = sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = []
    for index in range(processor.get_piece_size()):
        piece = processor.id_to_piece(index)
        if processor.is_control(index) or processor.is_unknown(index) or piece == "▁":
            continue
        text = piece[1:] if piece.startswith("▁") else SUFFIX_INDICATOR + piece
        if len(text.removeprefix(SUFFIX_INDICATOR)) > 1:
            pieces.append(text)
    return pieces


def learn_wordpiece_vocabulary(
    word_counts: Mapping[str, int],
    *,
    max_size: int = 32000,
    min_count: int = 1,
    max_bytes_per_word: int = DEFAULT_MAX_BYTES_PER_WORD,
    learner: str = "sentencepiece",
) -> list[str]:
    """Learns a WordPiece vocabulary from word counts, deterministically.

    Algorithm:

    1. Empty words, reserved tokens and words longer than `max_bytes_per_word` UTF-8 bytes
       (which tokenize to `[UNK]` anyway) are dropped; the rest are put in a canonical order
       (count descending, then the word), so neither the order of the data nor Python's hash
       seed changes the result.
    2. Alphabet: every character seen, each as a word-initial piece (`"é"`) and as a suffix
       piece (`"##é"`), so any word made of seen characters can be tokenized. If `max_size`
       cannot hold both forms of every character, the most frequent characters are kept (ties
       by code point) and words with the others are left out of learning.
    3. Multi-character pieces, by `learner`:
       - `"sentencepiece"` (default): the merges of a SentencePiece BPE model trained by its
         C++ trainer on the counts of the words seen at least `min_count` times (seconds for
         a 40,000-pair file), word-initial pieces as they are and word-continuing ones with
         `##`;
       - `"bert"`: the BERT WordPiece learner of tensorflow-text
         (`wordpiece_tokenizer_learner_lib.learn`, pure Python: minutes for the same file):
         4 rounds of counting every prefix and `##` suffix substring of the words, keeping
         those seen at least a threshold number of times once longer kept pieces have
         claimed their share of the count, the threshold found by binary search (from
         `min_count` up to the largest word count) so the vocabulary lands within 5% under
         `max_size`.
    4. The vocabulary is the reserved tokens, the characters (sorted), their `##` forms
       (sorted), then the learned pieces by count (descending, ties by the piece), cut at
       `max_size`. No randomness is involved, so there is no seed.

    Args:
        word_counts: mapping from word (as `WordTokenizer.split` gives it) to its count.
        max_size: int. Maximum vocabulary size, reserved tokens included. Defaults to `32000`.
        min_count: int. Pieces seen fewer times are not learned (characters are always kept).
            Defaults to `1`.
        max_bytes_per_word: int. Words longer than this (UTF-8 bytes) are left out. Defaults
            to `200`.
        learner: str. `"sentencepiece"` or `"bert"` (step 3). Defaults to `"sentencepiece"`.

    Returns:
        list of str: at most `max_size` tokens, the reserved tokens first.

    Raises:
        ValueError: no usable word, `max_size` is too small to hold one character in both
            forms, or a non-positive `min_count`/`max_bytes_per_word`.

    Example:
    >>> learn_wordpiece_vocabulary({"hola": 3, "hablo": 2}, max_size=20)[4:9]
    ['a', 'b', 'h', 'l', 'o']
    """
    check_int("max_size", max_size)
    check_int("min_count", min_count)
    check_int("max_bytes_per_word", max_bytes_per_word)
    budget = max_size - len(RESERVED_TOKENS)
    if budget < 2:
        raise ValueError(
            "`max_size` must be at least 6 for a WordPiece vocabulary (4 reserved tokens and a "
            f"character in both its word-initial and `##` forms). Received: max_size={max_size}"
        )
    counts: collections.Counter[str] = collections.Counter()
    for word, count in word_counts.items():
        if word and word not in RESERVED_TOKENS and len(word.encode("utf-8")) <= max_bytes_per_word:
            counts[word] += int(count)
    words = sorted(((w, c) for w, c in counts.items() if c > 0), key=lambda wc: (-wc[1], wc[0]))
    if not words:
        raise ValueError(
            "Cannot learn a WordPiece vocabulary: the texts hold no word of at most "
            f"{max_bytes_per_word} UTF-8 bytes."
        )

    char_counts: collections.Counter[str] = collections.Counter()
    for word, count in words:
        for char in word:
            char_counts[char] += count
    ranked = sorted(char_counts.items(), key=lambda cc: (-cc[1], cc[0]))
    chars = sorted(char for char, _ in ranked[: budget // 2])

    if learner not in WORDPIECE_LEARNERS:
        raise ValueError(
            f"`learner` must be one of {list(WORDPIECE_LEARNERS)}. Received: {learner!r}"
        )
    if learner == "sentencepiece":
        frequent = [(word, count) for word, count in words if count >= min_count]
        learned = _sentencepiece_pieces(frequent, max_size) if frequent else []
    else:
        learned = wordpiece_tokenizer_learner_lib.learn(
            words,
            max_size,
            list(RESERVED_TOKENS),
            upper_thresh=None,
            lower_thresh=min_count,
            max_input_tokens=-1,
            max_token_length=max_bytes_per_word,
            max_unique_chars=len(chars),
            joiner=SUFFIX_INDICATOR,
        )
    vocabulary = list(RESERVED_TOKENS) + chars + [SUFFIX_INDICATOR + char for char in chars]
    seen = set(vocabulary)
    for token in learned:
        if len(vocabulary) >= max_size:
            break
        if token not in seen:
            seen.add(token)
            vocabulary.append(token)
    return vocabulary


class WordPieceTokenizer(WordTokenizer):
    """Words and punctuation as in `WordTokenizer`, each word split into WordPiece subwords.

    Pieces that continue a word start with `##`. A word that cannot be spelled with the
    vocabulary (it holds a character never seen in training) or is longer than
    `max_bytes_per_word` becomes one `[UNK]`. Detokenization glues `##` pieces to the piece
    before them, separates the others with spaces, then applies `WordTokenizer`'s punctuation
    spacing, so ordinary text comes back as it was written (after normalization).

    Args:
        vocabulary: list of str starting with the reserved tokens `[PAD]`, `[UNK]`, `[START]`,
            `[END]`; suffix pieces carry the `##` prefix.
        lowercase: bool. Lower-case the text before splitting. Defaults to `False`.
        max_bytes_per_word: int. Longer words (UTF-8 bytes) become `[UNK]`. Defaults to `200`.
        name: str or None. Module name.

    Raises:
        ValueError: the vocabulary is malformed or `max_bytes_per_word` is not positive.

    Example:
    >>> vocab = ["[PAD]", "[UNK]", "[START]", "[END]", "habl", "##amos", "##o", "."]
    >>> tok = WordPieceTokenizer(vocab)
    >>> tok.tokenize_to_strings(tf.constant(["Hablo. hablamos"])).to_list()
    [[b'[UNK]', b'.', b'habl', b'##amos']]
    >>> tok.detokenize(tf.constant([[4, 6, 7, 4, 5]])).numpy()
    array([b'hablo. hablamos'], dtype=object)
    """

    kind = "wordpiece"

    def __init__(
        self,
        vocabulary: Sequence[str],
        *,
        lowercase: bool = False,
        max_bytes_per_word: int = DEFAULT_MAX_BYTES_PER_WORD,
        name=None,
    ):
        super().__init__(vocabulary, lowercase=lowercase, name=name)
        check_int("max_bytes_per_word", max_bytes_per_word)
        self.max_bytes_per_word = max_bytes_per_word
        pieces = self._vocabulary[len(RESERVED_TOKENS) :]
        longest = max(len(token.removeprefix(SUFFIX_INDICATOR)) for token in pieces)
        # The kernel looks pieces up in the same table as `tokenize`; a miss (its own default,
        # not ours) means "not a piece".
        self._wordpiece = tf_text.WordpieceTokenizer(
            self._table,
            suffix_indicator=SUFFIX_INDICATOR,
            max_bytes_per_word=max_bytes_per_word,
            max_chars_per_token=max(longest, 1),
            token_out_type=tf.string,
            unknown_token=UNK,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_bytes_per_word": self.max_bytes_per_word}

    def split_words(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Splits normalized strings [B] into words and punctuation, ragged [B, (words)]."""
        return super().split(texts)

    def split(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Splits normalized strings [B] into WordPiece strings, ragged [B, (pieces)]."""
        pieces = self._wordpiece.tokenize(self.split_words(texts))  # [B, (words), (pieces)]
        return pieces.merge_dims(1, 2)

    def tokenize_to_surface(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """Like `tokenize_to_strings`, but an `[UNK]` piece is the whole word it stands for.

        Example:
        >>> vocab = ["[PAD]", "[UNK]", "[START]", "[END]", "habl", "##amos", "."]
        >>> WordPieceTokenizer(vocab).tokenize_to_surface(tf.constant(["Zoë hablamos."])).to_list()
        [[b'Zo\\xc3\\xab', b'habl', b'##amos', b'.']]
        """
        words = self.split_words(self.normalize(tf.convert_to_tensor(texts, dtype=tf.string)))
        pieces = self._wordpiece.tokenize(words)  # [B, (words), (pieces)]
        # The word of every piece, aligned with the pieces.
        piece_words = tf.gather(words.flat_values, pieces.values.value_rowids())
        surface = tf.where(tf.equal(pieces.flat_values, UNK), piece_words, pieces.flat_values)
        return pieces.with_flat_values(surface).merge_dims(1, 2)

    def join(self, tokens: tf.RaggedTensor) -> tf.Tensor:
        """Joins ragged piece strings [B, (pieces)] back into strings [B]."""
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        # A `##` piece continues the word before it; one at the start has nothing to continue.
        text = tf.strings.regex_replace(text, "(?:^| )" + SUFFIX_INDICATOR, "")
        return super().join(tf.strings.split(text, sep=" "))

    @classmethod
    def learn_vocabulary(cls, config: TextConfig, texts: Sequence[str]) -> list[str]:
        """Learns a WordPiece vocabulary from training texts (see `learn_wordpiece_vocabulary`).

        Args:
            config: TextConfig. Lower-casing, `max_vocabulary_size` and `min_count`.
            texts: sequence of str. Training texts of one side.

        Returns:
            list of str, at most `config.max_vocabulary_size` tokens.

        Raises:
            ValueError: the texts hold no word, or the size is too small.

        Example:
        >>> config = TextConfig(tokenizer="wordpiece", max_vocabulary_size=30)
        >>> len(WordPieceTokenizer.learn_vocabulary(config, ["hola", "hablo"])) <= 30
        True
        """
        probe = WordTokenizer(list(RESERVED_TOKENS) + ["a"], lowercase=config.lowercase)
        counts: collections.Counter[str] = collections.Counter()
        for words in iterate_token_strings(probe, texts):
            counts.update(words)
        return learn_wordpiece_vocabulary(
            counts,
            max_size=config.max_vocabulary_size,
            min_count=config.min_count,
            learner=config.wordpiece_learner,
        )


TOKENIZER_CLASSES[WordPieceTokenizer.kind] = WordPieceTokenizer
