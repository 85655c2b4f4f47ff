"""Decoded outputs before and after a change: record them, then check they are byte-identical.

    python tools/decode_identity.py train-models DIR      # once: tiny Transformer, copy, ensemble
    python tools/decode_identity.py record DIR before.json
    # ... change the decoding code ...
    python tools/decode_identity.py compare DIR before.json   # exit 1 on any difference

Decodes 500 test-split sources with the shipped dates model and held-out sources with three
tiny runs trained into DIR (a Transformer, a copy-attention Transformer, an ensemble of two
LSTMs), under eight option sets (greedy, beam 4, n-best 3, length penalty, n-gram blocking,
a length-ratio cap, seeded sampling with and without top-k; sampling on the tiny runs only),
each through `Translator.decode` (every hypothesis with its scores) and `translate`. Texts and
accepted flags must be identical; scores equal within 1e-6 (bit-equal ones are counted).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OPTIONS = {
    "greedy": {},
    "beam4": {"beam_width": 4},
    "beam4_nbest3": {"beam_width": 4, "n_best": 3},
    "beam4_nbest3_lp": {"beam_width": 4, "n_best": 3, "length_penalty": 0.6},
    "beam3_ngram": {"beam_width": 3, "no_repeat_ngram": 2},
    "greedy_ratio": {"max_length_ratio": 1.0},
    "sample_seed": {"temperature": 0.8, "seed": 7},
    "sample_topk": {"temperature": 1.2, "top_k": 3, "seed": 11},
}


def name_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """Synopses that repeat a package name, often one never seen: what copy attention is for."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        name = rng.choice(["alpha", "beta", "gamma", "delta", "omega"])
        if rng.random() < 0.5:
            name = "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(4, 7)))
        kind = rng.choice(["audio", "video", "text"])
        source = rng.choice([f"the package {name} provides tools for {kind}",
                             f"tools for {kind} : {name} is the package"])  # fmt: skip
        pairs.append((source, f"{kind} tools {name}"))
    return pairs


def train_models(directory: Path) -> None:
    """Trains the three tiny runs (a few minutes on two cores)."""
    from keras_seq2seq.config import TextConfig, TrainConfig
    from keras_seq2seq.training.fit import train
    from tests.conftest import reverse_pairs

    quick = TrainConfig(epochs=3, batch_size=32, patience=0, learning_rate=3e-3)
    held_out = reverse_pairs(100, seed=1)
    transformer = {"architecture": "transformer", "units": 16, "heads": 2}
    train(reverse_pairs(1500, seed=0), directory / "transformer", validation_pairs=held_out,
          model_options=transformer, train_config=quick, verbose=0)  # fmt: skip
    for i in (1, 2):
        train(reverse_pairs(800, seed=10), directory / f"ensemble{i}", validation_pairs=held_out,
              model_options={"units": 16, "embedding_dim": 8},
              train_config=TrainConfig(epochs=3, batch_size=32, patience=0, learning_rate=3e-3,
                                       seed=i), verbose=0)  # fmt: skip
    text = TextConfig(tokenizer="word", min_count=3)
    train(name_pairs(1200, seed=0), directory / "copy", source_text=text, target_text=text,
          model_options={**transformer, "copy_attention": True}, train_config=quick,
          verbose=0)  # fmt: skip


def cases(directory: Path) -> dict:
    from keras_seq2seq.training.recipes import load_pairs
    from tests.conftest import reverse_pairs

    reverse = [source for source, _ in reverse_pairs(150, seed=99)]
    return {
        "dates": (
            ROOT / "saved_models" / "dates",
            [s for s, _ in load_pairs("dates", "test")[:500]],
        ),
        "transformer": (directory / "transformer", reverse),
        "ensemble": ([directory / "ensemble1", directory / "ensemble2"], reverse),
        "copy": (directory / "copy", [s for s, _ in name_pairs(120, seed=3)]),
    }


def _rows(translator, sources, options) -> list:
    rows = []
    for batch in translator.decode(sources, batch_size=64, **options):
        for r in range(len(batch.outputs)):
            rows.append([[batch.outputs[r, k].decode("utf-8"), float(batch.scores[r, k]),
                          float(batch.normalized_scores[r, k]), bool(batch.accepted[r, k])]
                         for k in range(batch.outputs.shape[1])])  # fmt: skip
    return rows


def _translated(translator, sources, options) -> list:
    rows = []
    for item in translator.translate(sources, **options):
        items = item if isinstance(item, list) else [item]
        rows.append([[h] if isinstance(h, str) else
                     [h.text, h.score, h.normalized_score, h.accepted] for h in items])  # fmt: skip
    return rows


def decode_all(directory: Path) -> dict:
    import keras_seq2seq

    outputs = {}
    for model_name, (path, sources) in cases(directory).items():
        translator = keras_seq2seq.load(path)
        for option_name, options in OPTIONS.items():
            if model_name == "dates" and option_name.startswith("sample"):
                continue
            outputs[f"{model_name}/{option_name}"] = {
                "decode": _rows(translator, sources, options),
                "translate": _translated(translator, sources, options),
            }
            print(model_name, option_name, "decoded", file=sys.stderr, flush=True)
    return outputs


def compare(reference: dict, new: dict) -> bool:
    """Prints every difference and a summary line; True when none beyond 1e-6."""
    text_diffs = score_diffs = not_bit_equal = total = 0
    for key, parts in reference.items():
        if key not in new:
            print("MISSING", key)
            text_diffs += 1
            continue
        for part, rows in parts.items():
            for a, b in zip(rows, new[key][part], strict=True):
                for old, now in zip(a, b, strict=True):
                    total += 1
                    if old[0] != now[0] or old[3:] != now[3:]:
                        text_diffs += 1
                        print("TEXT", key, part, old, now)
                    for x, y in zip(old[1:3], now[1:3], strict=True):
                        not_bit_equal += x != y
                        if not math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-6):
                            score_diffs += 1
                            print("SCORE", key, part, old, now)
    print(
        f"{len(reference)} cases, {total} hypotheses compared: {text_diffs} text differences, "
        f"{score_diffs} score differences beyond 1e-6, {not_bit_equal} scores not bit-equal"
    )
    return text_diffs == 0 and score_diffs == 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["train-models", "record", "compare"])
    parser.add_argument("directory", type=Path, help="where the tiny runs are (or go)")
    parser.add_argument("reference", type=Path, nargs="?", help="the recorded outputs (JSON)")
    args = parser.parse_args(argv)
    if args.action == "train-models":
        train_models(args.directory)
        return 0
    if args.reference is None:
        parser.error(f"{args.action} needs the reference file: {args.action} DIR FILE.json")
    new = decode_all(args.directory)
    if args.action == "record":
        args.reference.write_text(json.dumps(new, ensure_ascii=False), encoding="utf-8")
        print("recorded", args.reference)
        return 0
    return 0 if compare(json.loads(args.reference.read_text("utf-8")), new) else 1


if __name__ == "__main__":
    raise SystemExit(main())
