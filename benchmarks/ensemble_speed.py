"""Ensemble SavedModel against one member's: same outputs as in process, and words/s.

    python benchmarks/ensemble_speed.py --model RUN_A --model RUN_B [--model RUN_C ...]
        [--dataset cmudict] [--split test] [--num-inputs N] [--check 200]
        [--repeats 3]

Exports the first member alone and the ensemble of all members (`export_model([...])`, one
SavedModel whose decoding graph averages the members' log-probabilities at every step), then:

- **agreement**: a fresh Python process that imports only `tensorflow` and
  `tensorflow_text` (what TF Serving has) decodes the first `--check` inputs with the
  ensemble SavedModel (greedy and beam 4); its outputs must equal the in-process ensemble's
  (`load([...]).translate`), or the script exits with an error;
- **speed**: fresh processes of the same kind decode all inputs in batches of 256 with each
  SavedModel, greedy (`serving_default`) and beam 4 (`beam_search`), tracing
  excluded (one warm-up batch). Rows are interleaved and repeated `--repeats` times; the table
  gives the median inputs/s and the ensemble's ratio to the single member's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from transformer_decode import ours

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BEAM_WIDTH = 4


def decode_in_fresh_process(saved_model: Path, inputs_file: Path, width: int, outputs: Path):
    """Decodes every line of `inputs_file` with the SavedModel in a fresh interpreter.

    The worker of `transformer_decode.py` (imports only tensorflow and tensorflow_text,
    batches of 256, one untimed warm-up batch).

    Args:
        saved_model: an exported version directory.
        inputs_file: one input a line.
        width: 1 for `serving_default` (greedy), `BEAM_WIDTH` for `beam_search`.
        outputs: file the best output of each input is written to, one a line.

    Returns:
        Inputs per second.
    """
    signature = "serving_default" if width == 1 else "beam_search"
    return ours(saved_model, inputs_file, signature, outputs)


def check_agreement(members, version: Path, texts: list[str], scratch: Path) -> None:
    """Exits with an error unless the fresh-process ensemble equals the in-process one."""
    from keras_seq2seq.decoding.translator import load

    ensemble = load(members)
    check_file = scratch / "check.txt"
    check_file.write_text("\n".join(texts), encoding="utf-8")
    for width in (1, BEAM_WIDTH):
        outputs = scratch / "check_outputs.txt"
        decode_in_fresh_process(version, check_file, width, outputs)
        exported = outputs.read_text(encoding="utf-8").splitlines()
        in_process = ensemble.translate(texts, beam_width=width)
        differ = [i for i, (a, b) in enumerate(zip(exported, in_process, strict=True)) if a != b]
        if differ:
            sys.exit(
                f"The ensemble SavedModel and the in-process ensemble disagree (beam width "
                f"{width}) on {len(differ)} of {len(texts)} inputs, first at input {differ[0]}: "
                f"{exported[differ[0]]!r} vs {in_process[differ[0]]!r}"
            )
        print(
            f"beam width {width}: fresh-process ensemble SavedModel == in-process ensemble "
            f"on all {len(texts)} inputs"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="a member run (2+)")
    parser.add_argument("--dataset", default="cmudict", help="builtin dataset or TSV of inputs")
    parser.add_argument("--split", default="test")
    parser.add_argument("--num-inputs", type=int, help="only the first N distinct inputs")
    parser.add_argument("--check", type=int, default=200, help="inputs for the agreement check")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if len(args.model) < 2:
        parser.error("an ensemble needs at least two --model runs")
    from keras_seq2seq.serving.export import export_model
    from keras_seq2seq.training.recipes import load_pairs

    texts = list(dict.fromkeys(source for source, _ in load_pairs(args.dataset, args.split)))
    texts = texts[: args.num_inputs]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        single = export_model(args.model[0], scratch / "single")
        ensemble = export_model(args.model, scratch / "ensemble")
        check_agreement(args.model, ensemble, texts[: args.check], scratch)
        inputs_file = scratch / "inputs.txt"
        inputs_file.write_text("\n".join(texts), encoding="utf-8")
        rows = {
            (width, name): []
            for width in (1, BEAM_WIDTH)
            for name in ("one member", f"ensemble of {len(args.model)}")
        }
        for _ in range(args.repeats):
            for (width, name), rates in rows.items():
                version = single if name == "one member" else ensemble
                outputs = scratch / "outputs.txt"
                rates.append(decode_in_fresh_process(version, inputs_file, width, outputs))
    print_table(rows, args, len(texts))
    return 0


def print_table(rows, args, count: int) -> None:
    """Prints the markdown table of median inputs/s and the ensemble's ratio to one member."""
    print(
        f"\n{count} inputs from {args.dataset}/{args.split}, batches of 256, "
        f"rows interleaved, {args.repeats} runs, {os.cpu_count()} CPU cores; "
        f"members: {', '.join(args.model)}"
    )
    print("| decoding | SavedModel | inputs/s (median) | runs | vs one member |")
    print("|---|---|---|---|---|")
    for width in (1, BEAM_WIDTH):
        label = "greedy" if width == 1 else f"beam {width}"
        base = statistics.median(rows[(width, "one member")])
        for (row_width, name), rates in rows.items():
            if row_width != width:
                continue
            median = statistics.median(rates)
            runs = ", ".join(f"{rate:,.0f}" for rate in rates)
            print(f"| {label} | {name} | {median:,.0f} | {runs} | {median / base:.2f}x |")


if __name__ == "__main__":
    raise SystemExit(main())
