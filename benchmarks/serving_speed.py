"""Serving speed: the exported SavedModel, loaded back, vs the in-process `Translator`.

    python benchmarks/serving_speed.py [--model saved_models/dates] [--dataset dates]

Exports `--model` with `keras_seq2seq.serving.export.export_model` into a temporary directory, loads
it with `tf.saved_model.load` (what a Python consumer of the SavedModel does; TF Serving runs the
same graph in C++) and times, in one run, on the same held-out inputs:

- batch-1 latency (p50/p95 over `--latency-inputs` single-input calls, after a warm-up);
- batch-64 throughput (sentences/s over `--num-inputs` inputs in batches of 64).

Rows: greedy search (`serving_default` vs `Translator.decode`) and beam search of width 4
(`beam_search` vs `Translator.decode(beam_width=4)`). Both sides convert their outputs to numpy.
Acceptance: SavedModel throughput >= 0.9x the in-process translator (both rows);
single runs on a shared 2-core machine vary by about +-10%.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from keras_seq2seq.decoding.translator import load
from keras_seq2seq.serving.export import BEAM_SIGNATURE, SERVING_SIGNATURE, export_model
from keras_seq2seq.training.recipes import load_pairs

BATCH_SIZE = 64
BEAM_WIDTH = 4


def saved_model_runner(loaded, beam_width: int):
    """A callable texts -> numpy outputs over the loaded SavedModel."""
    if beam_width == 1:
        function = loaded.signatures[SERVING_SIGNATURE]

        def run(texts):
            out = function(inputs=tf.constant(texts, tf.string))
            return out["outputs"].numpy(), out["scores"].numpy()

        return run
    function = loaded.signatures[BEAM_SIGNATURE]
    width, n_best = tf.constant(beam_width), tf.constant(1)

    def run(texts):
        out = function(inputs=tf.constant(texts, tf.string), beam_width=width, n_best=n_best)
        return out["outputs"].numpy(), out["scores"].numpy()

    return run


def translator_runner(translator, beam_width: int):
    """A callable texts -> numpy outputs over the in-process translator (one batch)."""

    def run(texts):
        (decoded,) = translator.decode(texts, beam_width=beam_width, batch_size=len(texts))
        return decoded.outputs, decoded.scores

    return run


def latency_ms(run, texts: list[str]) -> tuple[float, float]:
    """p50 and p95 in milliseconds of single-input calls."""
    run(texts[:1])  # warm-up: tracing on the first call
    times = []
    for text in texts:
        begin = time.perf_counter()
        run([text])
        times.append((time.perf_counter() - begin) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def throughput(run, texts: list[str]) -> float:
    """Sentences per second in batches of `BATCH_SIZE`."""
    run(texts[:BATCH_SIZE])  # warm-up
    begin = time.perf_counter()
    for start in range(0, len(texts), BATCH_SIZE):
        run(texts[start : start + BATCH_SIZE])
    return len(texts) / (time.perf_counter() - begin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="saved_models/dates", help="run or model directory")
    parser.add_argument("--dataset", default="dates", help="builtin dataset or TSV for inputs")
    parser.add_argument("--split", default="test", help="split of a builtin dataset")
    parser.add_argument("--num-inputs", type=int, default=1024, help="inputs for throughput")
    parser.add_argument("--latency-inputs", type=int, default=200, help="single-input calls")
    args = parser.parse_args()

    pairs = load_pairs(args.dataset, args.split, max_examples=args.num_inputs)
    texts = [source for source, _ in pairs][: args.num_inputs]
    translator = load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        begin = time.perf_counter()
        version_dir = export_model(args.model, os.path.join(tmp, "model"))
        export_seconds = time.perf_counter() - begin
        loaded = tf.saved_model.load(str(version_dir))

        rows = []
        for label, width in (("greedy", 1), (f"beam {BEAM_WIDTH}", BEAM_WIDTH)):
            exported = saved_model_runner(loaded, width)
            in_process = translator_runner(translator, width)
            if width == 1:  # the two must agree before their speeds are compared
                same = np.array_equal(exported(texts[:64])[0], in_process(texts[:64])[0][:, 0])
                if not same:
                    raise SystemExit("SavedModel and in-process translator disagree")
            for name, run in (("in-process Translator", in_process), ("SavedModel", exported)):
                p50, p95 = latency_ms(run, texts[: args.latency_inputs])
                rows.append((label, name, p50, p95, throughput(run, texts)))

    print(
        f"model {args.model}; {len(texts)} inputs from {args.dataset}/{args.split}; "
        f"export took {export_seconds:.1f} s; {os.cpu_count()} CPU cores"
    )
    header = (
        f"{'decoding':<9} {'runner':<22} {'b1 p50 ms':>10} {'b1 p95 ms':>10} {'b64 sent/s':>11}"
    )
    print(header)
    print("-" * len(header))
    for label, name, p50, p95, rate in rows:
        print(f"{label:<9} {name:<22} {p50:>10.2f} {p95:>10.2f} {rate:>11.0f}")
    for label in ("greedy", f"beam {BEAM_WIDTH}"):
        rates = {name: rate for lab, name, *_, rate in rows if lab == label}
        ratio = rates["SavedModel"] / rates["in-process Translator"]
        verdict = "PASS" if ratio >= 0.9 else "FAIL"
        print(f"{label}: SavedModel throughput = {ratio:.2f}x in-process (>= 0.9x: {verdict})")


if __name__ == "__main__":
    main()
