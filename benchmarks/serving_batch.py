"""Latency and throughput of an exported signature at batch 1, 8 and 64 (for batching settings).

    python benchmarks/serving_batch.py [--model saved_models/dates] [--repeats 300]

Loads the newest version of `--model` with `tf.saved_model.load` and calls one signature
in-process (`serving_default` unless `--signature beam_search`), the graph TF Serving runs for
a request, with batches of held-out sources. After one warm-up call per batch size (what the
export's warm-up records do in the model server), each repeat calls every batch size once, in an
order rotated from repeat to repeat, so the rows are interleaved and a slow moment of a shared
machine falls on all of them. Prints per batch size: mean, median and p90 latency of one call
(one request of that many sentences) and sentences per second (batch size / mean latency); on a
shared machine the median is the steadier number. No network and no model server: this is the
cost of the graph, which `docs/batching_parameters.txt` trades against queueing delay.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the TF-Text ops the graph uses)

from keras_seq2seq.serving.export import existing_versions
from keras_seq2seq.serving.warmup import serving_signature_defs
from keras_seq2seq.training.recipes import load_pairs

BATCH_SIZES = (1, 8, 64)


def version_dir(model: str) -> Path:
    """`model` itself if it holds saved_model.pb, else its newest numeric version."""
    path = Path(model)
    if (path / "saved_model.pb").is_file():
        return path
    versions = existing_versions(path)
    if not versions:
        raise SystemExit(f"{model}: no saved_model.pb and no numeric version directory in it.")
    return path / str(versions[-1])


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_call(loaded, version: Path, signature: str):
    """A callable texts -> number of outputs, running the signature and fetching its outputs.

    Scalar inputs (`beam_width`, `n_best` of `beam_search`) get the SignatureDef defaults, the
    values TF Serving feeds when a request leaves them out.
    """
    function = loaded.signatures[signature]
    defaults = {
        name: tf.constant(tf.make_ndarray(proto))
        for name, proto in serving_signature_defs(version)[signature].defaults.items()
    }

    def call(texts: list[str]) -> int:
        outputs = function(inputs=tf.constant(texts, tf.string), **defaults)
        return int(outputs["outputs"].numpy().shape[0])

    return call


def measure(call, texts: list[str], batch_sizes, repeats: int) -> dict[int, list[float]]:
    """Seconds of each call, by batch size; batch sizes interleaved within every repeat.

    Args:
        call: callable texts -> number of outputs.
        texts: list of str to draw batches from (consecutive slices).
        batch_sizes: tuple of int.
        repeats: int. Timed calls per batch size.

    Returns:
        dict from batch size to the list of `repeats` durations in seconds.
    """
    offsets = dict.fromkeys(batch_sizes, 0)

    def batch(size: int) -> list[str]:
        start = offsets[size] % max(1, len(texts) - size)
        offsets[size] += size
        return texts[start : start + size]

    for size in batch_sizes:  # warm-up, as the model server does at load
        call(batch(size))
    times: dict[int, list[float]] = {size: [] for size in batch_sizes}
    for repeat in range(repeats):
        shift = repeat % len(batch_sizes)  # each size goes first, second, ... equally often
        for size in (*batch_sizes[shift:], *batch_sizes[:shift]):
            inputs = batch(size)
            begin = time.perf_counter()
            returned = call(inputs)
            times[size].append(time.perf_counter() - begin)
            if returned != size:
                raise SystemExit(f"asked for {size} outputs, got {returned}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="saved_models/dates", help="base path or version")
    parser.add_argument("--signature", default="serving_default", help="signature to call")
    parser.add_argument("--dataset", default="dates", help="builtin dataset or TSV for inputs")
    parser.add_argument("--split", default="test", help="split of a builtin dataset")
    parser.add_argument("--repeats", type=int, default=300, help="calls per batch size")
    args = parser.parse_args()

    texts = [source for source, _ in load_pairs(args.dataset, args.split, max_examples=2000)]
    version = version_dir(args.model)
    loaded = tf.saved_model.load(str(version))
    times = measure(make_call(loaded, version, args.signature), texts, BATCH_SIZES, args.repeats)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"model {version}, signature {args.signature}; inputs from {args.dataset}/{args.split}; "
        f"{args.repeats} calls per batch size, interleaved; TensorFlow {tf.__version__}; "
        f"{os.cpu_count()} cores ({cpu_name()}); load average at the end {load:.1f}"
    )
    header = f"{'batch':>5} {'mean ms':>9} {'median ms':>10} {'p90 ms':>8} {'sentences/s':>12}"
    print(header)
    print("-" * len(header))
    for size in BATCH_SIZES:
        seconds = np.array(times[size])
        mean, median, p90 = (1000 * x for x in (seconds.mean(), *np.percentile(seconds, [50, 90])))
        rate = size / seconds.mean()
        print(f"{size:>5} {mean:>9.1f} {median:>10.1f} {p90:>8.1f} {rate:>12.0f}")


if __name__ == "__main__":
    main()
