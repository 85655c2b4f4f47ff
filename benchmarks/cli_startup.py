"""Start-up time of the command line against the import of TensorFlow and tensorflow-text.

    python benchmarks/cli_startup.py [--model saved_models/dates]
        [--g2p-model saved_models/cmudict-small] [--repeats 5]

Each row is one command run in a fresh process, timed from start to exit (wall clock):

- `import tensorflow + tensorflow_text`: the reference the translation is measured against
  (the package's tokenizers import both), and `import tensorflow` alone, for scale;
- `keras-seq2seq translate` of one sentence with the shipped dates model (greedy search), and
  of one word with the shipped G2P model, which also loads its lexicon of 118,642 words;
- `keras-seq2seq --help`, `--version` and an argument error (`--beam-width 0`), which must
  answer without importing TensorFlow.

The commands run interleaved, one of each per round, `--repeats` rounds (after one untimed
round that warms the file cache); the table shows the median wall-clock time, the slowest
round, the median over the reference (the TensorFlow + tensorflow-text import; the target
for the translation is at most 1.5 s), and the same for CPU time (user + system), which a
busy machine disturbs less than wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def _commands(model: str, g2p_model: str) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "keras_seq2seq.cli"]
    return {
        "import tensorflow + tensorflow_text": [
            sys.executable,
            "-c",
            "import tensorflow, tensorflow_text",
        ],
        "import tensorflow": [sys.executable, "-c", "import tensorflow"],
        "translate (one sentence)": [*cli, "translate", "--model", model, "March 3, 2021"],
        "translate (G2P, with its lexicon)": [*cli, "translate", "--model", g2p_model, "keras"],
        "--help": [*cli, "--help"],
        "--version": [*cli, "--version"],
        "argument error": [*cli, "translate", "--model", model, "--beam-width", "0", "x"],
    }


def _seconds(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of `command`."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, env=environment, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="saved_models/dates", help="model to translate with")
    parser.add_argument(
        "--g2p-model", default="saved_models/cmudict-small", help="G2P model to translate with"
    )
    parser.add_argument("--repeats", type=int, default=5, metavar="N", help="timed rounds (5)")
    args = parser.parse_args()
    commands = _commands(args.model, args.g2p_model)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for round_number in range(args.repeats + 1):
        for name, command in commands.items():
            seconds = _seconds(command)
            if round_number:  # the first round only warms the file cache
                times[name].append(seconds)
    reference = times["import tensorflow + tensorflow_text"]
    floor = statistics.median(wall for wall, _ in reference)
    cpu_floor = statistics.median(cpu for _, cpu in reference)
    print(
        f"{'command':<36} {'median s':>8} {'max s':>6} {'over ref. s':>11} "
        f"{'CPU s':>6} {'CPU over ref. s':>15}"
    )
    for name, values in times.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(
            f"{name:<36} {wall:>8.2f} {max(w for w, _ in values):>6.2f} {wall - floor:>+11.2f} "
            f"{cpu:>6.2f} {cpu - cpu_floor:>+15.2f}"
        )
    python = sys.version.split()[0]
    print(f"({args.repeats} interleaved rounds, {os.cpu_count()} CPUs, Python {python})")


if __name__ == "__main__":
    main()
