"""Text: normalization, tokenizers on tf.string tensors, vocabularies."""

from keras_seq2seq.text.sentencepiece import SentencePieceTokenizer, train_sentencepiece
from keras_seq2seq.text.tokenizers import (
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    fit_tokenizer,
    normalize_text,
    tokenizer_class,
    tokenizer_from_vocabulary,
)
from keras_seq2seq.text.vocabulary import (
    END_ID,
    PAD_ID,
    RESERVED_TOKENS,
    START_ID,
    UNK_ID,
    build_vocabulary,
    load_vocabulary,
    save_vocabulary,
)
from keras_seq2seq.text.wordpiece import WordPieceTokenizer, learn_wordpiece_vocabulary

__all__ = [
    "END_ID",
    "PAD_ID",
    "RESERVED_TOKENS",
    "START_ID",
    "UNK_ID",
    "CharTokenizer",
    "SentencePieceTokenizer",
    "Tokenizer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "build_vocabulary",
    "fit_tokenizer",
    "learn_wordpiece_vocabulary",
    "load_vocabulary",
    "normalize_text",
    "save_vocabulary",
    "tokenizer_class",
    "tokenizer_from_vocabulary",
    "train_sentencepiece",
]
