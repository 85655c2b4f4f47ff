"""The builtin `pinyin` dataset: Chinese phrase → pinyin with tone numbers.

Read from the phrase dictionary shipped with the `pypinyin` package
(`pypinyin.phrases_dict.phrases_dict`, 47,111 phrases of 2 to 10 characters in 0.55.0). The
source is the phrase, e.g. "中国" (a character tokenizer splits it); the target is one
syllable per character separated by single spaces, with the tone as a trailing digit, e.g.
"zhong1 guo2" (a word tokenizer splits it). Tone-marked syllables are converted with
`pypinyin.contrib.tone_convert.to_tone3`:

- the neutral tone is written `5` ("yi1 ding1 dian3 er5"), so every syllable ends in a digit;
- "ü" is written `v` ("lv4"), so targets are ASCII only (`[a-z]+[1-5]` syllables).

A phrase with alternative readings (e.g. "朝阳": "zhao1 yang2" and "chao2 yang2") gives one
pair per reading, kept together as references. The split is by phrase, from a hash of the
phrase (BLAKE2b, buckets 0-89 train, 90-94 validation, 95-99 test), independent of the
dictionary's order. Sizes with pypinyin 0.55.0 (phrases / pairs): train 42,396 / 42,397,
validation 2,410 / 2,410, test 2,305 / 2,306. Every split is capped at 50,000 pairs by
default (none reaches it today; the cap guards against a much larger future dictionary).
`seed` shuffles the order of the phrases; `max_examples` takes whole phrases from that order
up to the cap. Loading takes about 0.6 s the first time, then comes from a cache.
"""

from __future__ import annotations

import functools
import itertools
import random

from keras_seq2seq.data.datasets import _take_whole_entries, split_of_key

__all__ = ["DEFAULT_MAX_EXAMPLES", "load"]

DEFAULT_MAX_EXAMPLES = 50_000


@functools.cache
def _lexicon() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Returns `{split: ((phrase, reading, reading...), ...)}`, phrases sorted."""
    try:
        from pypinyin.contrib.tone_convert import to_tone3
        from pypinyin.phrases_dict import phrases_dict
    except ImportError as error:
        raise ImportError(
            "The `pinyin` dataset needs the `pypinyin` package: `pip install pypinyin`."
        ) from error
    convert = functools.cache(lambda syllable: to_tone3(syllable, neutral_tone_with_five=True))
    splits: dict[str, list[tuple[str, ...]]] = {"train": [], "validation": [], "test": []}
    for phrase in sorted(phrases_dict):
        readings: list[str] = []
        for syllables in itertools.product(*phrases_dict[phrase]):
            reading = " ".join(convert(syllable) for syllable in syllables)
            if reading not in readings:
                readings.append(reading)
        splits[split_of_key(phrase)].append((phrase, *readings))
    return {name: tuple(entries) for name, entries in splits.items()}


def load(split: str, *, seed: int, max_examples: int | None) -> list[tuple[str, str]]:
    """Loads one split of the `pinyin` dataset (arguments checked by `load_dataset`)."""
    entries = list(_lexicon()[split])
    random.Random(f"keras_seq2seq.pinyin:{split}:{seed}").shuffle(entries)
    cap = DEFAULT_MAX_EXAMPLES if max_examples is None else max_examples
    return _take_whole_entries(entries, cap)


DESCRIPTION = (
    "pinyin: Chinese phrase → pinyin with tone numbers from pypinyin's phrase dictionary "
    "(e.g. '中国' → 'zhong1 guo2'; neutral tone 5, ü written v). One pair per reading, so "
    "phrases with several readings keep several references. Split by phrase (hash, "
    "90/5/5): about 42,400 train, 2,400 validation and 2,300 test pairs."
)
