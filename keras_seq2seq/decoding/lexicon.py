"""A lexicon of known answers: inputs whose output is looked up, not decoded.

A model directory (a run directory or an exported version) may hold `lexicon.tsv`
(`keras_seq2seq.run_layout.LEXICON_FILE`), one `source<TAB>target` line per entry. An input
that is a source of the lexicon, compared as the source tokenizer sees it (normalized,
lower-cased when the side is; `keras_seq2seq.text.tokenizers.normalize_text`), gets the
entry's target as its best output, in process and in every decoding signature of an export:
a G2P model answers the words of its dictionary as the dictionary does and decodes only the
others. The lexicon's answer has score 0 (probability 1), is accepted whatever the model's
checks say (it is an explicit answer, not a guess) and is flagged `from_lexicon`; the other
n-best hypotheses stay the model's. An input with a non-empty forced prefix is decoded as
usual.

The file written is canonical: keys normalized, the first entry of a repeated source kept
(CMUdict lists a word's main pronunciation first).

Example:
>>> lexicon = Lexicon([("hello", "HH AH L OW"), ("Hello", "HH EH L OW")], lowercase=True)
>>> answers, known = lexicon.lookup(tf.constant(["HELLO", "world"]))
>>> answers.numpy(), known.numpy()
(array([b'HH AH L OW', b''], dtype=object), array([ True, False]))
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tensorflow as tf

from keras_seq2seq.atomic_write import write_text
from keras_seq2seq.run_layout import LEXICON_FILE
from keras_seq2seq.text.tokenizers import normalize_text

__all__ = ["Lexicon", "load_lexicon", "read_lexicon", "write_lexicon"]


class Lexicon(tf.Module):
    """A table of known answers, looked up in TF ops (exportable).

    Args:
        entries: iterable of `(source, target)` strings. A source repeated after
            normalization keeps its first target.
        lowercase: bool. Whether the source side lower-cases (its `TextConfig.lowercase`),
            so that keys are compared as the source tokenizer sees the inputs. Defaults to
            `False`.

    Raises:
        ValueError: no entries, or an entry whose source or target is empty (after
            normalization, for the source) or holds a tab or a line break; the message
            names the entry.

    Example:
    >>> Lexicon([("a", "x")]).size
    1
    """

    def __init__(self, entries: Iterable[tuple[str, str]], *, lowercase: bool = False):
        super().__init__(name="lexicon")
        self.lowercase = bool(lowercase)
        pairs = list(entries)
        if not pairs:
            raise ValueError("A lexicon needs at least one (source, target) entry.")
        for index, (source, target) in enumerate(pairs, 1):
            _check_entry(index, source, target)
        keys = normalize_text(tf.constant([s for s, _ in pairs]), lowercase=self.lowercase)
        table: dict[str, str] = {}
        for index, (key, (source, target)) in enumerate(zip(keys.numpy(), pairs, strict=True), 1):
            key = key.decode("utf-8")
            if not key:
                raise ValueError(f"Lexicon entry {index}: the source {source!r} is empty once "
                                 "normalized (whitespace only). Remove the entry.")  # fmt: skip
            table.setdefault(key, target)
        # Plain tuples: tf.Module would wrap a list attribute into a tracked ListWrapper.
        self.entries: tuple[tuple[str, str], ...] = tuple(table.items())
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(table), tf.string), tf.constant(list(table.values()), tf.string)
            ),
            default_value="",
        )

    @property
    def size(self) -> int:
        """The number of distinct (normalized) sources."""
        return len(self.entries)

    def lookup(self, texts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Looks `texts` up: `(answers, known)`, tf.string and bool tensors of their shape.

        `answers` is empty where `known` is False.
        """
        answers = self._table.lookup(normalize_text(texts, lowercase=self.lowercase))
        return answers, tf.strings.length(answers) > 0


def _check_entry(index: int, source: Any, target: Any) -> None:
    for side, value in (("source", source), ("target", target)):
        if not isinstance(value, str):
            raise ValueError(f"Lexicon entry {index}: the {side} must be a str, got "
                             f"{type(value).__name__}: {value!r}.")  # fmt: skip
        if not value.strip():
            raise ValueError(f"Lexicon entry {index} ({source!r} -> {target!r}) has an empty "
                             f"{side}: give both a source and its answer.")  # fmt: skip
        if "\t" in value or "\n" in value or "\r" in value:
            raise ValueError(f"Lexicon entry {index}: the {side} {value!r} holds a tab or a "
                             "line break, which a lexicon file cannot store.")  # fmt: skip


def read_lexicon(path: str | Path) -> list[tuple[str, str]]:
    """Reads a lexicon file: `source<TAB>target` lines, as `keras_seq2seq.read_pairs` reads them.

    So the formats and checks of a data file apply: TSV or JSON lines, optionally gzipped,
    blank lines skipped, both sides stripped, and every answer non-empty. A target may hold
    spaces (`hello<TAB>HH AH L OW`).

    Raises:
        FileNotFoundError: no such file.
        DataFormatError (a ValueError): a malformed line (named as `path:line`), or a file
            with no entries.

    Example:
    >>> read_lexicon("words.tsv")  # doctest: +SKIP
    [('hello', 'HH AH L OW')]
    """
    from keras_seq2seq.data.readers import read_pairs

    return read_pairs(path)


def write_lexicon(directory: str | Path, lexicon: Lexicon) -> Path:
    """Writes `lexicon` canonically to `DIRECTORY/lexicon.tsv` (atomically); returns the path."""
    path = Path(directory) / LEXICON_FILE
    write_text(path, "".join(f"{source}\t{target}\n" for source, target in lexicon.entries))
    return path


def load_lexicon(model_dir: str | Path, lowercase: bool) -> Lexicon | None:
    """The lexicon of a model directory (None when it has no `lexicon.tsv`).

    Raises:
        ValueError: a malformed lexicon file (names the line).
    """
    path = Path(model_dir) / LEXICON_FILE
    if not path.is_file():
        return None
    return Lexicon(read_lexicon(path), lowercase=lowercase)


def apply_lexicon(
    lexicon: Lexicon,
    texts: tf.Tensor,
    fields: dict[str, tf.Tensor],
    prefixes: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
    """Puts the lexicon's answers first: the best output of each known input.

    Args:
        lexicon: Lexicon.
        texts: tf.string `[B]`, the inputs.
        fields: `outputs` (string), `scores`, `normalized_scores` (float32) and `accepted`
            (bool), each `[B, N]`, best first.
        prefixes: tf.string `[B]` forced prefixes, or None. An input with a non-empty
            prefix keeps its decoded outputs.

    Returns:
        The same fields with row 0 of the known inputs replaced (score 0, accepted), plus
        `from_lexicon`, bool `[B]`.
    """
    answers, known = lexicon.lookup(texts)
    if prefixes is not None:
        known &= tf.strings.length(prefixes) == 0
    width = tf.shape(fields["outputs"])[1]
    first = tf.logical_and(known[:, tf.newaxis], tf.equal(tf.range(width), 0)[tf.newaxis, :])
    replaced = {
        "outputs": tf.where(first, answers[:, tf.newaxis], fields["outputs"]),
        "scores": tf.where(first, 0.0, fields["scores"]),
        "normalized_scores": tf.where(first, 0.0, fields["normalized_scores"]),
        "accepted": fields["accepted"] | first,
    }
    return {**replaced, "from_lexicon": known}
