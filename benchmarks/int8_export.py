"""int8 export vs float32 export: size on disk, greedy speed and quality, measured.

    python benchmarks/int8_export.py [--dates saved_models/dates]
        [--g2p ~/ks2s-runs/g2p-cmudict-transformer] [--repeats 3]

Exports each model twice with `keras_seq2seq.serving.export.export_model` into a temporary
directory, float32 and `quantize="int8"` (`keras_seq2seq.serving.quantize`), loads both
SavedModels with `tf.saved_model.load` and reports per model:

- SavedModel bytes (`saved_model.pb` + `variables/`, without the copied run files);
- greedy sentences/s of `serving_default` in batches of `--batch-size` over the same held-out
  inputs, the two exports interleaved in each of `--repeats` rounds, median reported;
- quality on held-out data: dates, exact match on `--dates-examples` test pairs; g2p (if the
  run exists), WER (word error rate, a word is wrong unless it matches one of its
  pronunciations) and PER on `--g2p-examples` test words; and how many outputs of the two
  exports agree.

A run directory that a training may be writing is read, never written: its files are copied
to the temporary directory first (the copy is retried if `model.keras` changed meanwhile).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

from keras_seq2seq.evaluation.metrics import (
    exact_match,
    group_references,
    sequence_error_rate,
    token_error_rate,
)
from keras_seq2seq.serving.export import SERVING_SIGNATURE, export_model
from keras_seq2seq.training.recipes import load_pairs

RUN_FILES = ("config.json", "source_vocab.txt", "target_vocab.txt", "model.keras")


def saved_model_bytes(version_dir: Path) -> int:
    """Bytes of the SavedModel proper: `saved_model.pb` and `variables/`."""
    files = [version_dir / "saved_model.pb", *(version_dir / "variables").iterdir()]
    return sum(path.stat().st_size for path in files)


def snapshot_run(run_dir: Path, work: Path) -> Path:
    """A copy of a run's model files, taken while `model.keras` did not change."""
    target = work / "run"
    for _ in range(5):
        before = (run_dir / "model.keras").stat()
        target.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            shutil.copy2(run_dir / name, target / name)
        after = (run_dir / "model.keras").stat()
        if (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size):
            return target
        time.sleep(30)
    raise RuntimeError(f"{run_dir}/model.keras kept changing while it was copied.")


def greedy_runner(version_dir: Path, batch_size: int):
    """A callable texts -> list of str over the export's `serving_default`."""
    function = tf.saved_model.load(str(version_dir)).signatures[SERVING_SIGNATURE]

    def run(texts: list[str]) -> list[str]:
        outputs = []
        for start in range(0, len(texts), batch_size):
            batch = tf.constant(texts[start : start + batch_size], tf.string)
            outputs += [text.decode() for text in function(inputs=batch)["outputs"].numpy()]
        return outputs

    return run


def measure(model_path: Path, work: Path, texts: list[str], args) -> dict[str, dict]:
    """Exports float32 and int8, then times them interleaved; {variant: results}."""
    variants = {"float32": None, "int8": "int8"}
    runners, results = {}, {}
    for version, (name, mode) in enumerate(variants.items(), start=1):
        path = export_model(model_path, work / "exports", version=version, quantize=mode)
        runners[name] = greedy_runner(path, args.batch_size)
        runners[name](texts[: args.batch_size])  # warm-up
        results[name] = {"bytes": saved_model_bytes(path), "speeds": []}
    for _ in range(args.repeats):
        for name, run in runners.items():
            begin = time.perf_counter()
            results[name]["outputs"] = run(texts)
            results[name]["speeds"].append(len(texts) / (time.perf_counter() - begin))
    return results


def report(title: str, results: dict, quality) -> None:
    """Prints one markdown table: a row per variant."""
    float_out = results["float32"]["outputs"]
    names = quality(float_out).keys()
    print(f"\n### {title}\n")
    print(
        "| export | SavedModel bytes | greedy sentences/s (median) | " + " | ".join(names) + " | "
        "outputs equal to float32 |"
    )
    print("|---" * (4 + len(names)) + "|")
    for name, result in results.items():
        outputs = result["outputs"]
        scores = " | ".join(f"{value:.4f}" for value in quality(outputs).values())
        same = sum(a == b for a, b in zip(outputs, float_out, strict=True)) / len(outputs)
        speeds = ", ".join(f"{s:.0f}" for s in result["speeds"])
        print(
            f"| {name} | {result['bytes']:,} | {statistics.median(result['speeds']):.0f} "
            f"({speeds}) | {scores} | {same:.4f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dates", default="saved_models/dates")
    parser.add_argument("--g2p", default=str(Path.home() / "ks2s-runs/g2p-cmudict-transformer"))
    parser.add_argument("--dates-examples", type=int, default=2000)
    parser.add_argument("--g2p-examples", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        pairs = load_pairs("dates", "test", max_examples=args.dates_examples)
        texts, targets = [s for s, _ in pairs], [t for _, t in pairs]
        results = measure(Path(args.dates), Path(tmp) / "dates", texts, args)
        report(
            f"dates ({args.dates}, {len(texts)} test pairs)",
            results,
            lambda out: {"exact match": exact_match(out, targets)},
        )
    g2p = Path(args.g2p).expanduser()
    if not (g2p / "model.keras").is_file():
        print(f"\n(no g2p run at {g2p}: skipped)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        words, references = group_references(load_pairs("cmudict", "test"))
        words, references = words[: args.g2p_examples], references[: args.g2p_examples]
        results = measure(snapshot_run(g2p, Path(tmp)), Path(tmp) / "g2p", words, args)
        report(
            f"g2p ({g2p.name}, {len(words)} test words)",
            results,
            lambda out: {
                "WER": sequence_error_rate(out, references),
                "PER": token_error_rate(out, references),
            },
        )


if __name__ == "__main__":
    main()
