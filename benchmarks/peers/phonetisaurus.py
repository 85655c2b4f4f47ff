"""Phonetisaurus (WFST G2P) trained and scored on keras-seq2seq's own cmudict split.

    python benchmarks/peers/phonetisaurus.py [--phonetisaurus /tmp/phon/bin/phonetisaurus]
        [--output runs/phonetisaurus-cmudict]

Benchmark-only: the `phonetisaurus` PyPI package (it ships the Phonetisaurus and OpenFst
binaries) lives in its own environment (`python3 -m venv /tmp/phon && /tmp/phon/bin/pip
install phonetisaurus`). This script runs under keras-seq2seq's environment:

1. writes the `cmudict` train split (every pronunciation of every training word, stress
   removed, as `load_dataset("cmudict", "train")` gives it) as a lexicon;
2. `phonetisaurus train` (its default alignment and n-gram model);
3. `phonetisaurus predict` for the test words (the best pronunciation of each), timed;
4. scores with keras-seq2seq's scorer
   (`keras_seq2seq.evaluation.evaluate.score_decoded`): WER (words with any phone wrong,
   against every reference of the word) and PER (edit distance to the closest reference),
   the numbers `benchmarks/g2p.py` prints for our models.

Prints one table row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phonetisaurus", default="/tmp/phon/bin/phonetisaurus")
    parser.add_argument("--output", type=Path, default=Path("runs/phonetisaurus-cmudict"))
    args = parser.parse_args(argv)
    from keras_seq2seq.evaluation.evaluate import score_decoded
    from keras_seq2seq.evaluation.metrics import group_references
    from keras_seq2seq.training.recipes import load_pairs

    args.output.mkdir(parents=True, exist_ok=True)
    lexicon, model = args.output / "train.lexicon", args.output / "model.fst"
    train = load_pairs("cmudict", "train")
    lexicon.write_text("".join(f"{w} {p}\n" for w, p in train), encoding="utf-8")
    started = time.perf_counter()
    subprocess.run([args.phonetisaurus, "train", "--model", str(model), str(lexicon)],
                   check=True, capture_output=True)  # fmt: skip
    train_seconds = time.perf_counter() - started
    words, references = group_references(load_pairs("cmudict", "test"))
    started = time.perf_counter()
    done = subprocess.run([args.phonetisaurus, "predict", "--model", str(model), *words],
                          check=True, capture_output=True, text=True)  # fmt: skip
    predict_seconds = time.perf_counter() - started
    predicted = {}
    for line in done.stdout.splitlines():
        word, _, phones = line.partition(" ")
        predicted.setdefault(word, phones.strip())
    hypotheses = [predicted.get(word, "") for word in words]
    report = score_decoded(hypotheses, references, metrics=["exact_match", "token_error_rate"])
    wer, per = 100.0 - report["exact_match"], report["token_error_rate"]
    print(
        f"| Phonetisaurus (phonetisaurus {_version()}, same split) | {wer:.1f} | {per:.1f} | "
        f"{len(words) / predict_seconds:,.0f} words/s | train {train_seconds:.0f} s |"
    )
    scores = {
        "wer": wer,
        "per": per,
        "words": len(words),
        "missing": sum(not h for h in hypotheses),
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
    }
    (args.output / "scores.json").write_text(json.dumps(scores, indent=1))
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("phonetisaurus")
    except PackageNotFoundError:
        return "0.3.0 (own environment)"


if __name__ == "__main__":
    raise SystemExit(main())
