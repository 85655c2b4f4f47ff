"""`keras-seq2seq plot-attention`: draw the attention weights of one translation."""

from __future__ import annotations

import argparse
import sys

from keras_seq2seq.cli_errors import check_output_file
from keras_seq2seq.commands.decoding import add_decode_arguments, decode_options


def add_parser(subparsers) -> None:
    """Adds the `plot-attention` command."""
    p = subparsers.add_parser(
        "plot-attention",
        help="draw the attention weights of one translation",
        description="Translate TEXT and save a heat map of the attention weights: source "
        "tokens across, output tokens down ([END] included).",
    )
    p.add_argument("--model", required=True, help="model directory (as for translate)")
    p.add_argument("--output", required=True, metavar="FILE", help="image file (.png, .svg, .pdf)")
    add_decode_arguments(p, ["beam_width", "length_penalty", "max_length", "max_length_ratio"])
    p.add_argument("text", metavar="TEXT", help="the text to translate")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Runs `plot-attention`: translates the text and writes the heat map."""
    from keras_seq2seq.evaluation.plotting import plot_attention

    check_output_file("--output", args.output)
    plot_attention(args.model, args.text, decode_options(args), output=args.output)
    print(f"Attention plot written to {args.output}", file=sys.stderr)
    return 0
