"""`translate --input` memory: peak RSS stays flat from 10,000 to 100,000 lines.

    python benchmarks/translate_file_memory.py [--model saved_models/dates]
        [--lines 10000 100000]

For each size, writes that many input lines (dates rendered by the builtin dataset, repeated),
runs `keras-seq2seq translate --model M --input IN --output OUT` in a fresh process, and reads
its peak resident memory from the operating system (`wait4` rusage, `ru_maxrss`). Prints the
line counts in and out, the peak RSS and the speed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(model: str, source: Path, output: Path) -> tuple[float, float]:
    """Runs the command; returns (peak RSS in MiB, seconds)."""
    command = [sys.executable, "-m", "keras_seq2seq.cli", "translate", "--model", model,
               "--input", str(source), "--output", str(output)]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(process.stderr.read().decode()[-2000:])
    return usage.ru_maxrss / 1024.0, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="saved_models/dates")
    parser.add_argument("--lines", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    from keras_seq2seq.data.datasets import load_dataset

    texts = [source for source, _ in load_dataset("dates", "test")]
    work = Path(tempfile.mkdtemp(prefix="translate-memory-"))
    print("| input lines | output lines | peak RSS (MiB) | seconds | lines/s |")
    print("|---|---|---|---|---|")
    for count in args.lines:
        source, output = work / f"in-{count}.txt", work / f"out-{count}.txt"
        source.write_text("".join(texts[i % len(texts)] + "\n" for i in range(count)), "utf-8")
        peak, seconds = run(args.model, source, output)
        with output.open("rb") as file:
            out_lines = sum(1 for _ in file)
        print(
            f"| {count:,} | {out_lines:,} | {peak:,.0f} | {seconds:.0f} | {count / seconds:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
