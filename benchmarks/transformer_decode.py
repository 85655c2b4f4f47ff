"""Decoding speed: our Transformer and LSTM SavedModels against CTranslate2, same sentences.

    python benchmarks/transformer_decode.py --sources test_sources.txt
        --transformer runs/g2p-pinyin-transformer [--rnn runs/g2p-pinyin] [--repeats 3] [--int8]
    python benchmarks/transformer_decode.py --sources runs/translation-X/split/test.src
        --transformer runs/translation-X-transformer/run --rnn runs/translation-X-rnn/run
        --opennmt-checkpoint runs/translation-X-transformer/opennmt-transformer/model_step_N.pt
        --spm runs/translation-X-transformer/run/source_spm.model [--repeats 3]

Every row decodes the same test sources (batches of 256) after one untimed warm-up batch, in
a fresh process, rows interleaved over `--repeats` rounds (the median is shown):

- keras-seq2seq: the model exported as a SavedModel (`export_model`; with `--before TREE`
  also as exported by an older checkout of the package, `git worktree add /tmp/before
  COMMIT`), called through its `serving_default` (greedy) and `beam_search` (beam 4)
  signatures, strings in and out (tokenization included), TensorFlow's default threads;
- with `--int8`, our export with `--quantize int8` beside CTranslate2's `int8` compute type
  on the same weights (each int8 row's ratio is to CTranslate2 int8);
- CTranslate2 float32, greedy and beam 4, 2 threads (`peers/ctranslate2_speed.py`, run in the
  OpenNMT-py environment `--onmt-python`), on either
  - our own Transformer's weights (the default: `ctranslate2_weights.py` lays them out for
    CTranslate2's `TransformerSpec`), fed our source tokens: the same model, so the table
    also reports how many outputs are identical to the SavedModel's; or
  - an OpenNMT-py Transformer of the same sizes (`--opennmt-checkpoint`, `--spm`), converted
    by CTranslate2's converter, on SentencePiece pieces.

CTranslate2 takes and returns tokens, our SavedModel strings (its tokenization and
detokenization are inside the timed call). Prints one table with sentences/s, the ratio of
each row to CTranslate2 with the same search (greedy or beam 4) and to CTranslate2 beam 4,
then how many outputs are identical to CTranslate2's (on our weights) and, with `--before`,
to the older checkout's export.
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
path, sources, signature, outputs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
lines = open(sources, encoding="utf-8").read().splitlines()
model = tf.saved_model.load(path).signatures[signature]
def run(batch):
    texts = tf.constant(batch)
    if signature == "beam_search":
        return model(inputs=texts, beam_width=tf.constant(4), n_best=tf.constant(1))
    return model(inputs=texts)
run(lines[:256])
started = time.perf_counter()
decoded = []
for begin in range(0, len(lines), 256):
    out = run(lines[begin:begin + 256])
    decoded.append(next(v for k, v in out.items() if k.startswith("output")))
seconds = time.perf_counter() - started
with open(outputs, "w", encoding="utf-8") as handle:
    for batch in decoded:
        texts = batch.numpy()
        for text in (texts[:, 0] if texts.ndim == 2 else texts):
            handle.write(text.decode("utf-8") + "\n")
print(json.dumps({"sentences_per_second": len(lines) / seconds}))
"""


def ours(saved_model: Path, sources: Path, signature: str, outputs: Path) -> float:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-c", WORKER, str(saved_model), str(sources), signature,
               str(outputs)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["sentences_per_second"]


def ctranslate2(args, beam_width: int, outputs: Path, compute_type: str = "float32") -> float:
    if args.opennmt_checkpoint:
        model = ["--checkpoint", str(args.opennmt_checkpoint), "--spm", str(args.spm),
                 "--sources", str(args.sources)]  # fmt: skip
    else:
        # Our beam search ranks by the plain sum of log-probabilities by default (no length
        # penalty); CTranslate2's default divides by the length, so it is turned off here.
        model = ["--weights", str(args.converted), "--length-penalty", "0"]
    done = subprocess.run(
        [str(args.onmt_python), str(HERE / "peers" / "ctranslate2_speed.py"), *model,
         "--beam-width", str(beam_width), "--hypotheses", str(outputs),
         "--compute-type", compute_type],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])["sentences_per_second"]


def detokenized_peer_lines(run_dir: Path, peer_tokens: Path) -> list[str]:
    """CTranslate2's hypotheses (target token strings joined by spaces) as our own text.

    The tokens go through the run's own target detokenizer, the one our SavedModel ends
    with, so a character-level model's `2 0 2 1 - 0 3 - 0 3` compares as `2021-03-03` and the
    two output files compare like with like.
    """
    import tensorflow as tf

    from keras_seq2seq.training.run_dir import load_run

    tokenizer = load_run(run_dir).target_tokenizer
    index = {token: i for i, token in enumerate(tokenizer.vocabulary)}
    rows = [[index[token] for token in line.split(" ") if token]
            for line in peer_tokens.read_text("utf-8").splitlines()]  # fmt: skip
    texts = tokenizer.detokenize(tf.ragged.constant(rows, dtype=tf.int64, ragged_rank=1))
    return [text.decode("utf-8") for text in texts.numpy()]


def identical(ours_file: Path, peer_lines: list[str]) -> str:
    """How many of our output lines are exactly the peer's detokenized line."""
    pairs = list(zip(ours_file.read_text("utf-8").splitlines(), peer_lines, strict=True))
    same = sum(a == b for a, b in pairs)
    return f"{same:,} / {len(pairs):,} ({100 * same / max(len(pairs), 1):.1f} %)"


def export(run_dir: Path, work: Path, name: str, quantize: str | None = None) -> Path:
    from keras_seq2seq.serving.export import export_model

    return export_model(run_dir, work / name, beam_width=4, quantize=quantize)


def export_with_tree(tree: Path, run_dir: Path, work: Path) -> Path:
    """The same run exported by another checkout of the package (`--before`)."""
    code = ("import sys; from keras_seq2seq.serving.export import export_model; "
            "print(export_model(sys.argv[1], sys.argv[2], beam_width=4))")  # fmt: skip
    # Run from the tree: `python -c` puts the working directory first on `sys.path`, ahead
    # of `PYTHONPATH` and of an editable install of this checkout.
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", code, str(run_dir.resolve()), str((work / "before").resolve())],
        capture_output=True, text=True, env=env, check=True, cwd=tree,
    )  # fmt: skip
    return Path(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", required=True, type=Path)
    parser.add_argument("--transformer", required=True, type=Path, help="our run directory")
    parser.add_argument("--rnn", type=Path, help="our LSTM run directory (optional row)")
    parser.add_argument(
        "--opennmt-checkpoint",
        type=Path,
        help="an OpenNMT-py Transformer (default: our own weights)",
    )
    parser.add_argument("--spm", type=Path, help="with --opennmt-checkpoint: its pieces")
    parser.add_argument("--onmt-python", type=Path, default=Path("/tmp/onmt/bin/python"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--before", type=Path, help="an older checkout: also time the Transformer exported by it"
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also our `--quantize int8` export against CTranslate2's int8 compute type",
    )
    args = parser.parse_args(argv)
    if args.int8 and args.opennmt_checkpoint:
        parser.error("--int8 compares the same weights: leave out --opennmt-checkpoint")
    work = Path(tempfile.mkdtemp(prefix="decode-bench-"))
    if args.opennmt_checkpoint and not args.spm:
        parser.error("--opennmt-checkpoint needs --spm (its SentencePiece model)")
    if not args.opennmt_checkpoint:
        from ctranslate2_weights import write_conversion

        args.converted = write_conversion(args.transformer, args.sources, work / "ct2")
    models = {"Transformer": export(args.transformer, work, "transformer")}
    if args.int8:
        models["Transformer int8"] = export(args.transformer, work, "int8", quantize="int8")
    if args.rnn:
        models["LSTM"] = export(args.rnn, work, "lstm")
    if args.before:
        models["Transformer (--before)"] = export_with_tree(args.before, args.transformer, work)
    runs: dict[str, list[float]] = {}
    peer = "CTranslate2 float32 " + ("OpenNMT-py " if args.opennmt_checkpoint else "same ")
    compute_types = {"float32": peer, **({"int8": "CTranslate2 int8 same "} if args.int8 else {})}
    for _ in range(args.repeats):
        for name, path in models.items():
            for label, signature in (("greedy", "serving_default"), ("beam 4", "beam_search")):
                key = f"keras-seq2seq {name} SavedModel, {label}"
                out = work / f"{name}-{label}.txt"
                runs.setdefault(key, []).append(ours(path, args.sources, signature, out))
        for compute_type, name in compute_types.items():
            for label, width in (("greedy", 1), ("beam 4", 4)):
                out = work / f"ct2-{compute_type}-{label}.txt"
                speed = ctranslate2(args, width, out, compute_type)
                runs.setdefault(f"{name}Transformer, {label}", []).append(speed)
    print_table(runs, peer, args)
    for label in ("greedy", "beam 4"):
        if not args.opennmt_checkpoint:
            ours_name = {"float32": "Transformer", "int8": "Transformer int8"}
            for compute_type in compute_types:
                peer_file = work / f"ct2-{compute_type}-{label}.txt"
                peer_lines = detokenized_peer_lines(args.transformer, peer_file)
                same = identical(work / f"{ours_name[compute_type]}-{label}.txt", peer_lines)
                print(f"Identical {label} outputs, {ours_name[compute_type]} SavedModel and "
                      f"CTranslate2 {compute_type}: {same}")  # fmt: skip
        if args.before:
            before = (work / f"Transformer (--before)-{label}.txt").read_text("utf-8")
            same = identical(work / f"Transformer-{label}.txt", before.splitlines())
            print(f"Identical {label} outputs, SavedModel and --before SavedModel: {same}")
    return 0


def print_table(runs: dict[str, list[float]], peer: str, args) -> None:
    """Medians, each row's ratio to CTranslate2 with the same search and to its beam 4."""
    lines = len(args.sources.read_text("utf-8").splitlines())
    print(f"Decoding {lines:,} test sentences, median of {args.repeats} interleaved runs")
    print("| row | sentences/s | vs CTranslate2, same search | vs CTranslate2 beam 4 | runs |")
    print("|---|---|---|---|---|")
    beam = statistics.median(runs[f"{peer}Transformer, beam 4"])
    for key, values in runs.items():
        median = statistics.median(values)
        # An int8 row (ours or CTranslate2's) against CTranslate2 int8, the rest float32.
        same_peer = "CTranslate2 int8 same " if " int8" in key else peer
        same = statistics.median(runs[f"{same_peer}Transformer, {key.rsplit(', ', 1)[1]}"])
        print(f"| {key} | {median:,.1f} | {median / same:.2f} | {median / beam:.2f} | "
              f"{', '.join(f'{v:,.1f}' for v in values)} |")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
