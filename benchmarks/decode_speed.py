"""Decoding speed on the dates model: the tutorial's Python loop vs in-graph greedy and beam.

    python benchmarks/decode_speed.py [--model saved_models/dates] [--num-inputs 1000]

Prints one table. All rows are measured in the same run on the same held-out inputs (the
`dates` test split); ratios are relative to the tutorial-way loop. Exact match is measured on
the whole test split (2,000 dates never seen in training).

(a) tutorial way: one input at a time, the encoder model once, then the decoder-step model
    called eagerly once per output token from a Python loop (as in the Keras/TF tutorials);
(b) in-graph batched greedy search (`Translator.translate`, batch 256);
(c) beam search, width 4; (d) beam search, width 8.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from keras_seq2seq.decoding.translator import load
from keras_seq2seq.evaluation.metrics import exact_match
from keras_seq2seq.models.protocol import SourceBatch
from keras_seq2seq.text.vocabulary import END_ID, START_ID
from keras_seq2seq.training.recipes import load_pairs


def tutorial_loop(translator, texts: list[str]) -> list[str]:
    """Decodes one text at a time with a Python loop over eager decoder-step calls."""
    outputs = []
    max_length = translator.default_max_length
    for text in texts:
        source = translator.encode_source(tf.constant([text]))
        state, context = translator.model.encode(SourceBatch(source, max_length))
        token = tf.constant([START_ID], tf.int32)
        ids = []
        for position in range(max_length):
            log_probs, state = translator.model.step(token, state, context, position)[:2]
            next_id = int(np.argmax(log_probs.numpy()[0]))
            if next_id == END_ID:
                break
            ids.append(next_id)
            token = tf.constant([next_id], tf.int32)
        outputs.append(translator.target_tokenizer.detokenize(tf.constant([ids or [0]]))[0])
    return [o.numpy().decode("utf-8") for o in outputs]


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="saved_models/dates")
    parser.add_argument("--num-inputs", type=int, default=1000)
    args = parser.parse_args(argv)

    translator = load(args.model)
    test = load_pairs("dates", "test")
    sources = [s for s, _ in test]
    references = [t for _, t in test]
    inputs = sources[: args.num_inputs]

    # Warm up every path once (tracing is not decoding speed).
    tutorial_loop(translator, inputs[:2])
    for width in (1, 4, 8):
        translator.translate(inputs[:8], beam_width=width)

    rows = []
    loop_out, loop_seconds = timed(tutorial_loop, translator, inputs)
    rows.append(("(a) tutorial Python loop, batch 1", loop_seconds, loop_out))
    for label, width in (
        ("(b) in-graph greedy, batch 256", 1),
        ("(c) in-graph beam 4, batch 256", 4),
        ("(d) in-graph beam 8, batch 256", 8),
    ):
        out, seconds = timed(translator.translate, inputs, beam_width=width)
        rows.append((label, seconds, out))

    greedy_seconds = rows[1][1]
    print(f"Decoding {len(inputs)} held-out dates with {args.model}\n")
    print("| method | sentences/s | vs (a) | vs greedy | same output as (b) |")
    print("|---|---|---|---|---|")
    for label, seconds, out in rows:
        same = np.mean([a == b for a, b in zip(out, rows[1][2], strict=True)])
        print(
            f"| {label} | {len(inputs) / seconds:,.0f} | {loop_seconds / seconds:.1f}x | "
            f"{greedy_seconds / seconds:.2f}x | {100 * same:.1f}% |"
        )
    print(f"\nExact match on the full test split ({len(test)} dates):")
    for width in (1, 4, 8):
        accuracy = exact_match(translator.translate(sources, beam_width=width), references)
        name = "greedy" if width == 1 else f"beam {width}"
        print(f"  {name:7s} {100 * accuracy:.2f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
