"""G2P decoding speed against g2p_en's numpy model, on the same `cmudict` test words.

    python benchmarks/peers/g2p_en_speed.py --model runs/g2p-cmudict-transformer
        [--model OTHER_RUN ...] [--g2p-en-python /tmp/g2pen/bin/python] [--repeats 3]
        [--num-words N] [--batch-size 256] [--beam-width 4]

Benchmark-only: g2p_en 2.1.0 lives in its own environment (`python3 -m venv /tmp/g2pen &&
/tmp/g2pen/bin/pip install g2p_en==2.1.0`). Its neural model (a GRU encoder-decoder, 256
units, in numpy) predicts one word at a time with `G2p.predict`, the call `G2p()` makes for a
word missing from its dictionary; that call is what is timed, in a fresh process of its own
environment, model loading excluded. Its dictionary lookup is bypassed (the NLTK corpus is
not needed and not downloaded).

keras-seq2seq's rows decode the same words with `Translator.translate` (in graph, batches
of `--batch-size`, 256 by default), greedy and beam 4, tracing excluded (one warm-up call
each), for each `--model` given (several models share one run, so their ratios to g2p_en
come from the same g2p_en timings). Rows are interleaved, each repeated `--repeats` times;
the table gives the median words/s and the ratio to g2p_en's.

WER/PER are scored with keras-seq2seq's scorer against the test split's references, stress
removed from g2p_en's phones. Our model never saw these words; g2p_en was trained on
CMUdict, which holds these words, so its WER here is not a held-out number.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Runs under g2p_en's environment: reads words (one a line) from argv[1], prints JSON.
G2P_EN_WORKER = r"""
import json, sys, time, types
import g2p_en.g2p as module
module.cmudict = types.SimpleNamespace(dict=dict)  # no NLTK corpus: predict() only
model = module.G2p()
words = open(sys.argv[1], encoding="utf-8").read().splitlines()
for word in words[:20]:
    model.predict(word)
started = time.perf_counter()
outputs = [" ".join(model.predict(word)) for word in words]
print(json.dumps({"seconds": time.perf_counter() - started, "outputs": outputs}))
"""


def time_g2p_en(python: str, words_file: Path) -> tuple[float, list[str]]:
    """Times g2p_en's `predict` over the words in a fresh process of its environment.

    Args:
        python: path of the Python interpreter with g2p_en installed.
        words_file: file with one word a line.

    Returns:
        (seconds, outputs): the decoding time, model loading excluded, and its phones a word.

    Raises:
        SystemExit: the worker failed (its stderr is shown).
    """
    done = subprocess.run(
        [python, "-c", G2P_EN_WORKER, str(words_file)], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"g2p_en failed under {python}:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], result["outputs"]


def time_ours(translator, words: list[str], beam_width: int, batch_size: int):
    """Times `translator.translate` over the words (tracing done beforehand).

    Returns:
        (seconds, outputs).
    """
    started = time.perf_counter()
    outputs = translator.translate(words, beam_width=beam_width, batch_size=batch_size)
    return time.perf_counter() - started, outputs


def strip_stress(phones: str) -> str:
    """`AH0 B AW1 T` → `AH B AW T` (our `cmudict` split has no stress marks)."""
    return re.sub(r"(?<=[A-Z])[012]\b", "", phones)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        help="trained cmudict run directory (repeat to time several models in one run)",
    )
    parser.add_argument("--g2p-en-python", default="/tmp/g2pen/bin/python")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-words", type=int, help="only the first N test words")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=256, help="our words per batch")
    args = parser.parse_args(argv)
    if len(set(args.model)) < len(args.model):
        parser.error(f"--model names a run twice: {args.model}; give each run once")
    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.evaluation.metrics import group_references
    from keras_seq2seq.training.recipes import load_pairs

    words, references = group_references(load_pairs("cmudict", "test"))
    words, references = words[: args.num_words], references[: args.num_words]
    translators = [load(path) for path in args.model]
    widths = (1, args.beam_width)
    for translator in translators:
        for width in widths:  # tracing is not decoding speed
            translator.translate(
                words[: args.batch_size], beam_width=width, batch_size=args.batch_size
            )
    rows = [
        (model_label(path, translator, width, args.batch_size), translator, width)
        for path, translator in zip(args.model, translators, strict=True)
        for width in widths
    ]
    labels = ["g2p_en 2.1.0 (numpy, one word at a time)"] + [label for label, _, _ in rows]
    seconds = {label: [] for label in labels}
    outputs = {}
    with tempfile.TemporaryDirectory() as scratch:
        words_file = Path(scratch) / "words.txt"
        words_file.write_text("\n".join(words), encoding="utf-8")
        for _ in range(args.repeats):
            took, out = time_g2p_en(args.g2p_en_python, words_file)
            seconds[labels[0]].append(took)
            outputs[labels[0]] = [strip_stress(o) for o in out]
            for label, translator, width in rows:
                took, outputs[label] = time_ours(translator, words, width, args.batch_size)
                seconds[label].append(took)
    print_table(labels, seconds, outputs, references)
    return 0


def model_label(path: str, translator, width: int, batch_size: int) -> str:
    """`keras-seq2seq rnn 256x2 (runs/...), greedy, batch 256`: the row of one model and width."""
    model = translator.config.model
    size = f"{model.units}x{model.num_layers}"
    search = "greedy" if width == 1 else f"beam {width}"
    return f"keras-seq2seq {model.architecture} {size} ({path}), {search}, batch {batch_size}"


def print_table(labels, seconds, outputs, references) -> None:
    """Prints the markdown table: median words/s, each run's, ratio to the first row, WER/PER."""
    from keras_seq2seq.evaluation.evaluate import score_decoded

    words = len(references)
    rates = {label: [words / s for s in seconds[label]] for label in labels}
    base = statistics.median(rates[labels[0]])
    print(f"\n{words} cmudict test words, rows interleaved, {len(seconds[labels[0]])} runs")
    print("| row | words/s (median) | runs | vs g2p_en | WER % | PER % |")
    print("|---|---|---|---|---|---|")
    for label in labels:
        report = score_decoded(
            outputs[label], references, metrics=["exact_match", "token_error_rate"]
        )
        median = statistics.median(rates[label])
        runs = ", ".join(f"{r:,.0f}" for r in rates[label])
        print(
            f"| {label} | {median:,.0f} | {runs} | {median / base:.1f}x | "
            f"{100 - report['exact_match']:.1f} | {report['token_error_rate']:.1f} |"
        )


if __name__ == "__main__":
    raise SystemExit(main())
