"""Machine translation on real human translations: split, SentencePiece, train, BLEU/chrF.

    python benchmarks/translation.py --data ../shared/data/ddtp_en_de.dev.tsv.gz
        [--architecture transformer|rnn] [--time-budget 30] [--vocab-size 8000]
        [--output runs/translation-ddtp_en_de-transformer] [--skip-training]
        [--skip-evaluation] [--prepare-only]

1. Split: the pairs are de-duplicated and shuffled with a fixed seed (`--split-seed`), then cut
   into test (2,000 pairs), validation (1,000) and train (the rest). The split is written to
   `OUTPUT/split/{train,valid,test}.{src,tgt}` (text normalized as the tokenizers see it), so
   peers (`benchmarks/peers/opennmt.py`) train and test on exactly the same pairs.
2. Train: one SentencePiece model for both sides (`--shared-vocabulary`, unigram), learned on
   the training split only, and the architecture's translation recipe below, for at most
   `--time-budget` minutes of training (whole epochs; see `TimeBudget`).
3. Evaluate on the test pairs: BLEU and chrF (sacrebleu, with signatures) with beam 4 and
   n-gram blocking 3, and greedy; decode speed. The SentencePiece model goes to
   `OUTPUT/run/source_spm.model` for the peers (`--prepare-only` writes the split and that
   model, the same one training learns, and stops).

Prints one table.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from keras_seq2seq.quiet import silence_tensorflow

TEST_SIZE, VALIDATION_SIZE = 2_000, 1_000
RECIPES = {
    "transformer": {
        "model": {"architecture": "transformer", "units": 256, "num_layers": 3, "heads": 4,
                  "ffn_dim": 1024, "dropout": 0.1, "tie_embeddings": True},
        "train": {"batch_size": 64, "learning_rate": 1e-3, "lr_schedule": "inverse_sqrt",
                  "warmup_steps": 4000, "label_smoothing": 0.1, "patience": 5},
    },
    "rnn": {
        "model": {"architecture": "rnn", "units": 256, "num_layers": 1, "embedding_dim": 256,
                  "bidirectional": True, "attention": "dot", "dropout": 0.2,
                  "tie_embeddings": True},
        "train": {"batch_size": 64, "learning_rate": 1e-3, "label_smoothing": 0.1,
                  "patience": 5},
    },
}  # fmt: skip


def split_pairs(pairs: list[tuple[str, str]], seed: int) -> dict[str, list[tuple[str, str]]]:
    """De-duplicated pairs cut into test / validation / train by a fixed-seed shuffle."""
    unique = sorted(set(pairs))
    random.Random(seed).shuffle(unique)
    return {
        "test": unique[:TEST_SIZE],
        "valid": unique[TEST_SIZE : TEST_SIZE + VALIDATION_SIZE],
        "train": unique[TEST_SIZE + VALIDATION_SIZE :],
    }


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="TSV(.gz) of source<TAB>target pairs")
    parser.add_argument("--architecture", choices=sorted(RECIPES), default="transformer")
    parser.add_argument("--output", help="default runs/translation-NAME-ARCHITECTURE")
    parser.add_argument("--time-budget", type=float, default=30.0, help="training minutes")
    parser.add_argument("--epochs", type=int, default=100, help="at most this many epochs")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-length", type=int, default=128, help="pieces per side")
    parser.add_argument("--split-seed", type=int, default=1234)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="write the split and the SentencePiece model (for the peers), then stop",
    )
    parser.add_argument(
        "--skip-evaluation", action="store_true", help="train only (evaluate later)"
    )
    args = parser.parse_args(argv)
    silence_tensorflow()
    from keras_seq2seq.training.cpu import configure_for_cpu_training

    configure_for_cpu_training()
    from keras_seq2seq.data.readers import read_pairs
    from keras_seq2seq.evaluation.evaluate import evaluate

    name = Path(args.data).name.split(".")[0]
    output = Path(args.output or f"runs/translation-{name}-{args.architecture}")
    splits = split_pairs(read_pairs(args.data), args.split_seed)
    write_split(splits, output / "split")
    if args.prepare_only:
        prepare_pieces(splits, output / "run", args)
        print(f"Split in {output / 'split'}, pieces in {output / 'run' / 'source_spm.model'}")
        return 0
    seconds = None if args.skip_training else train_model(splits, output / "run", args)
    if args.skip_evaluation:
        if seconds is not None:
            print(f"Trained in {seconds / 60:.1f} min; evaluate with --skip-training")
        return 0
    rows, reports = [], {}
    for label, options in (
        ("greedy", {}),
        ("beam 4, no-repeat 3-grams", {"beam_width": 4, "no_repeat_ngram": 3}),
    ):
        report = evaluate(output / "run", splits["test"], progress=False,
                          metrics=("bleu", "chrf"), **options)  # fmt: skip
        reports[label] = {k: v for k, v in report.items() if k != "examples"}
        rows.append((label, report["bleu"], report["chrf"], report["sentences_per_second"]))
    print(f"\n{name}: {len(splits['train']):,} train / {len(splits['valid']):,} validation / "
          f"{len(splits['test']):,} test pairs; {args.architecture}, training "
          + (f"{seconds / 60:.1f} min" if seconds else "skipped"))  # fmt: skip
    print("| decoding | BLEU | chrF | sentences/s |\n|---|---|---|---|")
    for label, bleu, chrf, speed in rows:
        print(f"| {label} | {bleu:.1f} | {chrf:.1f} | {speed:.1f} |")
    print(reports[rows[-1][0]]["bleu_signature"])
    (output / "translation_benchmark.json").write_text(
        json.dumps({"train_seconds": seconds, "reports": reports}, indent=1) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
