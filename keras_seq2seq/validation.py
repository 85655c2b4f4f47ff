"""Argument checks shared by the public entry points, with messages that say how to fix them.

One rule everywhere: a value of the wrong type raises `TypeError`, a value of the right type
outside the allowed range raises `ValueError`. Bools are not accepted as numbers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any


def _message(name: str, description: str, value: Any) -> str:
    return f"`{name}` must be {description}. Received: {name}={value!r}"


def is_int(value: Any) -> bool:
    """Whether `value` is an integer (numpy integers included, bools excluded)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether `value` is a real number (ints, floats, numpy scalars; not bools)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    description: str | None = None,
) -> int:
    """Returns `value` as an int if it is an integer in `[minimum, maximum]`.

    Args:
        name: str. The argument's name, quoted in the message.
        value: the value received.
        minimum: int. Smallest allowed value. Defaults to `1`.
        maximum: int or None. Largest allowed value. Defaults to `None` (no limit).
        description: str or None. What is expected, e.g. `"an integer >= 0"`. Defaults to
            "a positive integer" for `minimum=1`, else "an integer >= minimum".

    Returns:
        int: `value`.

    Raises:
        TypeError: `value` is not an integer (bools are refused).
        ValueError: `value` is out of range.

    Example:
    >>> check_int("beam_width", 0)
    Traceback (most recent call last):
    ...
    ValueError: `beam_width` must be a positive integer. Received: beam_width=0.
    """
    if description is None:
        description = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if not is_int(value):
        raise TypeError(f"{_message(name, description, value)} of type {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"{_message(name, description, value)}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be at most {maximum}. Received: {name}={value!r}.")
    return int(value)


def check_number(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    maximum: float | None = None,
    description: str | None = None,
) -> float:
    """Returns `value` as a finite float that is `> 0` (`positive`) or `>= 0`.

    Args:
        name: str. The argument's name.
        value: the value received.
        positive: bool. Require `> 0` instead of `>= 0`. Defaults to `False`.
        maximum: float or None. Largest allowed value (inclusive). Defaults to `None`.
        description: str or None. What is expected. Defaults to "a positive finite number" or
            "a non-negative finite number".

    Returns:
        float.

    Raises:
        TypeError: `value` is not a number.
        ValueError: `value` is NaN, infinite, out of range.

    Example:
    >>> check_number("length_penalty", 0.6)
    0.6
    """
    if description is None:
        description = "a positive finite number" if positive else "a non-negative finite number"
    if not is_number(value):
        raise TypeError(f"{_message(name, description, value)} of type {type(value).__name__}.")
    number = float(value)
    low_ok = number > 0 if positive else number >= 0
    if not math.isfinite(number) or not low_ok or (maximum is not None and number > maximum):
        raise ValueError(f"{_message(name, description, value)}.")
    return number


def check_finite(name: str, value: Any) -> float:
    """Returns `value` as a float if it is a finite number (any sign).

    Raises:
        TypeError: not a number.
        ValueError: NaN or infinite.

    Example:
    >>> check_finite("min_score", -0.5)
    -0.5
    """
    description = "a finite number"
    if not is_number(value):
        raise TypeError(f"{_message(name, description, value)} of type {type(value).__name__}.")
    if not math.isfinite(float(value)):
        raise ValueError(f"{_message(name, description, value)}.")
    return float(value)


def check_fraction(name: str, value: Any, *, inclusive_high: bool = False) -> float:
    """Returns `value` as a float in `[0, 1)` (or `[0, 1]` with `inclusive_high`).

    Raises:
        TypeError: not a number.
        ValueError: outside the range.

    Example:
    >>> check_fraction("dropout", 0.1)
    0.1
    """
    upper = "1]" if inclusive_high else "1)"
    description = f"a number in [0, {upper}"
    if not is_number(value):
        raise TypeError(f"{_message(name, description, value)} of type {type(value).__name__}.")
    number = float(value)
    if not (number >= 0.0 and (number <= 1.0 if inclusive_high else number < 1.0)):
        raise ValueError(f"{_message(name, description, value)}.")
    return number


def check_bool(name: str, value: Any) -> bool:
    """Returns `value` if it is a bool.

    Raises:
        TypeError: anything else (`0`, `"yes"`, ...).

    Example:
    >>> check_bool("bidirectional", True)
    True
    """
    if not isinstance(value, bool):
        raise TypeError(
            f"`{name}` must be True or False. Received: {name}={value!r} of type "
            f"{type(value).__name__}."
        )
    return value


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Returns `value` if it is one of `choices`.

    Raises:
        TypeError: `value` is not a str.
        ValueError: `value` is not one of `choices`.

    Example:
    >>> check_choice("cell", "gru", ("lstm", "gru"))
    'gru'
    """
    description = f"one of {list(choices)}"
    if not isinstance(value, str):
        raise TypeError(f"{_message(name, description, value)} of type {type(value).__name__}.")
    if value not in choices:
        raise ValueError(f"{_message(name, description, value)}.")
    return value
