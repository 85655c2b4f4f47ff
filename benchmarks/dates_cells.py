"""Dates model per (locale, format) cell: exact, refused, wrong-and-accepted, on held-out dates.

    python benchmarks/dates_cells.py [--model saved_models/dates] [--per-cell 1000]
        [--beam-width 1] [--min-score S]

Prints one markdown table, all on data the model never saw in training:

- every (locale, format) cell of the `dates` dataset (`dates.COMBINATIONS`): `--per-cell`
  test-split dates the cell may render (1950-2049 for the two-digit-year cells), in the
  dataset's case mix; exact = the ISO date, refused = empty output, wrong-and-accepted = any
  other output. Target: >= 99.5% exact and <= 0.1% wrong-and-accepted in every cell;
- the es_ES `short` ("d/M/yy") and it_IT `short` ("dd/MM/yy") cells, left out of training:
  where the string also reads as an en_US "M/d/yy" date ("3/4/21"), the US reading is right
  (the string alone can't say more); otherwise the date or a refusal is right. Target: never
  wrong;
- nonsense inputs that must come back empty.

The model's output check (`keras-seq2seq info` shows it) applies, as in `translate`.
"""

from __future__ import annotations

import argparse
import datetime
import random
import warnings

from keras_seq2seq.quiet import silence_tensorflow

NONSENSE = (
    "the 45th of Smarch",
    "the 3rd of March",
    "31/31/2020",
    "13/13/13",
    "14/12/19",
    "March 3, 2021" + "x" * 9_986,
)
EXACT_TARGET, WRONG_TARGET = 99.5, 0.1
UNTRAINED = (("es_ES", "short"), ("it_IT", "short"))


def us_reading(text: str) -> str | None:
    """The en_US "M/d/yy" reading of a slash date (window 1950-2049), or None.

    Example:
    >>> us_reading("3/4/21"), us_reading("14/12/19")
    ('2021-03-04', None)
    """
    parts = text.split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 2:
        return None
    month, day, yy = (int(p) for p in parts)
    year = (2000 if yy < 50 else 1900) + yy
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


def cell_examples(locale: str, fmt: str, count: int) -> list[tuple[str, set[str]]]:
    """`count` test-split dates rendered in one cell, each with the outputs counted right."""
    from keras_seq2seq.data.datasets import dates

    low, high = dates.TWO_DIGIT_YEARS
    windowed = (locale, fmt) in UNTRAINED or (locale, fmt) not in dates.combinations_for(
        datetime.date(low - 1, 1, 1)
    )
    days = [d for d in dates.split_dates("test") if not windowed or low <= d.year <= high]
    rng = random.Random(f"dates_cells:{locale}:{fmt}")
    examples = []
    for day in rng.sample(days, min(count, len(days))):
        text = dates.random_case(dates.render(day, locale, fmt), rng)
        if (locale, fmt) in UNTRAINED:
            us = us_reading(text)
            right = {us} if us is not None else {day.isoformat(), ""}
        else:
            right = {day.isoformat()}
        examples.append((text, right))
    return examples


def _row(name: str, examples, outputs) -> tuple[str, int, float, float, float]:
    total = len(examples)
    exact = sum(o in right and o != "" for (_, right), o in zip(examples, outputs, strict=True))
    refused = sum(o == "" for o in outputs)
    wrong = sum(o != "" and o not in right for (_, right), o in zip(examples, outputs, strict=True))
    return name, total, 100 * exact / total, 100 * refused / total, 100 * wrong / total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="saved_models/dates")
    parser.add_argument("--per-cell", type=int, default=1000, metavar="N")
    parser.add_argument("--beam-width", type=int, default=1, metavar="N")
    parser.add_argument("--min-score", type=float, help="also refuse outputs scoring below")
    args = parser.parse_args(argv)
    silence_tensorflow()

    from keras_seq2seq.data.datasets import dates
    from keras_seq2seq.decoding.translator import load

    translator = load(args.model)
    options = {"beam_width": args.beam_width}
    if args.min_score is not None:
        options["min_score"] = args.min_score
    cells = [*dates.COMBINATIONS, *UNTRAINED]
    examples = {cell: cell_examples(*cell, args.per_cell) for cell in cells}
    inputs = [text for cell in cells for text, _ in examples[cell]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # refusals and truncations are what is counted
        outputs = translator.translate(inputs + list(NONSENSE), **options)
    rows, start = [], 0
    for cell in cells:
        count = len(examples[cell])
        name = f"{cell[0]} {cell[1]}" + (" (not trained)" if cell in UNTRAINED else "")
        rows.append(_row(name, examples[cell], outputs[start : start + count]))
        start += count
    _print(args, rows, outputs[start:])
    return 0


def _print(args, rows, nonsense_outputs) -> None:
    trained = [row for row in rows if "not trained" not in row[0]]
    meets = [r for r in trained if r[2] >= EXACT_TARGET and r[4] <= WRONG_TARGET]
    print(f"Model: {args.model}, beam width {args.beam_width}"
          + (f", min_score {args.min_score}" if args.min_score is not None else ""))  # fmt: skip
    print("\n| cell | N | exact % | refused % | wrong-and-accepted % |\n|---|---|---|---|---|")
    for name, total, exact, refused, wrong in rows:
        flag = (
            ""
            if "not trained" in name or (exact >= EXACT_TARGET and wrong <= WRONG_TARGET)
            else " ✗"
        )
        print(f"| {name}{flag} | {total:,} | {exact:.1f} | {refused:.1f} | {wrong:.1f} |")
    all_dates = sum(r[1] for r in trained)
    exact = sum(r[1] * r[2] for r in trained) / all_dates
    wrong = sum(r[1] * r[4] for r in trained) / all_dates
    print(
        f"\n{len(meets)} of {len(trained)} trained cells meet >= {EXACT_TARGET}% exact and "
        f"<= {WRONG_TARGET}% wrong-and-accepted (✗: missed); lowest exact "
        f"{min(r[2] for r in trained):.1f}%, highest wrong-and-accepted "
        f"{max(r[4] for r in trained):.1f}%; all {all_dates:,} trained-cell dates: "
        f"{exact:.2f}% exact, {wrong:.3f}% wrong-and-accepted."
    )
    print("\n| nonsense input | output |\n|---|---|")
    for text, output in zip(NONSENSE, nonsense_outputs, strict=True):
        shown = text if len(text) < 40 else f"{text[:13]} + {len(text) - 13:,} x"
        print(f"| {shown} | {output or '(empty: refused)'} |")


if __name__ == "__main__":
    raise SystemExit(main())
