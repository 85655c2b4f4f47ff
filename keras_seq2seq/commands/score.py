"""`keras-seq2seq score`: the model's log-probability of each source<TAB>target pair."""

from __future__ import annotations

import argparse

from keras_seq2seq.cli_errors import check_input_file
from keras_seq2seq.cli_fields import positive_int


def add_parser(subparsers) -> None:
    """Adds the `score` command."""
    p = subparsers.add_parser(
        "score",
        help="print the model's log-probability of each source<TAB>target pair",
        description="Score pairs (for reranking and data filtering): one line per pair, "
        "'score<TAB>mean<TAB>tokens', in input order. score is the total log-probability of "
        "the target's tokens and [END] given the source (for greedy search, or beam search "
        "without --length-penalty, the normalized score that --min-score compares); mean is "
        "the mean token log-probability, score / tokens.",
    )
    p.add_argument("--model", required=True, action="append", help="model (several: ensemble)")
    p.add_argument("--data", required=True, metavar="FILE", help="file of source<TAB>target lines")
    p.add_argument(
        "--batch-size", type=positive_int, default=256, metavar="N", help="pairs per batch (256)"
    )
    p.add_argument("--skip-bad-lines", action="store_true", help="skip malformed lines")
    p.add_argument(
        "--allow-empty-targets",
        action="store_true",
        help="score lines with an empty target ('source<TAB>': how likely a refusal is)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Runs `score`: one `score<TAB>mean<TAB>tokens` line per pair."""
    from keras_seq2seq.data.readers import read_pairs
    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.evaluation.scoring import score_pairs

    check_input_file("--data", args.data)
    pairs = read_pairs(
        args.data,
        skip_bad_lines=args.skip_bad_lines,
        allow_empty_targets=args.allow_empty_targets,
    )
    for result in score_pairs(load(args.model), pairs, batch_size=args.batch_size):
        print(f"{result.score:.4f}\t{result.mean_log_prob:.4f}\t{result.tokens}")
    return 0
