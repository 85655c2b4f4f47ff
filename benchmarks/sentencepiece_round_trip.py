"""SentencePiece round trip: detokenize(tokenize(line)) against the normalized line.

    python benchmarks/sentencepiece_round_trip.py
        --model runs/translation-ddtp_en_de-transformer/run
        --data ../shared/data/ddtp_en_de.dev.tsv.gz [--lines 1000] [--seed 7]

Samples `--lines` texts at random from both columns of the data (source and target
sentences), runs them through the model's source tokenizer and back in graph, and compares
each with the text as the tokenizer normalizes it (`normalize_text`). Prints the number of
mismatches and the first few.
"""

from __future__ import annotations

import argparse
import random

from keras_seq2seq.quiet import silence_tensorflow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a run directory with a SentencePiece model")
    parser.add_argument("--data", required=True, help="TSV(.gz) of source<TAB>target pairs")
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    silence_tensorflow()
    import tensorflow as tf

    from keras_seq2seq.data.readers import read_pairs
    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.text.tokenizers import normalize_text

    tokenizer = load(args.model).source_tokenizer
    texts = [text for pair in read_pairs(args.data) for text in pair]
    sample = random.Random(args.seed).sample(texts, args.lines)
    back = tokenizer.detokenize(tokenizer.tokenize(tf.constant(sample))).numpy()
    wanted = normalize_text(tf.constant(sample)).numpy()
    mismatches = [(w.decode(), b.decode()) for w, b in zip(wanted, back, strict=True) if w != b]
    print(f"{len(sample):,} lines ({tokenizer.kind}), mismatches: {len(mismatches)}")
    for wanted_text, got in mismatches[:5]:
        print(f"  expected {wanted_text!r}\n       got {got!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
