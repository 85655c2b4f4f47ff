"""A lexicon of known answers: inputs whose output is looked up, not decoded.

A model directory may hold a lexicon: a run directory as `lexicon.tsv`
(`keras_seq2seq.run_layout.LEXICON_FILE`), an exported version as the SavedModel's asset
`assets/lexicon.tsv`; one `source<TAB>target` line per entry. An input
that is a source of the lexicon, compared as the source tokenizer sees it (normalized,
lower-cased when the side is; `keras_seq2seq.text.tokenizers.normalize_text`), gets the
entry's target as its best output, in process and in every decoding signature of an export:
a G2P model answers the words of its dictionary as the dictionary does and decodes only the
others. The lexicon's answer has score 0 (probability 1), is accepted whatever the model's
checks say (it is an explicit answer, not a guess) and is flagged `from_lexicon`; the other
n-best hypotheses stay the model's. An input with a non-empty forced prefix is decoded as
usual.

The file written is canonical: keys normalized, the first entry of a repeated source kept
(CMUdict lists a word's main pronunciation first). A canonical file loads in TensorFlow's
text-file reader without a line of Python per entry (`Lexicon.from_file`).

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
from keras_seq2seq.run_layout import LEXICON_FILE, lexicon_file
from keras_seq2seq.text.tokenizers import normalize_text

__all__ = ["Lexicon", "load_lexicon", "read_lexicon", "write_lexicon"]


class Lexicon(tf.Module):
    """A table of known answers, looked up in TF ops (exportable).

    Build one from `(source, target)` pairs (checked and normalized here) or, faster, from a
    lexicon file with `Lexicon.from_file`. A lexicon made from a file in the canonical form
    (`write`) reads its table from that file in TensorFlow's C++ text-file initializer, and an
    export carries the file as its asset `assets/lexicon.tsv`: the answers are stored once.

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
        self.path: Path | None = None
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
        self._entries: tuple[tuple[str, str], ...] | None = tuple(table.items())
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(list(table), tf.string), tf.constant(list(table.values()), tf.string)
            ),
            default_value="",
        )

    @classmethod
    def from_file(cls, path: str | Path, *, lowercase: bool = False) -> Lexicon:
        """The lexicon of a file: read by TensorFlow when canonical, else checked line by line.

        A canonical file (what `write` writes: `key<TAB>answer` lines, keys normalized and
        distinct, answers stripped) becomes a table read from the file itself, which an
        export then carries as an asset. Any other lexicon file (`read_lexicon`'s formats)
        is read, checked and normalized entry by entry, as `Lexicon(read_lexicon(path))`.

        Args:
            path: str or Path. The lexicon file.
            lowercase: bool. As for `Lexicon`. Defaults to `False`.

        Returns:
            Lexicon.

        Raises:
            FileNotFoundError: no such file.
            ValueError: a malformed file (names the line) or a bad entry (names it).

        Example:
        >>> Lexicon.from_file("saved_models/cmudict-small/3/assets/lexicon.tsv")  # doctest: +SKIP
        """
        path = Path(path)
        if not _is_canonical(path, lowercase):
            return cls(read_lexicon(path), lowercase=lowercase)
        lexicon = cls.__new__(cls)
        tf.Module.__init__(lexicon, name="lexicon")
        lexicon.lowercase = bool(lowercase)
        lexicon.path = path
        lexicon._entries = None  # read from the file when asked for
        lexicon._table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(str(path), tf.string, 0, tf.string, 1, delimiter="\t"),
            default_value="",
        )
        return lexicon

    @property
    def entries(self) -> tuple[tuple[str, str], ...]:
        """The `(key, answer)` pairs, keys normalized, in the order they were given."""
        if self._entries is None:  # a lexicon read from a canonical file: `path` is set
            with Path(self.path).open(encoding="utf-8", newline="\n") as lines:
                self._entries = tuple(
                    tuple(line.rstrip("\n").split("\t"))
                    for line in lines  # type: ignore[misc]
                )
        return self._entries

    @property
    def size(self) -> int:
        """The number of distinct (normalized) sources."""
        if self._entries is None:
            return int(self._table.size())
        return len(self._entries)

    def write(self, path: str | Path) -> Path:
        """Writes the lexicon canonically to `path` (atomically; the form `from_file` reads fast).

        Returns:
            The path written.
        """
        path = Path(path)
        if self._entries is None and self.path is not None:
            write_text(path, self.path.read_text(encoding="utf-8"))
        else:
            write_text(path, "".join(f"{key}\t{answer}\n" for key, answer in self.entries))
        return path

    def lookup(self, texts: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Looks `texts` up: `(answers, known)`, tf.string and bool tensors of their shape.

        `answers` is empty where `known` is False.
        """
        answers = self._table.lookup(normalize_text(texts, lowercase=self.lowercase))
        return answers, tf.strings.length(answers) > 0


def _is_canonical(path: Path, lowercase: bool) -> bool:
    """Whether a lexicon file is in `Lexicon.write`'s form, checked in vectorized TF ops.

    `key<TAB>answer` lines each ending in a line break; keys non-empty, normalized as the
    source side normalizes and distinct; answers non-empty and stripped. False for anything
    else (gzip, JSON lines, blank lines, raw keys), which the checked reader then handles.
    """
    if not path.is_file() or path.suffix != ".tsv":
        return False
    try:
        data = tf.io.read_file(str(path))
        if not data.numpy().endswith(b"\n"):
            return False
        columns = tf.strings.split(tf.strings.split(data, "\n")[:-1], "\t")
        if columns.nrows() == 0 or not bool(tf.reduce_all(columns.row_lengths() == 2)):
            return False
        pairs = tf.reshape(columns.flat_values, [-1, 2])
        keys, answers = pairs[:, 0], pairs[:, 1]
        return bool(
            tf.reduce_all(keys == normalize_text(keys, lowercase=lowercase))
            and tf.reduce_all(tf.strings.length(keys) > 0)
            and tf.reduce_all(answers == tf.strings.strip(answers))
            and tf.reduce_all(tf.strings.length(answers) > 0)
            and tf.size(tf.unique(keys).y) == tf.size(keys)
        )
    except tf.errors.OpError:  # unreadable or not UTF-8: the checked reader says what is wrong
        return False


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
    return lexicon.write(Path(directory) / LEXICON_FILE)


def load_lexicon(model_dir: str | Path, lowercase: bool) -> Lexicon | None:
    """The lexicon of a model directory (None when it has none; `run_layout.lexicon_file`).

    Raises:
        ValueError: a malformed lexicon file (names the line).
    """
    path = lexicon_file(model_dir)
    return None if path is None else Lexicon.from_file(path, lowercase=lowercase)


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
