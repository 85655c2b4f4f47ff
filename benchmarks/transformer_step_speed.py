"""In-graph decoding speed of the Transformer's incremental step, for two source trees.

    python benchmarks/transformer_step_speed.py --before /path/to/older/checkout
        [--repeats 3] [--batch 64] [--max-length 64] [--units 256] [--layers 3]

Builds the same Transformer (fixed seed: same weights in both trees; 8,000-token
vocabularies, 4 heads, FFN 4 x units) and decodes the same random source batch to exactly
`--max-length` tokens (an untrained model rarely writes [END], and [END] is masked out so every
row runs the full length): greedy and beam 4, through `keras_seq2seq.decoding.search.decode`
in one `tf.function`, model arithmetic only (no tokenizers). Each tree runs in a fresh
process with its own package (`PYTHONPATH=TREE`), rows interleaved over `--repeats` rounds.
Prints tokens/s (batch x width x steps per second) per tree, the ratio after / before,
whether both trees produced the same token ids, and the largest difference between the two
trees' scores of the best output of each input.

A checkout of an older revision: `git worktree add /tmp/before <commit>`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

AFTER = Path(__file__).resolve().parents[1]

WORKER = r"""
import hashlib, json, sys, time
import keras, numpy as np, tensorflow as tf
from keras_seq2seq.config import ModelConfig
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.search import decode
from keras_seq2seq.models import build_model
from keras_seq2seq.models.protocol import SourceBatch
spec = json.loads(sys.argv[1])
keras.utils.set_random_seed(0)
vocabulary = 8000
model = build_model(ModelConfig(vocabulary, vocabulary, architecture="transformer",
                                units=spec["units"], num_layers=spec["layers"], heads=4))
rng = np.random.RandomState(0)
source = rng.randint(4, vocabulary, size=(spec["batch"], 30)).astype("int32")
source[:, -1] = 3  # [END]
max_length = spec["max_length"]
results = {}
for width in (1, 4):
    options = DecodeOptions(beam_width=width)

    @tf.function
    def run(source_ids, options=options, width=width):
        state, context = model.encode(SourceBatch(source_ids, max_length))
        if width > 1:
            _, context = model.expand(None, context, width)

        def step(tokens, state, time):
            log_probs, state, attention, _ = model.step(tokens, state, context, time)
            no_end = tf.one_hot(3, tf.shape(log_probs)[-1], on_value=-1e9, off_value=0.0)
            return log_probs + no_end, state, attention

        result = decode(step, state, options, start_id=2, end_id=3, max_length=max_length,
                        reorder_fn=model.reorder)
        return result.ids, result.scores

    run(tf.constant(source))  # tracing
    started = time.perf_counter()
    ids, scores = (t.numpy() for t in run(tf.constant(source)))
    seconds = time.perf_counter() - started
    name = "greedy" if width == 1 else f"beam {width}"
    digest = hashlib.sha256(ids.tobytes()).hexdigest()[:12]
    results[name] = {"tokens_per_second": spec["batch"] * width * max_length / seconds,
                     "ids": digest, "scores": scores.reshape(len(source), -1)[:, 0].tolist()}
print("RESULT " + json.dumps(results))
"""


def run_tree(tree: Path, spec: dict) -> dict:
    """One fresh process decoding with `tree`'s package; its RESULT line as a dict."""
    env = dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", WORKER, json.dumps(spec)], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{tree}: the worker failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="checkout of the older revision")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    args = parser.parse_args(argv)
    spec = {k: getattr(args, k) for k in ("batch", "max_length", "units", "layers")}
    trees = {"before": Path(args.before).resolve(), "after": AFTER}
    rates: dict[str, dict[str, list[float]]] = {}
    digests: dict[str, dict[str, str]] = {}
    scores: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.repeats):
        for name, tree in trees.items():
            for row, result in run_tree(tree, spec).items():
                rates.setdefault(row, {}).setdefault(name, []).append(result["tokens_per_second"])
                digests.setdefault(row, {})[name] = result["ids"]
                scores.setdefault(row, {})[name] = result["scores"]
    print(f"\nTransformer {args.units} units, {args.layers}+{args.layers} layers, batch "
          f"{args.batch}, {args.max_length} steps; median of {args.repeats}")  # fmt: skip
    print(
        "| decoding | before tokens/s (runs) | after tokens/s (runs) | after/before | same ids "
        "| largest score difference |"
    )
    print("|---|---|---|---|---|---|")
    for row, by_tree in rates.items():
        cells = [
            f"{statistics.median(by_tree[t]):,.0f} ({', '.join(f'{r:,.0f}' for r in by_tree[t])})"
            for t in ("before", "after")
        ]
        ratio = statistics.median(by_tree["after"]) / statistics.median(by_tree["before"])
        same = digests[row]["before"] == digests[row]["after"]
        gap = max(abs(a - b) for a, b in zip(*scores[row].values(), strict=True))
        print(
            f"| {row} | {cells[0]} | {cells[1]} | {ratio:.2f} | {'yes' if same else 'no'} "
            f"| {gap:.2g} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
