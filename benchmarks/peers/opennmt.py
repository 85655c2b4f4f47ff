"""OpenNMT-py 3.5.1 on the same translation split, pieces and wall-clock budget as ours.

    python benchmarks/peers/opennmt.py --split runs/translation-ddtp_en_de-transformer/split
        --spm runs/translation-ddtp_en_de-transformer/run/source_spm.model
        --model rnn|transformer --time-budget 30 --onmt /tmp/onmt/bin
        [--block-ngram-repeat 3] [--translate-only]

Benchmark-only: OpenNMT-py lives in its own virtual environment with the torch it requires
(`python3 -m venv /tmp/onmt && /tmp/onmt/bin/pip install OpenNMT-py==3.5.1 torch==2.2.2
"numpy<2" sentencepiece`: torch 2.2 needs NumPy 1, and the `sentencepiece` transform imports
sentencepiece without requiring it),
never in the package's. This script runs under keras-seq2seq's environment and calls the
OpenNMT-py commands of `--onmt`:

1. `onmt_build_vocab` on the training split with the `sentencepiece` transform and our
   SentencePiece model (the pieces keras-seq2seq trained with), one shared vocabulary;
2. `onmt_train` for `--time-budget` minutes of wall clock (stopped by SIGINT), saving a
   checkpoint every 100 steps (the last one is scored); `--model rnn` is OpenNMT-py's
   default model (no model option given), `--model transformer` a Transformer of the same
   sizes as ours (model width 256, 3 + 3 layers, 4 heads, feed-forward 1024, shared
   embeddings, Noam schedule);
3. `onmt_translate` of the test sources with the last checkpoint, beam 4, pieces turned back
   into text by the same transform (`--block-ngram-repeat N` adds its repeated n-gram
   blocking, as our `--no-repeat-ngram`; `--translate-only` scores an earlier run's last
   checkpoint again, without training);
4. BLEU and chrF with keras-seq2seq's own sacrebleu call
   (`keras_seq2seq.evaluation.metrics`), on the same references as `benchmarks/translation.py`.

Prints one table row.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

TRANSFORMER = {
    "encoder_type": "transformer", "decoder_type": "transformer", "position_encoding": True,
    "enc_layers": 3, "dec_layers": 3, "heads": 4, "hidden_size": 256, "word_vec_size": 256,
    "transformer_ff": 1024, "dropout": [0.1], "attention_dropout": [0.1],
    "label_smoothing": 0.1, "share_embeddings": True, "share_decoder_embeddings": True,
    "optim": "adam", "adam_beta2": 0.998, "decay_method": "noam", "learning_rate": 2.0,
    "warmup_steps": 4000, "batch_type": "tokens", "batch_size": 4096,
    "normalization": "tokens", "max_grad_norm": 0.0, "param_init": 0.0,
    "param_init_glorot": True,
}  # fmt: skip


def write_config(work: Path, split: Path, spm: Path, model: str) -> Path:
    """The OpenNMT-py YAML configuration (JSON is valid YAML)."""
    config = {
        "save_data": str(work / "data"),
        "src_vocab": str(work / "vocab.txt"),
        "tgt_vocab": str(work / "vocab.txt"),
        "share_vocab": True,
        "overwrite": True,
        "data": {
            "corpus_1": {"path_src": str(split / "train.src"), "path_tgt": str(split / "train.tgt"),
                         "transforms": ["sentencepiece", "filtertoolong"]},
            "valid": {"path_src": str(split / "valid.src"), "path_tgt": str(split / "valid.tgt"),
                      "transforms": ["sentencepiece"]},
        },
        "src_subword_model": str(spm),
        "tgt_subword_model": str(spm),
        "src_seq_length": 128,
        "tgt_seq_length": 128,
        "save_model": str(work / "model"),
        "save_checkpoint_steps": 100,
        "keep_checkpoint": 3,
        "train_steps": 10_000_000,
        "valid_steps": 2000,
        "report_every": 100,
        "seed": 1234,
        "bucket_size": 32_768,  # the default (262,144) is 7 passes over this corpus per fill
        **(TRANSFORMER if model == "transformer" else {}),
    }  # fmt: skip
    path = work / "config.yaml"
    path.write_text(json.dumps(config, indent=1) + "\n")
    return path


def run(command: list[str], log: Path, timeout: float | None = None) -> float:
    """Runs a command (SIGINT at `timeout` seconds); returns its wall-clock seconds."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
    if process.returncode not in (0, -signal.SIGINT, 130, 1) or (
        timeout is None and process.returncode != 0
    ):
        raise RuntimeError(f"{command[0]} failed ({process.returncode}); see {log}")
    return time.perf_counter() - started


def last_checkpoint(work: Path) -> Path:
    steps = sorted((int(m.group(1)), p) for p in work.glob("model_step_*.pt")
                   if (m := re.search(r"_step_(\d+)\.pt$", p.name)))  # fmt: skip
    if not steps:
        raise RuntimeError(f"OpenNMT-py saved no checkpoint in {work} (budget too short?)")
    return steps[-1][1]


def train(work: Path, args) -> float:
    """Builds the vocabulary and trains for the budget; returns the training seconds."""
    work.mkdir(parents=True, exist_ok=True)
    config = write_config(work, args.split.resolve(), args.spm.resolve(), args.model)
    run([str(args.onmt / "onmt_build_vocab"), "-config", str(config), "-n_sample", "-1"],
        work / "vocab.log")  # fmt: skip
    return run([str(args.onmt / "onmt_train"), "-config", str(config)],
               work / "train.log", timeout=60 * args.time_budget)  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", required=True, type=Path)
    parser.add_argument("--spm", required=True, type=Path, help="our SentencePiece model")
    parser.add_argument("--model", choices=("rnn", "transformer"), default="rnn")
    parser.add_argument("--time-budget", type=float, default=30.0, help="training minutes")
    parser.add_argument("--onmt", type=Path, default=Path("/tmp/onmt/bin"))
    parser.add_argument("--output", type=Path, help="default SPLIT/../opennmt-MODEL")
    parser.add_argument(
        "--block-ngram-repeat",
        type=int,
        default=0,
        help="onmt_translate's -block_ngram_repeat (0 = its default, none)",
    )
    parser.add_argument(
        "--translate-only",
        action="store_true",
        help="score the last checkpoint of an earlier run in OUTPUT again (no training)",
    )
    args = parser.parse_args(argv)
    work = (args.output or args.split.parent / f"opennmt-{args.model}").resolve()
    if args.translate_only:
        earlier = work / "scores.json"
        if not earlier.is_file():
            parser.error(f"--translate-only needs an earlier run's {earlier}; run without it")
        train_seconds = json.loads(earlier.read_text())["train_seconds"]
    else:
        train_seconds = train(work, args)
    checkpoint = last_checkpoint(work)
    blocking = args.block_ngram_repeat
    suffix = f".block{blocking}" if blocking else ""
    predictions = work / f"test{suffix}.pred"
    translate_seconds = run(
        [str(args.onmt / "onmt_translate"), "-model", str(checkpoint), "-src",
         str(args.split / "test.src"), "-output", str(predictions), "-beam_size", "4",
         "-batch_size", "64", "-transforms", "sentencepiece", "-src_subword_model",
         str(args.spm), "-tgt_subword_model", str(args.spm),
         *(["-block_ngram_repeat", str(blocking)] if blocking else [])],
        work / f"translate{suffix}.log",
    )  # fmt: skip
    from keras_seq2seq.evaluation.metrics import score_texts

    hypotheses = predictions.read_text("utf-8").splitlines()
    references = [[r] for r in (args.split / "test.tgt").read_text("utf-8").splitlines()]
    scores = score_texts(hypotheses, references, ["bleu", "chrf"])
    print(f"| OpenNMT-py 3.5.1 {args.model} ({checkpoint.name}, {train_seconds / 60:.1f} min"
          + (f", block {blocking}-grams" if blocking else "") + ") "
          f"| {scores['bleu']:.1f} | {scores['chrf']:.1f} "
          f"| {len(hypotheses) / translate_seconds:.1f} |")  # fmt: skip
    print(scores["bleu_signature"])
    (work / f"scores{suffix}.json").write_text(
        json.dumps(
            {**scores, "checkpoint": checkpoint.name, "train_seconds": train_seconds}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
