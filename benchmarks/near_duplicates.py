"""Near-duplicate source sentences: word-Jaccard groups, a grouped split, and split overlap.

A translation test set is only held out if no training pair is a near copy of one of its
pairs. Debian package descriptions come in families ("Python 3 module for X", "development
files for libY") whose members differ by a word or a version number; a random split puts
members of one family on both sides. This module finds those families and keeps each one on
one side of the split.

Words and similarity: a sentence's *words* are the set of its lower-cased `\\w+` runs
(`re.findall(r"\\w+", text.lower())`, Unicode word characters, so `libfoo-dev` is the two
words `libfoo` and `dev`). The word-Jaccard of two sentences is
`|A ∩ B| / |A ∪ B|` of their word sets (1 for two sentences with no words at all).

Groups: two sources are linked when their word-Jaccard is at least `threshold`; groups are the
connected components of that relation (union-find), so a group can hold two sources less
similar than `threshold` that are linked through a third. The join is exact, not sampled:
candidates come from prefix filtering (Bayardo et al. 2007, "Scaling up all pairs similarity
search"): with the words of every set ordered by ascending corpus frequency, two sets with
Jaccard >= t share one of the first `|A| - ceil(t * |A|) + 1` words of each, so only sets
sharing such a rare word are compared: the 62,000 English sources of English → French take
about 15 s at threshold 0.7 on a busy 2-core machine.

Example:
>>> near_duplicate_groups(["gzip 1.2 tools", "gzip 1.3 tools", "a web server"], 0.4)
[0, 0, 2]
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


def words(text: str) -> frozenset[str]:
    """The set of lower-cased `\\w+` words of `text`.

    Args:
        text: str. A sentence.

    Returns:
        A frozenset of str.

    Example:
    >>> sorted(words("The GNU C library: libc6-dev."))
    ['c', 'dev', 'gnu', 'libc6', 'library', 'the']
    """
    return frozenset(_WORD.findall(text.lower()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Word-Jaccard of two word sets: `|a & b| / |a | b|`, 1.0 when both are empty.

    Example:
    >>> jaccard(words("a b c"), words("a b d"))
    0.5
    """
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def _check_threshold(threshold: float) -> None:
    if not isinstance(threshold, (int, float)) or not 0.0 < threshold <= 1.0:
        raise ValueError(
            f"near-duplicate `threshold` must be a number in (0, 1], got {threshold!r}; "
            "use e.g. 0.7 (word-Jaccard)."
        )


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _prefix_length(size: int, fraction: float) -> int:
    """`size - ceil(fraction * size) + 1`, with the ceiling safe from float error."""
    return size - math.ceil(fraction * size - 1e-9) + 1


def _similar_pairs(sets: list[frozenset[str]], threshold: float):
    """Yields `(i, j)` for every two distinct sets with Jaccard >= threshold (AllPairs).

    Sets are visited from the smallest; each probes the index with its first
    `|x| - ceil(t |x|) + 1` words (rarest first) and is indexed under its first
    `|x| - ceil(2t / (1 + t) |x|) + 1`, which suffices against larger sets; candidates
    smaller than `t |x|` cannot reach `t`.
    """
    frequency = Counter(word for s in sets for word in s)
    index: dict[str, list[int]] = defaultdict(list)  # prefix word -> visited set ids
    index_fraction = 2 * threshold / (1 + threshold)
    for j in sorted(range(len(sets)), key=lambda k: len(sets[k])):
        current = sets[j]
        size = len(current)
        ordered = sorted(current, key=lambda word: (frequency[word], word))
        smallest = threshold * size - 1e-9
        seen = set()
        for word in ordered[: _prefix_length(size, threshold)]:
            for i in index.get(word, ()):
                other = sets[i]
                if i in seen or len(other) < smallest:
                    continue
                seen.add(i)
                shared = len(current & other)
                if shared / (size + len(other) - shared) >= threshold:
                    yield i, j
        for word in ordered[: _prefix_length(size, index_fraction)]:
            index[word].append(j)


def near_duplicate_groups(sources: Sequence[str], threshold: float = 0.7) -> list[int]:
    """Group ids linking sources whose word-Jaccard is at least `threshold` (transitively).

    Args:
        sources: sequence of str. The sentences to group.
        threshold: float in (0, 1]. Least word-Jaccard that links two sources. Defaults to
            `0.7`.

    Returns:
        A list of int, one per source: the index of the first source of its group, so the
        result does not depend on anything but the sources and their order.

    Raises:
        ValueError: if `threshold` is not in (0, 1].

    Example:
    >>> near_duplicate_groups(["x y z", "x y z w", "p q"], 0.7)
    [0, 0, 2]
    """
    _check_threshold(threshold)
    distinct: dict[frozenset[str], int] = {}
    set_of = [distinct.setdefault(words(text), len(distinct)) for text in sources]
    sets = list(distinct)
    parent = list(range(len(sets)))
    for i, j in _similar_pairs(sets, threshold):
        root_i, root_j = _find(parent, i), _find(parent, j)
        if root_i != root_j:
            parent[max(root_i, root_j)] = min(root_i, root_j)
    first_source: dict[int, int] = {}
    groups = []
    for position, set_id in enumerate(set_of):
        groups.append(first_source.setdefault(_find(parent, set_id), position))
    return groups


def grouped_split(
    pairs: Sequence[tuple[str, str]],
    sizes: dict[str, int],
    seed: int,
    threshold: float = 0.7,
) -> dict[str, list[tuple[str, str]]]:
    """Cuts pairs into named parts of given sizes and a remainder, whole groups at a time.

    The pairs' sources are grouped by `near_duplicate_groups`; the groups are shuffled with
    `random.Random(seed)` and dealt in that order: each group goes to the first part of
    `sizes` (in its order) that still has room for the whole group, else to `"train"`. Parts
    come out exactly their size when small groups are plentiful, which they are in real
    corpora; a group larger than every part's room always goes to `"train"`.

    Args:
        pairs: sequence of `(source, target)`. The pairs, already de-duplicated and in a
            fixed order (the result depends on it).
        sizes: dict from part name to its number of pairs, e.g. `{"test": 2000, "valid":
            1000}`; must not contain `"train"`.
        seed: int. Seed of the group shuffle.
        threshold: float in (0, 1]. See `near_duplicate_groups`. Defaults to `0.7`.

    Returns:
        A dict from each name of `sizes`, then `"train"`, to its list of pairs (in the order
        they were dealt).

    Raises:
        ValueError: if `sizes` names `"train"` or holds a negative size, or `threshold` is
            not in (0, 1].

    Example:
    >>> parts = grouped_split([("a b", "x"), ("a b c", "y"), ("d", "z")], {"test": 1}, 0)
    >>> sorted(len(p) for p in parts.values())
    [1, 2]
    """
    if "train" in sizes or any(not isinstance(n, int) or n < 0 for n in sizes.values()):
        raise ValueError(
            f"`sizes` must map part names other than 'train' to counts >= 0, got {sizes!r}; "
            "the training part is what is left."
        )
    groups = near_duplicate_groups([source for source, _ in pairs], threshold)
    members: dict[int, list[int]] = defaultdict(list)
    for position, group in enumerate(groups):
        members[group].append(position)
    order = sorted(members)
    random.Random(seed).shuffle(order)
    parts: dict[str, list[tuple[str, str]]] = {name: [] for name in [*sizes, "train"]}
    for group in order:
        size = len(members[group])
        name = next((n for n, cap in sizes.items() if len(parts[n]) + size <= cap), "train")
        parts[name].extend(pairs[position] for position in members[group])
    return parts


def _word_index(sets: list[frozenset[str]]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    postings: dict[str, list[int]] = defaultdict(list)
    for k, s in enumerate(sets):
        for word in s:
            postings[word].append(k)
    sizes = np.array([len(s) for s in sets], dtype=np.int64)
    return {w: np.array(ids, dtype=np.int64) for w, ids in postings.items()}, sizes


def nearest_jaccard(queries: Sequence[str], corpus: Sequence[str]) -> np.ndarray:
    """For each query, the highest word-Jaccard with any sentence of `corpus` (exact).

    Args:
        queries: sequence of str. E.g. the test sources.
        corpus: sequence of str. E.g. the training sources; must not be empty.

    Returns:
        A float64 numpy array, one value in [0, 1] per query.

    Raises:
        ValueError: if `corpus` is empty.

    Example:
    >>> nearest_jaccard(["a b c", "q"], ["a b d", "z"]).tolist()
    [0.5, 0.0]
    """
    if not corpus:
        raise ValueError("`corpus` is empty: give the sentences to compare the queries with.")
    corpus_sets = [words(text) for text in corpus]
    postings, corpus_sizes = _word_index(corpus_sets)
    empty = corpus_sizes == 0
    best = np.zeros(len(queries))
    for q, text in enumerate(queries):
        query = words(text)
        if not query:
            best[q] = 1.0 if empty.any() else 0.0
            continue
        hits = [postings[word] for word in query if word in postings]
        if not hits:
            continue
        shared = np.bincount(np.concatenate(hits), minlength=len(corpus_sets))
        best[q] = np.max(shared / (len(query) + corpus_sizes - shared))
    return best


def overlap_shares(
    test_sources: Sequence[str],
    train_sources: Sequence[str],
    thresholds: Sequence[float] = (0.9, 0.7),
) -> dict[float, float]:
    """Percent of test sources within each word-Jaccard threshold of some training source.

    Args:
        test_sources: sequence of str. One per test pair (a repeated source counts each
            time).
        train_sources: sequence of str. The training sources; must not be empty.
        thresholds: sequence of float. Defaults to `(0.9, 0.7)`.

    Returns:
        A dict from each threshold to the percentage (0-100) of test sources whose nearest
        training source has a word-Jaccard >= that threshold.

    Raises:
        ValueError: if `test_sources` or `train_sources` is empty.

    Example:
    >>> overlap_shares(["a b c", "q"], ["a b c", "z"], (0.9,))
    {0.9: 50.0}
    """
    if not test_sources:
        raise ValueError("`test_sources` is empty: give the test split's sources.")
    best = nearest_jaccard(test_sources, train_sources)
    return {t: float(100.0 * np.mean(best >= t)) for t in thresholds}
