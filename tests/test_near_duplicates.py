"""Tests for benchmarks/near_duplicates.py and the split of benchmarks/translation.py.

Made-up sentences only: the exact join is checked against a brute-force all-pairs union-find.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from itertools import combinations
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str):
    """Imports a benchmark script by path (benchmarks/ is not a package)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nd = load("near_duplicates")

VOCABULARY = [f"w{k}" for k in range(40)] + ["the", "for", "library", "Python", "3", "2.7"]


def made_up_sources(count: int, seed: int) -> list[str]:
    """Families: a random base sentence and variants with one or two words changed."""
    rng = random.Random(seed)
    sources = []
    while len(sources) < count:
        base = rng.sample(VOCABULARY, rng.randint(1, 9))
        sources.append(" ".join(base))
        for _ in range(rng.randint(0, 3)):
            variant = list(base)
            for _ in range(rng.randint(1, 2)):
                variant[rng.randrange(len(variant))] = rng.choice(VOCABULARY)
            sources.append(" ".join(variant).upper() if rng.random() < 0.2 else " ".join(variant))
    return sources[:count]


def brute_force_groups(sources: list[str], threshold: float) -> list[frozenset[int]]:
    """Connected components of the `jaccard >= threshold` relation, all pairs compared."""
    parent = list(range(len(sources)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    sets = [nd.words(s) for s in sources]
    for i, j in combinations(range(len(sources)), 2):
        union = len(sets[i] | sets[j])
        if (len(sets[i] & sets[j]) / union if union else 1.0) >= threshold:
            parent[find(j)] = find(i)
    return components([find(i) for i in range(len(sources))])


def components(labels: list[int]) -> list[frozenset[int]]:
    members: dict[int, set[int]] = {}
    for position, label in enumerate(labels):
        members.setdefault(label, set()).add(position)
    return sorted((frozenset(m) for m in members.values()), key=min)


def test_words_and_jaccard_by_hand():
    assert nd.words("The GNU C library: libc6-dev.") == {
        "the", "gnu", "c", "library", "libc6", "dev",
    }  # fmt: skip
    # {python, 3, module, for, foo} vs {python, 3, module, for, bar}: 4 shared of 6.
    a, b = nd.words("Python 3 module for foo"), nd.words("python 3 module for bar")
    assert nd.jaccard(a, b) == pytest.approx(4 / 6)
    assert nd.jaccard(nd.words("..."), nd.words("!")) == 1.0
    assert nd.jaccard(nd.words("a"), nd.words("b")) == 0.0


def test_groups_link_transitively_by_hand():
    sources = [
        "a b c d e",  # 0
        "a b c d f",  # 1: 4/6 = 0.67 with 0
        "a b c d e g",  # 2: 5/6 = 0.83 with 0, 4/7 = 0.57 with 1
        "x y z",  # 3
        "A B C D E F G",  # 4: 6/7 = 0.86 with 2 (case-blind)
        "x y z",  # 5: same as 3
    ]
    assert nd.near_duplicate_groups(sources, 0.8) == [0, 1, 0, 3, 0, 3]
    assert nd.near_duplicate_groups(sources, 0.6) == [0, 0, 0, 3, 0, 3]
    assert nd.near_duplicate_groups(sources, 1.0) == [0, 1, 2, 3, 4, 3]


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 0.9, 1.0])
def test_exact_join_matches_brute_force(threshold):
    sources = made_up_sources(400, seed=int(threshold * 10))
    expected = brute_force_groups(sources, threshold)
    found = components(nd.near_duplicate_groups(sources, threshold))
    assert found == expected
    assert len(found) < len(sources)  # the made-up families do link


@pytest.mark.parametrize("bad", [0, -0.5, 1.5, "0.7"])
def test_bad_threshold_is_refused(bad):
    with pytest.raises(ValueError, match=r"threshold.*\(0, 1\]"):
        nd.near_duplicate_groups(["a b"], bad)


def test_nearest_jaccard_matches_brute_force():
    queries, corpus = made_up_sources(60, seed=1), made_up_sources(200, seed=2)
    expected = [max(nd.jaccard(nd.words(q), nd.words(c)) for c in corpus) for q in queries]
    assert nd.nearest_jaccard(queries, corpus).tolist() == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"corpus.*empty"):
        nd.nearest_jaccard(["a"], [])


def test_overlap_shares_by_hand():
    test = ["a b c d", "a b c x", "p q", "zzz"]
    train = ["a b c d", "p q r", "m n"]
    # nearest: 1.0, 3/5 = 0.6, 2/3 = 0.67, 0.0
    assert nd.overlap_shares(test, train, (0.9, 0.6, 0.5)) == {0.9: 25.0, 0.6: 75.0, 0.5: 75.0}
    with pytest.raises(ValueError, match="test_sources"):
        nd.overlap_shares([], train)


def test_grouped_split_keeps_families_whole_and_sizes_exact():
    sources = made_up_sources(600, seed=3)
    pairs = sorted({(s, f"t{k}") for k, s in enumerate(sources)})
    parts = nd.grouped_split(pairs, {"test": 60, "valid": 30}, seed=7, threshold=0.7)
    assert [len(parts[name]) for name in ("test", "valid", "train")] == [60, 30, len(pairs) - 90]
    assert sorted(p for part in parts.values() for p in part) == pairs
    side = {}
    for name, part in parts.items():
        for source, _ in part:
            side[source] = name
    groups = nd.near_duplicate_groups([s for s, _ in pairs], 0.7)
    for group in set(groups):
        sides = {side[pairs[k][0]] for k, g in enumerate(groups) if g == group}
        assert len(sides) == 1
    shares = nd.overlap_shares([s for s, _ in parts["test"]], [s for s, _ in parts["train"]],
                               (0.7,))  # fmt: skip
    assert shares == {0.7: 0.0}
    again = nd.grouped_split(pairs, {"test": 60, "valid": 30}, seed=7, threshold=0.7)
    assert again == parts
    other = nd.grouped_split(pairs, {"test": 60, "valid": 30}, seed=8, threshold=0.7)
    assert other["test"] != parts["test"]


def test_grouped_split_sends_oversized_groups_to_train():
    pairs = [(f"same words here {k % 2}", f"t{k}") for k in range(10)] + [("other", "o")]
    parts = nd.grouped_split(pairs, {"test": 1}, seed=0, threshold=0.5)
    assert parts["test"] == [("other", "o")]
    assert len(parts["train"]) == 10
    with pytest.raises(ValueError, match="train"):
        nd.grouped_split(pairs, {"train": 3}, seed=0)
    with pytest.raises(ValueError, match="counts >= 0"):
        nd.grouped_split(pairs, {"test": -1}, seed=0)


def test_translation_split_kinds_and_record_check(tmp_path):
    translation = load("translation")
    sources = made_up_sources(3_500, seed=4)
    pairs = [(s, f"t{k}") for k, s in enumerate(sources)] * 2  # duplicates are dropped
    random_split = translation.split_pairs(pairs, 1, "random")
    grouped = translation.split_pairs(pairs, 1, "grouped", 0.7)
    for splits in (random_split, grouped):
        assert [len(splits[n]) for n in ("test", "valid")] == [2_000, 1_000]
        assert sorted(p for part in splits.values() for p in part) == sorted(set(pairs))
    assert translation.overlap_report(grouped)["0.7"] == 0.0
    assert translation.overlap_report(random_split)["0.7"] > 0.0
    with pytest.raises(ValueError, match="grouped' or 'random"):
        translation.split_pairs(pairs, 1, "shuffled")

    args = translation.parse_args(["--data", "x/pairs.tsv", "--split", "grouped"])
    settings = translation.split_settings(args)
    directory = tmp_path / "split"
    directory.mkdir()
    translation.check_split_directory(directory, settings)  # no split yet: fine
    (directory / "test.src").write_text("a\n")
    with pytest.raises(SystemExit, match="other settings"):  # an older, random split
        translation.check_split_directory(directory, settings)
    (directory / "split.json").write_text(json.dumps(settings))
    translation.check_split_directory(directory, settings)
    with pytest.raises(SystemExit, match="other settings"):
        translation.check_split_directory(directory, {**settings, "seed": 99})
