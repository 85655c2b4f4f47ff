"""Ensemble SavedModel against one member's: same outputs as in process, and words/s.

    python benchmarks/ensemble_speed.py --model RUN_A --model RUN_B [--model RUN_C ...]
        [--dataset cmudict] [--split test] [--num-inputs N] [--check 200]
        [--batch-size 256] [--repeats 3]

Exports the first member alone and the ensemble of all members (`export_model([...])`, one
SavedModel whose decoding graph averages the members' log-probabilities at every step), then:

- **agreement**: a fresh Python process that imports only `tensorflow` and
  `tensorflow_text` (what TF Serving has) decodes the first `--check` inputs with the
  ensemble SavedModel (greedy and beam 4); its outputs must equal the in-process ensemble's
  (`load([...]).translate`), or the script exits with an error;
- **speed**: fresh processes of the same kind decode all inputs in batches of `--batch-size`
  with each SavedModel, greedy (`serving_default`) and beam 4 (`beam_search`), tracing
  excluded (one warm-up batch). Rows are interleaved and repeated `--repeats` times; the table
  gives the median inputs/s and the ensemble's ratio to the single member's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BEAM_WIDTH = 4

# Runs in a fresh interpreter: argv = SAVED_MODEL INPUTS_FILE BATCH_SIZE BEAM_WIDTH; prints JSON.
WORKER = r"""
import json, sys, time
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

path, inputs_file, batch, width = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
texts = open(inputs_file, encoding="utf-8").read().split("\n")
loaded = tf.saved_model.load(path)
if width == 1:
    signature = loaded.signatures["serving_default"]
    def call(batch_texts):
        return signature(inputs=tf.constant(batch_texts))["outputs"].numpy()
else:
    signature = loaded.signatures["beam_search"]
    beam_width, n_best = tf.constant(width), tf.constant(1)
    def call(batch_texts):
        out = signature(inputs=tf.constant(batch_texts), beam_width=beam_width, n_best=n_best)
        return out["outputs"].numpy()
call(texts[:batch])  # tracing and the first run's allocations are not decoding speed
started = time.perf_counter()
outputs = []
for start in range(0, len(texts), batch):
    out = call(texts[start:start + batch])
    outputs += [(row[0] if out.ndim == 2 else row).decode("utf-8") for row in out]
print(json.dumps({"seconds": time.perf_counter() - started, "outputs": outputs}))
"""


def decode_in_fresh_process(saved_model: Path, inputs_file: Path, batch: int, width: int):
    """Decodes every line of `inputs_file` with the SavedModel in a fresh interpreter.

    Args:
        saved_model: an exported version directory.
        inputs_file: one input a line.
        batch: inputs per signature call.
        width: 1 for `serving_default` (greedy), more for `beam_search` of that width.

    Returns:
        (seconds, outputs): decoding time (loading and tracing excluded), best output an input.

    Raises:
        SystemExit: the worker failed (its stderr is shown).
    """
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(saved_model), str(inputs_file), str(batch), str(width)],
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    if done.returncode != 0:
        sys.exit(f"Decoding {saved_model} in a fresh process failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], result["outputs"]


def check_agreement(members, version: Path, texts: list[str], scratch: Path) -> None:
    """Exits with an error unless the fresh-process ensemble equals the in-process one."""
    from keras_seq2seq.inference import load

    ensemble = load(members)
    check_file = scratch / "check.txt"
    check_file.write_text("\n".join(texts), encoding="utf-8")
    for width in (1, BEAM_WIDTH):
        _, exported = decode_in_fresh_process(version, check_file, len(texts), width)
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
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if len(args.model) < 2:
        parser.error("an ensemble needs at least two --model runs")
    from keras_seq2seq.export import export_model
    from keras_seq2seq.recipes import load_pairs

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
                seconds, _ = decode_in_fresh_process(version, inputs_file, args.batch_size, width)
                rates.append(len(texts) / seconds)
    print_table(rows, args, len(texts))
    return 0


def print_table(rows, args, count: int) -> None:
    """Prints the markdown table of median inputs/s and the ensemble's ratio to one member."""
    print(
        f"\n{count} inputs from {args.dataset}/{args.split}, batches of {args.batch_size}, "
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
