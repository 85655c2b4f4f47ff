"""The trained models shipped in the repository's `saved_models/`, found by their name.

In a clone of the repository (an editable install, `pip install -e .`), a model path that does
not exist but is the bare name of a shipped model (`dates`, `cmudict-small`, ...) names that
model, from any working directory: `ks.load("cmudict-small")`, `keras-seq2seq translate
--model dates "March 3, 2021"`. A directory of that name in the working directory wins, and
any path with a directory part (`runs/dates`) is taken as given. An installation without the
repository's `saved_models/` ships no models and every name stays a path.

Example:
>>> shipped_models()  # doctest: +SKIP
['cmudict-small', 'dates']
>>> shipped_model_path("dates")  # doctest: +SKIP
PosixPath('/home/me/keras-seq2seq/saved_models/dates')
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "saved_models"
"""Where the shipped models are: `saved_models/` beside the package, in a clone."""

__all__ = ["SHIPPED_DIR", "not_found_hint", "shipped_model_path", "shipped_models"]


def shipped_models() -> list[str]:
    """The names of the shipped models, sorted (empty without the repository's `saved_models/`).

    A shipped model is a directory of `saved_models/` holding at least one numeric version.
    """
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(
        child.name
        for child in SHIPPED_DIR.iterdir()
        if child.is_dir() and any(v.is_dir() and v.name.isdigit() for v in child.iterdir())
    )


def shipped_model_path(path: str | Path) -> Path | None:
    """The shipped model a missing path names, or None.

    Args:
        path: str or Path. A model path as the user gave it.

    Returns:
        `saved_models/NAME` when `path` does not exist, is a bare name (no directory part) and
        names a shipped model; else None (the path is taken as given).

    Example:
    >>> shipped_model_path("cmudict-small")  # doctest: +SKIP
    PosixPath('/home/me/keras-seq2seq/saved_models/cmudict-small')
    """
    path = Path(path)
    if path.exists() or len(path.parts) != 1 or path.name not in shipped_models():
        return None
    return SHIPPED_DIR / path.name


def not_found_hint(path: str | Path) -> str:
    """The sentence a "model path not found" error for a bare name ends with: the names that load.

    Empty for a path with a directory part (`runs/dates`), or when no model is shipped.
    """
    names = shipped_models()
    if not names or len(Path(path).parts) != 1:
        return ""
    return f" The shipped models load by name alone: {', '.join(names)}."
