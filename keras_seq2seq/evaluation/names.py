"""Names reproduced exactly: the share of a source's identifiers a translation copies as is.

Technical text is full of names that a translation must carry over character for character:
package and library names (`ABySS`, `abc2midi`, `libfoo-dev`), versions, file names, options.
`names_exact` scores how many of them a system reproduces.

Definition (all case-sensitive):

- *Tokens* of a source: it is split on whitespace, and each piece is stripped of the
  punctuation `STRIP` at both ends (`"(ABySS),"` -> `ABySS`, `"libfoo.so."` -> `libfoo.so`);
  pieces with no letter or digit left are dropped.
- *Occurs in* a text: a token occurs in a text where its exact characters stand with no word
  character (`\\w`: letter, digit, `_`) right before or after them. So `GNOME` occurs in
  `GNOME-Desktop` and `3` in `Python-3-Modul` (German compounds keep the name intact), but
  `ABySS` does not occur in `ABySSS` nor `abc2midi` in `abc2Midi`.
- *Identifiers* (names) of a source: its tokens that contain a digit, an upper-case letter
  after the first character (`ABySS`, `GNOME`, `iPhone`), `_`, `-` or `.`, but neither
  abbreviations of single letters between dots (`e.g`, `i.e`) nor lower-case words joined
  by hyphens (`command-line`, `plug-in`: English compounds, translated); and its tokens that
  occur in one of the item's references, except those in `ignore` (by default
  `COMMON_WORDS`, English words that are also everyday German or French words, such as `in`).
- *Counting per occurrence*: a source with `abc2midi` twice has two identifier occurrences.
  A token that is an identifier only because a reference has it counts at most as often as
  it occurs in the reference that has it most (`and` twice in the source, once in the
  reference: one occurrence).
- *Reproduced*: an identifier that is `n` times a token of the source and occurs `m` times
  (non-overlapping) in the hypothesis counts `min(n, m)` occurrences as reproduced. Longer
  identifiers are matched first and the hypothesis text they matched is used up, so one
  stretch of the hypothesis reproduces one name: `ABySS-pe` in the hypothesis does not also
  reproduce the source's `ABySS`.

The score is `100 * reproduced / identifiers`, summed over the whole corpus (not a mean of
per-sentence shares), so sentences with many names weigh more.

Example:
>>> names_exact(["Run abc2midi on x.abc"], ["Startet abc2Midi auf x.abc"],
...             ["Startet abc2midi auf x.abc"])["names_exact"]
50.0
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

STRIP = "\"'`()[]{}<>,;:!?.«»“”„‘’"
"""Punctuation stripped from both ends of a whitespace token."""

COMMON_WORDS = frozenset({"a", "an", "also", "die", "in", "on", "so", "was"})
"""English words that are also common German or French words: names only by their form."""

_ABBREVIATION = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # e.g, i.e, z.B (after stripping)
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")  # command-line (if all lower-case)


def tokens(text: str) -> list[str]:
    """Whitespace tokens of `text` stripped of `STRIP` at both ends, empty ones dropped.

    Args:
        text: str. A sentence.

    Returns:
        A list of str: the tokens with at least one letter or digit.

    Example:
    >>> tokens('Use "libfoo.so", (ABySS) - fast.')
    ['Use', 'libfoo.so', 'ABySS', 'fast']
    """
    stripped = (piece.strip(STRIP) for piece in text.split())
    return [token for token in stripped if any(c.isalnum() for c in token)]


def _pattern(token: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(token)}(?!\w)")


def occurrences(token: str, text: str) -> int:
    """Non-overlapping occurrences of `token` in `text` not touching a word character.

    Args:
        token: str. The exact characters to find.
        text: str. Where to find them.

    Returns:
        An int >= 0.

    Example:
    >>> [occurrences("GNOME", t) for t in ("GNOME-Desktop, GNOME", "GNOMEs", "gnome")]
    [2, 0, 0]
    """
    return len(_pattern(token).findall(text))


def looks_like_identifier(token: str) -> bool:
    """Whether a token has a digit, an inner capital, `_`, `-` or `.` (not `e.g`, `plug-in`).

    Example:
    >>> [looks_like_identifier(t) for t in ("ABySS", "Python", "gtk-3", "tools", "e.g")]
    [True, False, True, False, False]
    >>> [looks_like_identifier(t) for t in ("plug-in", "D-Bus", "x86-64", "libfoo-dev")]
    [False, True, True, False]
    """
    if _ABBREVIATION.fullmatch(token) or (_COMPOUND.fullmatch(token) and token.islower()):
        return False
    return (
        any(c.isdigit() for c in token)
        or any(c.isupper() for c in token[1:])
        or any(c in "_-." for c in token)
    )


def source_names(
    source: str, references: str | Sequence[str], ignore: frozenset[str] = COMMON_WORDS
) -> Counter:
    """The identifiers of one source and how often each is one of its tokens (see the module).

    Args:
        source: str. The source sentence.
        references: str or sequence of str. Its reference translation(s).
        ignore: frozenset of str. Tokens that are identifiers only by their form. Defaults
            to `COMMON_WORDS`.

    Returns:
        A Counter from identifier to its number of occurrences as a token of `source`.

    Example:
    >>> sorted(source_names("Use GNOME with vim in Python", "Nutzen Sie GNOME mit vim"))
    ['GNOME', 'vim']
    """
    if isinstance(references, str):
        references = [references]
    names = Counter()
    for token, count in Counter(tokens(source)).items():
        if looks_like_identifier(token):
            names[token] = count
        elif token not in ignore:
            in_reference = max((occurrences(token, r) for r in references), default=0)
            if in_reference:
                names[token] = min(count, in_reference)
    return names


def _check_lengths(sources, hypotheses, references) -> None:
    for name, items in (("sources", sources), ("hypotheses", hypotheses),
                        ("references", references)):  # fmt: skip
        if isinstance(items, str):
            raise TypeError(f"`{name}` must be a list of strings, got one string: wrap it in [].")
    if not len(sources) == len(hypotheses) == len(references):
        raise ValueError(
            f"names_exact needs one hypothesis and one reference (or list of references) per "
            f"source; got {len(sources)} sources, {len(hypotheses)} hypotheses and "
            f"{len(references)} references."
        )


def _reproduced(names: Counter, hypothesis: str) -> int:
    """Occurrences of `names` found in `hypothesis`, longest first, each stretch used once."""
    found = 0
    for name in sorted(names, key=lambda n: (-len(n), n)):
        pattern = _pattern(name)
        hits = min(names[name], len(pattern.findall(hypothesis)))
        hypothesis = pattern.sub(" ", hypothesis, count=hits)
        found += hits
    return found


def names_exact(
    sources: Sequence[str],
    hypotheses: Sequence[str],
    references: Sequence[str | Sequence[str]],
    ignore: frozenset[str] = COMMON_WORDS,
) -> dict[str, Any]:
    """Percent of the sources' identifier occurrences reproduced exactly (see the module).

    Args:
        sources: list of str. Source sentences.
        hypotheses: list of str. One translation per source.
        references: list of str, or of lists of str for several references per source.
        ignore: frozenset of str. See `source_names`. Defaults to `COMMON_WORDS`.

    Returns:
        A dict: `names_exact` (float percent, `nan` when the sources hold no identifier),
        `names` (int, identifier occurrences) and `names_reproduced` (int).

    Raises:
        TypeError: if one of the three arguments is a single string.
        ValueError: if the three arguments differ in length.

    Example:
    >>> names_exact(["ABySS 2.0"], ["ABySSS 2.0"], ["ABySS 2.0"])
    {'names_exact': 50.0, 'names': 2, 'names_reproduced': 1}
    """
    _check_lengths(sources, hypotheses, references)
    total = reproduced = 0
    for source, hypothesis, refs in zip(sources, hypotheses, references, strict=True):
        names = source_names(source, refs, ignore)
        total += sum(names.values())
        reproduced += _reproduced(names, hypothesis)
    score = 100.0 * reproduced / total if total else math.nan
    return {"names_exact": score, "names": total, "names_reproduced": reproduced}
