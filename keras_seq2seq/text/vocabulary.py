"""Vocabularies: build from token counts, save to and load from a text file.

The first four ids are reserved: `[PAD]=0`, `[UNK]=1`, `[START]=2`, `[END]=3`.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from pathlib import Path

from keras_seq2seq.atomic_write import write_text

PAD, UNK, START, END = "[PAD]", "[UNK]", "[START]", "[END]"
RESERVED_TOKENS = (PAD, UNK, START, END)
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3


def build_vocabulary(
    token_lists: Iterable[Iterable[str]], *, max_size: int = 32000, min_count: int = 1
) -> list[str]:
    """Builds a vocabulary from tokenized texts, most frequent tokens first.

    Ties in frequency are broken by the token itself, so the result is deterministic.

    Args:
        token_lists: iterable of iterables of tokens (one inner iterable per text).
        max_size: int. Maximum size, reserved tokens included. Defaults to `32000`.
        min_count: int. Tokens seen fewer times are left out (they map to `[UNK]`).
            Defaults to `1`.

    Returns:
        list of str: the reserved tokens followed by the kept tokens.

    Raises:
        ValueError: `max_size` < 5 or `min_count` < 1.

    Example:
    >>> build_vocabulary([["a", "b"], ["a"]])
    ['[PAD]', '[UNK]', '[START]', '[END]', 'a', 'b']
    """
    if max_size < len(RESERVED_TOKENS) + 1:
        raise ValueError(f"`max_size` must be at least 5. Received: max_size={max_size}")
    if min_count < 1:
        raise ValueError(f"`min_count` must be at least 1. Received: min_count={min_count}")
    counts: collections.Counter[str] = collections.Counter()
    for tokens in token_lists:
        counts.update(tokens)
    for token in RESERVED_TOKENS:
        counts.pop(token, None)
    ranked = sorted(
        (item for item in counts.items() if item[1] >= min_count), key=lambda kv: (-kv[1], kv[0])
    )
    keep = max_size - len(RESERVED_TOKENS)
    return list(RESERVED_TOKENS) + [token for token, _ in ranked[:keep]]


def check_vocabulary(vocabulary: list[str], *, source: str = "vocabulary") -> None:
    """Checks that a vocabulary starts with the reserved tokens and has no duplicates.

    Args:
        vocabulary: list of str.
        source: str. Where the vocabulary came from, for error messages.

    Raises:
        ValueError: the vocabulary is malformed.
    """
    if list(vocabulary[: len(RESERVED_TOKENS)]) != list(RESERVED_TOKENS):
        raise ValueError(
            f"{source} must start with the reserved tokens {list(RESERVED_TOKENS)}. "
            f"Received first tokens: {list(vocabulary[:4])}"
        )
    if len(vocabulary) < len(RESERVED_TOKENS) + 1:
        raise ValueError(f"{source} holds no token besides the reserved ones.")
    seen: set[str] = set()
    for index, token in enumerate(vocabulary):
        if token in seen:
            raise ValueError(f"{source}: token {token!r} appears twice (line {index + 1}).")
        if token == "" or "\n" in token or "\r" in token:
            raise ValueError(
                f"{source}: line {index + 1} holds an empty token or a line break; a vocabulary "
                "file has one non-empty token per line."
            )
        seen.add(token)


def save_vocabulary(vocabulary: list[str], path: str | Path) -> None:
    """Writes one token per line (UTF-8, `\\n` line ends), atomically.

    Args:
        vocabulary: list of str, starting with the reserved tokens.
        path: destination file.

    Raises:
        ValueError: the vocabulary is malformed.

    Example:
    >>> save_vocabulary(build_vocabulary([["a"]]), "/tmp/vocab.txt")
    """
    check_vocabulary(vocabulary)
    write_text(path, "".join(token + "\n" for token in vocabulary))


def load_vocabulary(path: str | Path) -> list[str]:
    """Reads a vocabulary written by `save_vocabulary`.

    Args:
        path: vocabulary file.

    Returns:
        list of str.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: the file is not UTF-8 or not a valid vocabulary.

    Example:
    >>> load_vocabulary("/tmp/vocab.txt")[:4]
    ['[PAD]', '[UNK]', '[START]', '[END]']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Vocabulary file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not valid UTF-8: {error}") from error
    if not text.endswith("\n"):
        raise ValueError(f"{path} is truncated: a vocabulary file ends with a line break.")
    vocabulary = text[:-1].split("\n")
    check_vocabulary(vocabulary, source=str(path))
    return vocabulary
