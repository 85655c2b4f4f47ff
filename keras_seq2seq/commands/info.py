"""`keras-seq2seq info`: print a model's card."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    """Adds the `info` command."""
    p = subparsers.add_parser(
        "info",
        help="print a model's card: architecture, sizes, data, training, last evaluation",
        description="Print what a trained model is (architecture, sizes, parameters, "
        "vocabularies and tokenizers), what it was trained on (pairs, dataset or file and "
        "its SHA-256), how long training took, and its last evaluation.",
    )
    p.add_argument(
        "model", metavar="MODEL", help="run directory, exported model or a shipped model's name"
    )
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Runs `info`: the card as text, or as JSON."""
    import json

    from keras_seq2seq.serving.model_card import format_model_card, model_card

    card = model_card(args.model)
    print(json.dumps(card, indent=1, ensure_ascii=False) if args.json else format_model_card(card))
    return 0
