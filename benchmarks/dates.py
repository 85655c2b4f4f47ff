"""Dates model quality: held-out dates 1600–2399, English long formats, refusals.

    python benchmarks/dates.py [--model saved_models/dates] [--min-score S]

Prints one table, all on data the model never saw in training (the test split's dates, and
refusals whose words or impossible dates hash to the test split):

- exact match on the 2,000 test examples (8 locales, 9 formats, some lower/upper-cased),
  greedy and beam 4;
- exact match on English dates in Babel's `medium`, `long` and `full` formats (en_US,
  four-digit years) for 2,000 test-split dates spread over 1600–2399;
- the share of 500 refusals refused (empty output: non-dates, impossible dates and the other
  kinds of the `dates` docstring), and the share of the 2,000 valid test dates wrongly
  refused;
- the examples that were wrong before the 1600–2399 dataset, with today's outputs.

`benchmarks/dates_cells.py` measures every (locale, format) cell on its own.

With `--min-score` a low-scoring output also counts as refused (see `DecodeOptions`).
"""

from __future__ import annotations

import argparse
import random

from keras_seq2seq.quiet import silence_tensorflow

EXAMPLES = (
    "March 3, 2021",
    "July 4, 1776",
    "January 1, 1900",
    "5 May 1945",
    "23 March 2054",
    "Dienstag, 14. Juli 1687",
    "February 30, 2021",
    "tomorrow",
    "hello",
    "31/04/2021",
)


def english_long_dates(count: int) -> list[tuple[str, str]]:
    """en_US medium/long/full renderings of test-split dates (held out from training)."""
    from keras_seq2seq.data.datasets import dates

    rng = random.Random(1600)
    days = rng.sample(dates.split_dates("test"), count)
    formats = ("medium", "long", "full")
    return [(dates.render(day, "en_US", formats[i % 3]), day.isoformat()) for i, day in
            enumerate(days)]  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="saved_models/dates")
    parser.add_argument("--min-score", type=float, help="also refuse outputs scoring below")
    args = parser.parse_args(argv)
    silence_tensorflow()

    from keras_seq2seq.data.datasets import load_dataset
    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.evaluation.metrics import exact_match

    translator = load(args.model)
    options = {} if args.min_score is None else {"min_score": args.min_score}
    test = load_dataset("dates", "test")
    english = english_long_dates(2000)
    refusals = load_dataset("dates", "test", refusals=1.0, max_examples=500)
    rows = []
    for name, pairs, width in (
        ("2,000 test examples (8 locales, 9 formats), greedy", test, 1),
        ("2,000 test examples, beam 4", test, 4),
        ("English medium/long/full, 1600-2399, 2,000 dates, greedy", english, 1),
    ):
        outputs = translator.translate([s for s, _ in pairs], beam_width=width, **options)
        rows.append((name, f"{100 * exact_match(outputs, [t for _, t in pairs]):.2f}% exact"))
        if pairs is test and width == 1:
            wrongly = sum(o == "" for o in outputs) / len(outputs)
    refused_outputs = translator.translate([s for s, _ in refusals], **options)
    refused = sum(o == "" for o in refused_outputs) / len(refused_outputs)
    rows.append(
        ("500 refusals (non-dates, impossible dates, ...) refused", f"{100 * refused:.1f}%")
    )
    rows.append(("2,000 valid test dates wrongly refused", f"{100 * wrongly:.2f}%"))
    print(f"Model: {args.model}" + (f", min_score {args.min_score}" if options else ""))
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print("\n| input | output |\n|---|---|")
    for source, output in zip(
        EXAMPLES, translator.translate(list(EXAMPLES), **options), strict=True
    ):
        print(f"| {source} | {output or '(refused: empty)'} |")
    wrong = [(s, t, o) for (s, t), o in zip(refusals, refused_outputs, strict=True) if o][:10]
    if wrong:
        print("\nRefusals answered anyway (first 10):")
        for source, _, output in wrong:
            print(f"  {source!r} -> {output!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
