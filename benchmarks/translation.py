"""Machine translation on real human translations: split, SentencePiece, train, BLEU/chrF.

    python benchmarks/translation.py --data ../shared/data/ddtp_en_de.dev.tsv.gz
        [--architecture rnn|transformer|transformer-30min|transformer-2h] [--time-budget 30]
        [--vocab-size 8000]
        [--output runs/translation-ddtp_en_de-transformer] [--skip-training]
        [--skip-evaluation] [--prepare-only] [--split-only] [--split grouped|random]

1. Split: the pairs are de-duplicated, then cut into test (2,000 pairs), validation (1,000) and
   train (the rest) with a fixed seed (`--split-seed`). `--split grouped` (the default) first
   groups near-duplicate sources (word-Jaccard >= `--group-threshold`, linked transitively;
   `benchmarks/near_duplicates.py`) and deals whole groups, so no test source has a training
   source that close; `--split random` shuffles the pairs one by one (the earlier split, kept
   for the side-by-side row; its default output directory ends in `-random`). Either way the
   share of test sources within 0.9 and 0.7 word-Jaccard of a training source is printed and
   written to `OUTPUT/split/split.json`, and the split to
   `OUTPUT/split/{train,valid,test}.{src,tgt}` (text normalized as the tokenizers see it), so
   peers (`benchmarks/peers/opennmt.py`) train and test on exactly the same pairs.
   `--split-only` stops there; an OUTPUT whose split was made otherwise is refused.
2. Train: one SentencePiece model for both sides (`--shared-vocabulary`, unigram), learned on
   the training split only, and the translation recipe `--architecture` names (`RECIPES`
   below), for at most `--time-budget` minutes of training (the last epoch cut short at the
   budget; see `TimeBudget`).
3. Evaluate on the test pairs: BLEU and chrF (sacrebleu, with signatures), names-exact (the
   share of the sources' identifiers reproduced exactly, `keras_seq2seq.evaluation.names`)
   with beam 4 and n-gram blocking 3, and greedy; decode speed. The epoch of lowest
   validation loss is scored, and, for a recipe that keeps checkpoints, also the average of
   its last epochs (`OUTPUT/run-avgN`, `average_checkpoints`). The SentencePiece model goes to
   `OUTPUT/run/source_spm.model` for the peers (`--prepare-only` writes the split and that
   model, the same one training learns, and stops).

Prints one table.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from keras_seq2seq.quiet import silence_tensorflow

TEST_SIZE, VALIDATION_SIZE = 2_000, 1_000
OVERLAP_THRESHOLDS = (0.9, 0.7)
TRANSFORMER_MODEL = {"architecture": "transformer", "units": 256, "num_layers": 3, "heads": 4,
                     "ffn_dim": 1024, "dropout": 0.1, "tie_embeddings": True}  # fmt: skip


def transformer_train(warmup_steps: int, keep_checkpoints: int = 0) -> dict:
    """The Transformer's training options: inverse-square-root schedule peaking at 1e-3."""
    options = {"batch_size": 64, "learning_rate": 1e-3, "lr_schedule": "inverse_sqrt",
               "warmup_steps": warmup_steps, "label_smoothing": 0.1, "patience": 5}  # fmt: skip
    return {**options, "keep_checkpoints": keep_checkpoints} if keep_checkpoints else options


# A recipe's name is `--architecture` here and `--model` in benchmarks/peers/opennmt.py.
# "transformer" warms up over 4,000 steps (Vaswani et al.'s schedule), more than a 2-core CPU
# trains in 30 minutes. The budget recipes end their warmup inside their budget, at about a
# fifth of the steps it buys on the AVX2 machine of docs/translation.md (2.1 s a step of 64
# pairs measured: ~850 steps in 30 minutes, ~3,400 in 2 hours), and average their last epochs.
RECIPES = {
    "transformer": {"model": TRANSFORMER_MODEL, "train": transformer_train(4000)},
    "transformer-30min": {"model": TRANSFORMER_MODEL, "train": transformer_train(200, 2)},
    "transformer-2h": {"model": TRANSFORMER_MODEL, "train": transformer_train(800, 3)},
    "rnn": {
        "model": {"architecture": "rnn", "units": 256, "num_layers": 1, "embedding_dim": 256,
                  "bidirectional": True, "attention": "dot", "dropout": 0.2,
                  "tie_embeddings": True},
        "train": {"batch_size": 64, "learning_rate": 1e-3, "label_smoothing": 0.1,
                  "patience": 5},
    },
}  # fmt: skip


def split_pairs(
    pairs: list[tuple[str, str]], seed: int, kind: str = "random", threshold: float = 0.7
) -> dict[str, list[tuple[str, str]]]:
    """De-duplicated pairs cut into test / validation / train with a fixed seed.

    `kind="random"`: a shuffle of the pairs; `"grouped"`: near-duplicate sources (word-Jaccard
    >= `threshold`) stay on one side (`near_duplicates.grouped_split`).
    """
    unique = sorted(set(pairs))
    if kind == "grouped":
        from near_duplicates import grouped_split

        return grouped_split(unique, {"test": TEST_SIZE, "valid": VALIDATION_SIZE}, seed, threshold)
    if kind != "random":
        raise ValueError(f"split kind must be 'grouped' or 'random', got {kind!r}")
    random.Random(seed).shuffle(unique)
    return {
        "test": unique[:TEST_SIZE],
        "valid": unique[TEST_SIZE : TEST_SIZE + VALIDATION_SIZE],
        "train": unique[TEST_SIZE + VALIDATION_SIZE :],
    }


def split_settings(args) -> dict:
    """What makes a split: `split.json` records it, and a different request is refused."""
    threshold = args.group_threshold if args.split == "grouped" else None
    return {"split": args.split, "seed": args.split_seed, "group_threshold": threshold,
            "data": Path(args.data).name}  # fmt: skip


def check_split_directory(directory: Path, settings: dict) -> None:
    """Exits with a message if `directory` holds a split made with other settings.

    A split directory without `split.json` was written before the grouped split existed: a
    random split.
    """
    if not (directory / "test.src").is_file():
        return
    record = directory / "split.json"
    earlier = json.loads(record.read_text()) if record.is_file() else {"split": "random"}
    differing = {k: earlier[k] for k in ("split", "seed", "group_threshold", "data")
                 if k in earlier and earlier[k] != settings[k]}  # fmt: skip
    if differing:
        sys.exit(
            f"{directory} holds a split made with other settings ({differing}, asked for "
            f"{ {k: settings[k] for k in differing} }): a model trained on it may have seen "
            "this split's test pairs. "
            "Use another --output, or the same --split/--split-seed/--group-threshold."
        )


def overlap_report(splits: dict) -> dict[str, float]:
    """Percent of test sources within each of `OVERLAP_THRESHOLDS` of a training source."""
    from near_duplicates import overlap_shares

    shares = overlap_shares([s for s, _ in splits["test"]], [s for s, _ in splits["train"]],
                            OVERLAP_THRESHOLDS)  # fmt: skip
    return {f"{t:g}": round(share, 2) for t, share in shares.items()}


def write_split(splits: dict, directory: Path) -> None:
    """Writes normalized `{split}.src` / `{split}.tgt` files (what the tokenizers see)."""
    import tensorflow as tf

    from keras_seq2seq.text.tokenizers import normalize_text

    directory.mkdir(parents=True, exist_ok=True)
    for name, pairs in splits.items():
        for side, index in (("src", 0), ("tgt", 1)):
            texts = [pair[index] for pair in pairs]
            normalized = [
                t.decode("utf-8")
                for begin in range(0, len(texts), 4096)
                for t in normalize_text(tf.constant(texts[begin : begin + 4096])).numpy()
            ]
            (directory / f"{name}.{side}").write_text("\n".join(normalized) + "\n", "utf-8")


def text_config(args):
    """One SentencePiece unigram model for both sides (the recipe of every row)."""
    from keras_seq2seq.config import TextConfig

    return TextConfig(tokenizer="sentencepiece", max_vocabulary_size=args.vocab_size,
                      shared_vocabulary=True, max_length=args.max_length)  # fmt: skip


def prepare_pieces(splits, run_dir: Path, args) -> None:
    """Learns the shared SentencePiece model as training would, without training.

    Writes `RUN_DIR/source_spm.model` (and the vocabularies) for the peers, the same model
    `train` learns from the same training split.
    """
    from keras_seq2seq.text.tokenizers import fit_tokenizer
    from keras_seq2seq.training.run_dir import save_tokenizers

    train_pairs = splits["train"]
    texts = [pair[0] for pair in train_pairs] + [pair[1] for pair in train_pairs]
    tokenizer = fit_tokenizer(text_config(args), texts)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_tokenizers(run_dir, tokenizer, tokenizer)


def train_model(splits, output: Path, args) -> float:
    from keras_seq2seq.config import TrainConfig
    from keras_seq2seq.training.fit import train

    recipe = RECIPES[args.architecture]
    text = text_config(args)
    started = time.perf_counter()
    train(
        splits["train"],
        output,
        validation_pairs=splits["valid"],
        model_options=recipe["model"],
        source_text=text,
        target_text=text,
        train_config=TrainConfig(
            epochs=args.epochs, time_budget_minutes=args.time_budget, **recipe["train"]
        ),
        verbose=2,
        data_source=args.data,
    )
    return time.perf_counter() - started


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="TSV(.gz) of source<TAB>target pairs")
    parser.add_argument(
        "--architecture",
        choices=sorted(RECIPES),
        default="transformer",
        help="the recipe (RECIPES): its architecture and training options",
    )
    parser.add_argument("--output", help="default runs/translation-NAME-ARCHITECTURE (+ -random)")
    parser.add_argument("--time-budget", type=float, default=30.0, help="training minutes")
    parser.add_argument("--epochs", type=int, default=100, help="at most this many epochs")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-length", type=int, default=128, help="pieces per side")
    parser.add_argument("--split-seed", type=int, default=1234)
    parser.add_argument(
        "--split",
        choices=("grouped", "random"),
        default="grouped",
        help="keep near-duplicate sources on one side (grouped), or shuffle pairs (random)",
    )
    parser.add_argument(
        "--group-threshold",
        type=float,
        default=0.7,
        help="word-Jaccard that puts two sources in one group (--split grouped)",
    )
    parser.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="skip malformed lines of --data (ddtp_en_fr has 5 with control characters)",
    )
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="write the split and the SentencePiece model (for the peers), then stop",
    )
    parser.add_argument(
        "--split-only", action="store_true", help="write the split, print its overlap, stop"
    )
    parser.add_argument(
        "--skip-evaluation", action="store_true", help="train only (evaluate later)"
    )
    args = parser.parse_args(argv)
    if not 0.0 < args.group_threshold <= 1.0:
        parser.error(f"--group-threshold must be in (0, 1], got {args.group_threshold}")
    return args


def prepare_split(args, output: Path) -> dict:
    """Reads, splits, checks OUTPUT/split against earlier settings, writes it, prints overlap."""
    from keras_seq2seq.data.readers import read_pairs

    settings = split_settings(args)
    check_split_directory(output / "split", settings)
    started = time.perf_counter()
    pairs = read_pairs(args.data, skip_bad_lines=args.skip_bad_lines)
    splits = split_pairs(pairs, args.split_seed, args.split, args.group_threshold)
    overlap = overlap_report(splits)
    write_split(splits, output / "split")
    sizes = {name: len(pairs) for name, pairs in splits.items()}
    record = {**settings, "sizes": sizes, "test_sources_within_jaccard": overlap}
    (output / "split" / "split.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"{args.split} split ({time.perf_counter() - started:.0f} s): "
          + ", ".join(f"{n:,} {name}" for name, n in sizes.items()) + "; test sources within "
          + ", ".join(f"{t} word-Jaccard of a training source: {share:.1f} %"
                      for t, share in overlap.items()))  # fmt: skip
    return splits


def evaluate_rows(run_dir: Path, splits: dict, prefix: str = "") -> tuple[list, dict]:
    """Greedy and beam-4 rows: (label, BLEU, chrF, names-exact, sentences/s), and reports."""
    from keras_seq2seq.evaluation.evaluate import evaluate
    from keras_seq2seq.evaluation.names import names_exact

    rows, reports = [], {}
    for label, options in (
        ("greedy", {}),
        ("beam 4, no-repeat 3-grams", {"beam_width": 4, "no_repeat_ngram": 3}),
    ):
        label = prefix + label
        report = evaluate(run_dir, splits["test"], progress=False,
                          metrics=("bleu", "chrf"), **options)  # fmt: skip
        examples = report["examples"]
        names = names_exact([e["source"] for e in examples], [e["hypothesis"] for e in examples],
                            [e["references"] for e in examples])  # fmt: skip
        reports[label] = {**{k: v for k, v in report.items() if k != "examples"}, **names}
        rows.append((label, report["bleu"], report["chrf"], names["names_exact"],
                     report["sentences_per_second"]))  # fmt: skip
    return rows, reports


def average_run(output: Path, keep: int) -> Path | None:
    """`OUTPUT/run-avgN`: the mean of the run's last `keep` epochs (None when it keeps none).

    Made anew each time, so it always averages the run's current last checkpoints.
    """
    import shutil

    from keras_seq2seq.run_layout import CHECKPOINTS_DIR, checkpoint_files
    from keras_seq2seq.training.averaging import average_checkpoints

    kept = checkpoint_files(output / "run" / CHECKPOINTS_DIR)
    if keep < 2 or len(kept) < 2:
        return None
    last = min(keep, len(kept))
    averaged = output / f"run-avg{last}"
    shutil.rmtree(averaged, ignore_errors=True)
    return average_checkpoints(output / "run", averaged, last=last)


def main(argv=None) -> int:
    args = parse_args(argv)
    silence_tensorflow()
    from keras_seq2seq.training.cpu import configure_for_cpu_training

    configure_for_cpu_training()
    name = Path(args.data).name.split(".")[0]
    suffix = "-random" if args.split == "random" else ""
    output = Path(args.output or f"runs/translation-{name}-{args.architecture}{suffix}")
    splits = prepare_split(args, output)
    if args.split_only:
        print(f"Split in {output / 'split'}")
        return 0
    if args.prepare_only:
        prepare_pieces(splits, output / "run", args)
        print(f"Split in {output / 'split'}, pieces in {output / 'run' / 'source_spm.model'}")
        return 0
    seconds = None if args.skip_training else train_model(splits, output / "run", args)
    if args.skip_evaluation:
        if seconds is not None:
            print(f"Trained in {seconds / 60:.1f} min; evaluate with --skip-training")
        return 0
    rows, reports = evaluate_rows(output / "run", splits, "best epoch, ")
    averaged = average_run(output, RECIPES[args.architecture]["train"].get("keep_checkpoints", 0))
    if averaged is not None:
        more_rows, more_reports = evaluate_rows(averaged, splits, f"{averaged.name}, ")
        rows, reports = rows + more_rows, {**reports, **more_reports}
    print(f"\n{name}: {len(splits['train']):,} train / {len(splits['valid']):,} validation / "
          f"{len(splits['test']):,} test pairs ({args.split} split); {args.architecture}, "
          "training " + (f"{seconds / 60:.1f} min" if seconds else "skipped"))  # fmt: skip
    print("| decoding | BLEU | chrF | names-exact | sentences/s |\n|---|---|---|---|---|")
    for label, bleu, chrf, names, speed in rows:
        print(f"| {label} | {bleu:.1f} | {chrf:.1f} | {names:.1f} | {speed:.1f} |")
    print(reports[rows[-1][0]]["bleu_signature"])
    (output / "translation_benchmark.json").write_text(
        json.dumps({"train_seconds": seconds, "reports": reports}, indent=1) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
