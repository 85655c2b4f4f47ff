"""Training cost of copy attention: the summarization model with and without it, same batches.

    python benchmarks/copy_speed.py [--data PATH.tsv.gz] [--pairs 6000] [--batches 60]
                                    [--repeats 3] [--architecture rnn|transformer]

The summarization recipe of `benchmarks/summarization.py` (WordPiece, one vocabulary for both
sides, 8,000 pieces, sources cut at 96, synopses at 24; 1-layer bidirectional LSTM 256, Luong
attention, dropout 0.3, label smoothing 0.1, batch 64; or the Transformer) is built twice
from the same vocabulary: plain, and with `copy_attention=True`. Both train with `fit` on the
same `--batches` batches (the first pass of each is untimed: tracing), `--repeats` timed
passes each, variants interleaved; tokens/s counts the non-padding source and target tokens.
Prints the median tokens/s of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_seq2seq.config import ModelConfig, TextConfig, TrainConfig
from keras_seq2seq.data.pipeline import encode_pairs, make_dataset
from keras_seq2seq.data.readers import read_pairs
from keras_seq2seq.models import build_model
from keras_seq2seq.models.copying import CopyVocabulary
from keras_seq2seq.text.tokenizers import fit_tokenizer
from keras_seq2seq.training.cpu import configure_for_cpu_training
from keras_seq2seq.training.fit import compile_model

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/debian_descriptions.dev.tsv.gz"
MODELS = {
    "rnn": {"units": 256, "embedding_dim": 128, "bidirectional": True, "attention": "dot"},
    "transformer": {"architecture": "transformer", "units": 256, "num_layers": 3, "heads": 4},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--pairs", type=int, default=6000)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--architecture", choices=sorted(MODELS), default="rnn")
    args = parser.parse_args(argv)
    configure_for_cpu_training()
    pairs = read_pairs(args.data)[: args.pairs]
    text = TextConfig(tokenizer="wordpiece", max_vocabulary_size=8000, lowercase=True)
    tokenizer = fit_tokenizer(text, [s for s, _ in pairs] + [t for _, t in pairs])
    train_config = TrainConfig(batch_size=64, label_smoothing=0.1)
    runs = {}
    for copy in (False, True):
        encoded = encode_pairs(
            pairs, tokenizer, tokenizer, max_source_length=96, max_target_length=24,
            warn=False, copy=CopyVocabulary(tokenizer, tokenizer, 96) if copy else None,
        )  # fmt: skip
        dataset = make_dataset(encoded, batch_size=64).take(args.batches).cache()
        tokens = sum(
            int((inputs[0] != 0).numpy().sum() + (target != 0).numpy().sum())
            for inputs, target in dataset
        )
        config = ModelConfig(
            tokenizer.vocabulary_size, tokenizer.vocabulary_size, dropout=0.3,
            copy_attention=copy, **MODELS[args.architecture],
        )  # fmt: skip
        model = build_model(config)
        size = tokenizer.vocabulary_size if copy else None
        compile_model(model.training, train_config, vocabulary_size=size)
        model.training.fit(dataset, epochs=1, verbose=0)  # untimed: tracing
        runs["copy" if copy else "plain"] = (model, dataset, tokens, [])
    for _ in range(args.repeats):
        for model, dataset, tokens, rates in runs.values():
            started = time.perf_counter()
            model.training.fit(dataset, epochs=1, verbose=0)
            rates.append(tokens / (time.perf_counter() - started))
    plain = statistics.median(runs["plain"][3])
    copied = statistics.median(runs["copy"][3])
    print(f"\n{args.architecture}, {args.batches} batches of 64, median of {args.repeats} passes")
    print("| model | tokens/s | vs plain |")
    print("|---|---|---|")
    print(f"| plain | {plain:,.0f} | 1.00 |")
    print(f"| copy attention | {copied:,.0f} | {copied / plain:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
