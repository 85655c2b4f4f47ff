"""Command-line flags generated from dataclass fields: one definition per setting.

A config or options dataclass field carries its flag as field metadata (`cli_flag`): the flag
name, its help, and how the text is parsed (`type`, `choices`, `check`). This module builds the
argparse arguments from those fields (`add_field_arguments`, `add_side_arguments`,
`add_shared_arguments`) and reads the parsed namespace back into keyword arguments
(`field_values`, `side_values`, `shared_values`). The default a flag's help shows is the field's
default, so no default, name, help or choice is written twice.

A flag's argparse `dest` is the field name (`{side}_{name}` for a per-side flag), so a
command's own arguments must not reuse field names. Standard library only: the command line
imports this module before TensorFlow.

Example:
>>> import argparse, dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Options:
...     width: int = dataclasses.field(
...         default=4, metadata=cli_flag("--width", "beam width", type=positive_int, metavar="N")
...     )
>>> parser = argparse.ArgumentParser()
>>> add_field_arguments(parser, Options)
>>> field_values(parser.parse_args(["--width", "8"]), Options)
{'width': 8}
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

CLI_KEY = "cli"
"""The key of a field's metadata that holds its `CliFlag`."""

SIDES = ("source", "target")


@dataclasses.dataclass(frozen=True)
class CliFlag:
    """How one dataclass field appears on the command line.

    Args:
        flag: str or None. The flag setting the field (on every side, for a per-side field);
            None for a field set only per side (`side_flag`).
        help: str. The help text, without the default (added from the field's default).
        type: callable or None. Parses the text (raising `argparse.ArgumentTypeError`);
            `bool` makes a switch that sets True. Defaults to `None` (the text itself).
        metavar: str or None. The placeholder in the help. Defaults to `None`.
        choices: sequence or None. The values allowed (from a registry). Defaults to `None`.
        check: callable or None. `check(text, flag)` returns the value or raises
            `TypeError`/`ValueError`, reported as a usage error. Defaults to `None`.
        listed: iterable or None. Names the help lists without restricting the value (the
            library checks it, with its own message). Defaults to `None`.
        side_flag: str or None. A flag per side, `{side}` standing for `source`/`target`.
        side_help: str or None. The help of a per-side flag, with `{side}`.
        sides: tuple of str. The sides a per-side field applies to. Defaults to both.
        show_default: bool. Whether the help ends with the field's default. Defaults to `True`.
        parsed_default: bool. Whether a flag not given parses to the field's default (it then
            always sets the field, over a recipe) instead of None. Defaults to `False`.
        nargs: str or None. argparse `nargs` (`"?"`: the flag alone gives `const`).
        const: the value of the flag given alone (with `nargs="?"`).
    """

    flag: str | None
    help: str
    type: Callable[[str], Any] | None = None
    metavar: str | None = None
    choices: Sequence[Any] | None = None
    check: Callable[[Any, str], Any] | None = None
    listed: Iterable[str] | None = None
    side_flag: str | None = None
    side_help: str | None = None
    sides: tuple[str, ...] = SIDES
    show_default: bool = True
    parsed_default: bool = False
    nargs: str | None = None
    const: Any = None


def cli_flag(flag: str | None, help: str, **spec: Any) -> dict[str, CliFlag]:
    """The field metadata that puts a field on the command line.

    Args:
        flag: str or None. The flag, e.g. `"--beam-width"` (see `CliFlag`).
        help: str. The help text, without the default.
        **spec: the other `CliFlag` arguments.

    Returns:
        dict. Pass it as `dataclasses.field(metadata=...)`.

    Example:
    >>> cli_flag("--units", "model width", type=positive_int, metavar="N")["cli"].flag
    '--units'
    """
    return {CLI_KEY: CliFlag(flag, help, **spec)}


def flagged_fields(cls: type) -> list[tuple[dataclasses.Field, CliFlag]]:
    """The fields of dataclass `cls` that have a command-line flag, in field order.

    Example:
    >>> import dataclasses
    >>> @dataclasses.dataclass
    ... class A:
    ...     x: int = dataclasses.field(default=1, metadata=cli_flag("--x", "x"))
    ...     y: int = 2
    >>> [field.name for field, _ in flagged_fields(A)]
    ['x']
    """
    return [
        (field, field.metadata[CLI_KEY])
        for field in dataclasses.fields(cls)
        if CLI_KEY in field.metadata
    ]


def field_flags(cls: type) -> dict[str, str]:
    """Field name -> flag, for the fields of `cls` with a flag of their own."""
    return {field.name: spec.flag for field, spec in flagged_fields(cls) if spec.flag}


def _shown(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def _help(spec: CliFlag, text: str, default: Any) -> str:
    if spec.listed is not None:
        text = f"{text}: {', '.join(spec.listed)}"
    if not spec.show_default or default in (None, dataclasses.MISSING) or isinstance(default, bool):
        return text
    return f"{text} (default {_shown(default)})"


def _checked(check: Callable[[Any, str], Any], flag: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return check(text, flag)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _add(group, field: dataclasses.Field, flag: str, dest: str, help: str) -> None:
    """Adds one argument; not given, it parses to None (the config's value applies), or to
    the field's default with `parsed_default`."""
    spec = field.metadata[CLI_KEY]
    default = field.default if spec.parsed_default else None
    if spec.type is bool:
        group.add_argument(flag, dest=dest, action="store_const", const=True, default=default,
                           help=help)  # fmt: skip
        return
    parse = _checked(spec.check, flag) if spec.check else spec.type
    group.add_argument(
        flag, dest=dest, type=parse, metavar=spec.metavar, choices=spec.choices, help=help,
        default=default, **({"nargs": spec.nargs, "const": spec.const} if spec.nargs else {}),
    )  # fmt: skip


def add_field_arguments(
    group,
    cls: type,
    names: Sequence[str] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Adds a flag for each flagged field of `cls` (not given: parsed as None).

    Args:
        group: an argparse parser or argument group.
        cls: the dataclass.
        names: the fields to add, in this order (default: every flagged field).
        defaults: what the command uses where a flag is not given, when that is not the
            field's default (shown in the help).

    Raises:
        ValueError: a name that is not a flagged field of `cls`.
    """
    specs = {field.name: (field, spec) for field, spec in flagged_fields(cls)}
    unknown = sorted(set(names or ()) - set(specs))
    if unknown:
        raise ValueError(
            f"{cls.__name__} has no field with a command-line flag named {unknown}. Fields with "
            f"a flag: {sorted(specs)}."
        )
    for name in specs if names is None else names:
        field, spec = specs[name]
        default = (defaults or {}).get(name, field.default)
        _add(group, field, spec.flag, name, _help(spec, spec.help, default))


def field_values(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of `cls` given on the command line (flags not given are left out).

    Args:
        args: the parsed namespace.
        cls: the dataclass whose flags were added with `add_field_arguments`.

    Returns:
        dict from field name to value: keyword arguments of `cls`.
    """
    values = {field.name: getattr(args, field.name, None) for field, _ in flagged_fields(cls)}
    return {name: value for name, value in values.items() if value is not None}


def add_side_arguments(group, cls: type) -> None:
    """Adds the flags of a per-side dataclass (one config per side, e.g. `TextConfig`).

    A field's `flag` sets it on every side it applies to; its `side_flag` (one per side) sets
    it on one side and wins over `flag`. The help of a side flag shows the field's default
    only when the field has no `flag` for both sides.
    """
    for field, spec in flagged_fields(cls):
        if spec.flag:
            _add(group, field, spec.flag, field.name, _help(spec, spec.help, field.default))
        if spec.side_flag:
            default = None if spec.flag else field.default
            for side in spec.sides:
                text = _help(spec, spec.side_help.format(side=side), default)
                _add(group, field, spec.side_flag.format(side=side), f"{side}_{field.name}", text)


def side_values(args: argparse.Namespace, cls: type, side: str) -> dict[str, Any]:
    """The fields of one side given on the command line (see `add_side_arguments`)."""
    values = {}
    for field, spec in flagged_fields(cls):
        if side not in spec.sides:
            continue
        value = getattr(args, f"{side}_{field.name}", None) if spec.side_flag else None
        if value is None and spec.flag:
            value = getattr(args, field.name, None)
        if value is not None:
            values[field.name] = value
    return values


def _shared_fields(classes: Mapping[str, type]) -> dict[str, tuple]:
    """Field name -> (field, spec, owners) over several classes; a shared name is one flag."""
    found: dict[str, tuple] = {}
    for owner, cls in classes.items():
        for field, spec in flagged_fields(cls):
            _, _, owners = found.setdefault(field.name, (field, spec, []))
            owners.append(owner)
    return found


def add_shared_arguments(group, classes: Mapping[str, type]) -> None:
    """Adds the flags of several options classes, e.g. every registered architecture's.

    A field that several classes have (by name) is one flag, defined by the first class. Each
    help starts with the names of the classes that have the field (`rnn: ...`).

    Args:
        group: an argparse parser or argument group.
        classes: mapping from a name (shown in the help) to a dataclass.
    """
    for name, (field, spec, owners) in _shared_fields(classes).items():
        text = f"{' and '.join(owners)}: {spec.help}"
        _add(group, field, spec.flag, name, _help(spec, text, field.default))


def shared_values(args: argparse.Namespace, classes: Mapping[str, type]) -> dict[str, Any]:
    """The fields of `classes` given on the command line (see `add_shared_arguments`)."""
    values = {name: getattr(args, name, None) for name in _shared_fields(classes)}
    return {name: value for name, value in values.items() if value is not None}


# -- value parsers (argparse `type`s): usage errors say what was expected -------------------


def int_at_least(minimum: int, description: str) -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum`, else an error naming `description`.

    Example:
    >>> int_at_least(2, "an integer >= 2")("3")
    3
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {description}, got {value}")
        return value

    return parse


positive_int = int_at_least(1, "a positive integer")
non_negative_int = int_at_least(0, "an integer >= 0")


def non_negative_float(text: str) -> float:
    """An argparse type: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def finite_float(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    value = non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number > 0."""
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value
