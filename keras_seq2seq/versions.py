"""Version directories: `saved_models/NAME/1/`, `2/`, … as TF Serving numbers them.

TF Serving serves the highest number under a model's base path; `load`, `info`, `export`,
the op check and the serving check all find versions the same way, through here: directories
whose name is a non-negative integer, ordered by that number (so `10/` comes after `9/`).
No TensorFlow import.
"""

from __future__ import annotations

from pathlib import Path


def version_dirs(base: str | Path) -> list[Path]:
    """The numbered version directories under `base`, oldest first.

    Args:
        base: str or Path. A model's base directory; it need not exist.

    Returns:
        list of Path, ordered by version number; empty when `base` is not a directory.

    Example:
    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> for name in ("2", "10", "notes", "9"):
    ...     (base / name).mkdir()
    >>> [p.name for p in version_dirs(base)]
    ['2', '9', '10']
    """
    base = Path(base)
    if not base.is_dir():
        return []
    found = [child for child in base.iterdir() if child.is_dir() and child.name.isdigit()]
    return sorted(found, key=lambda child: int(child.name))


def newest_version_dir(base: str | Path) -> Path | None:
    """The highest-numbered version directory under `base` (what TF Serving serves), or None.

    Args:
        base: str or Path. A model's base directory.

    Returns:
        Path or None.

    Example:
    >>> newest_version_dir("saved_models/dates")  # doctest: +SKIP
    PosixPath('saved_models/dates/2')
    """
    versions = version_dirs(base)
    return versions[-1] if versions else None
