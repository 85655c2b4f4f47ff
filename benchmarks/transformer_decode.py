"""Decoding speed: our Transformer and LSTM SavedModels against CTranslate2, same sentences.

    python benchmarks/transformer_decode.py --sources runs/translation-X/split/test.src
        --transformer runs/translation-X-transformer/run --rnn runs/translation-X-rnn/run
        --opennmt-checkpoint runs/translation-X-transformer/opennmt-transformer/model_step_N.pt
        --spm runs/translation-X-transformer/run/source_spm.model [--repeats 3]

Every row decodes the same test sources (batches of 256) after one untimed warm-up batch, in
a fresh process, rows interleaved over `--repeats` rounds (the median is shown):

- keras-seq2seq: the model exported as a SavedModel (`export_model`), called through its
  `serving_default` (greedy) and `beam_search` (beam 4) signatures, strings in and out
  (tokenization included), TensorFlow's default threads (both cores);
- CTranslate2: an OpenNMT-py Transformer of the same sizes converted to CTranslate2 float32,
  beam 4, 2 threads, on SentencePiece pieces (`peers/ctranslate2_speed.py`, run in the
  OpenNMT-py environment `--onmt-python`).

Prints one table with sentences/s and the ratio of each row to CTranslate2 beam 4.
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

HERE = Path(__file__).resolve().parent

WORKER = r"""
import json, sys, time
import tensorflow as tf, tensorflow_text  # noqa: F401
path, sources, signature = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(sources, encoding="utf-8").read().splitlines()
model = tf.saved_model.load(path).signatures[signature]
def run(batch):
    texts = tf.constant(batch)
    if signature == "beam_search":
        return model(inputs=texts, beam_width=tf.constant(4), n_best=tf.constant(1))
    return model(inputs=texts)
run(lines[:256])
started = time.perf_counter()
for begin in range(0, len(lines), 256):
    run(lines[begin:begin + 256])
seconds = time.perf_counter() - started
print(json.dumps({"sentences_per_second": len(lines) / seconds}))
"""


def ours(saved_model: Path, sources: Path, signature: str) -> float:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", WORKER, str(saved_model), str(sources), signature],
                          capture_output=True, text=True, env=env, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])["sentences_per_second"]


def ctranslate2(args) -> float:
    done = subprocess.run(
        [str(args.onmt_python), str(HERE / "peers" / "ctranslate2_speed.py"), "--checkpoint",
         str(args.opennmt_checkpoint), "--spm", str(args.spm), "--sources", str(args.sources)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])["sentences_per_second"]


def export(run_dir: Path, work: Path) -> Path:
    from keras_seq2seq.export import export_model

    return export_model(run_dir, work / run_dir.parent.name, beam_width=4)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", required=True, type=Path)
    parser.add_argument("--transformer", required=True, type=Path, help="our run directory")
    parser.add_argument("--rnn", type=Path, help="our LSTM run directory (optional row)")
    parser.add_argument("--opennmt-checkpoint", required=True, type=Path)
    parser.add_argument("--spm", required=True, type=Path)
    parser.add_argument("--onmt-python", type=Path, default=Path("/tmp/onmt/bin/python"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="decode-bench-"))
    models = {"Transformer": export(args.transformer, work)}
    if args.rnn:
        models["LSTM"] = export(args.rnn, work)
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for name, path in models.items():
            for label, signature in (("greedy", "serving_default"), ("beam 4", "beam_search")):
                key = f"keras-seq2seq {name} SavedModel, {label}"
                runs.setdefault(key, []).append(ours(path, args.sources, signature))
        runs.setdefault("CTranslate2 float32 Transformer, beam 4", []).append(ctranslate2(args))
    reference = statistics.median(runs["CTranslate2 float32 Transformer, beam 4"])
    lines = len(args.sources.read_text("utf-8").splitlines())
    print(f"Decoding {lines:,} test sentences, median of {args.repeats} interleaved runs")
    print("| row | sentences/s | vs CTranslate2 beam 4 | runs |\n|---|---|---|---|")
    for key, values in runs.items():
        median = statistics.median(values)
        print(f"| {key} | {median:,.1f} | {median / reference:.2f} | "
              f"{', '.join(f'{v:,.1f}' for v in values)} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
