"""`keras-seq2seq translate`: translate texts, a file or standard input with a trained model."""

from __future__ import annotations

import argparse
import sys

from keras_seq2seq.cli_errors import check_input_file, check_output_file
from keras_seq2seq.cli_fields import positive_int
from keras_seq2seq.commands.decoding import (
    MODELS_HELP,
    add_batch_size,
    add_decode_arguments,
    decode_options,
)

FEW_TEXTS = 1000
"""Up to this many texts given as arguments, `translate` decodes without graph optimization."""


def add_parser(subparsers) -> None:
    """Adds the `translate` command."""
    p = subparsers.add_parser(
        "translate",
        help="translate texts with a trained model",
        description="Translate each TEXT, or each line of --input FILE (standard input when "
        "neither is given). Writes exactly one output line per input, in input order (or N "
        "lines 'rank<TAB>score<TAB>text' per input with --n-best N > 1, the score being the "
        "normalized score that --min-score compares), to --output FILE or "
        "standard output. Files of any size stream in bounded memory; a progress line with "
        "sentences/s and the time left shows on a terminal.",
    )
    p.add_argument("--model", required=True, action="append", help=MODELS_HELP)
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to translate")
    p.add_argument(
        "--input", metavar="FILE", help="file of inputs, one per line ('-': standard input)"
    )
    p.add_argument(
        "--output", metavar="FILE", help="file to write the outputs to (default: standard output)"
    )
    add_decode_arguments(p)
    add_batch_size(p)
    p.add_argument(
        "--chunk-size",
        type=positive_int,
        default=4096,
        metavar="N",
        help="inputs read, sorted by length and translated at a time (default 4096)",
    )
    p.set_defaults(handler=run)


def _skip_graph_optimization() -> None:
    """Turns off TensorFlow's graph optimizer (Grappler) for the rest of the process.

    It rewrites the decoding graph once, when the graph first runs: about 0.6 s on a CPU,
    which makes each later batch faster (0.2 ms a sentence for the dates model). For a few
    sentences that one-time cost is most of the work.
    """
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def _translator(args: argparse.Namespace):
    """The translator of `--model`: a TF Serving REST endpoint, or models loaded here."""
    if args.model[0].startswith(("http://", "https://")):  # served by TF Serving (REST)
        from keras_seq2seq.serving.client import RestTranslator

        if len(args.model) > 1:
            raise ValueError("An ensemble is decoded in process: give model directories.")
        return RestTranslator(args.model[0])
    from keras_seq2seq.decoding.translator import load

    if len(args.texts) in range(1, FEW_TEXTS):
        _skip_graph_optimization()
    return load(args.model)


def run(args: argparse.Namespace) -> int:
    """Runs `translate`: the texts given, or each line of the input, one output line each."""
    from keras_seq2seq.decoding.options import DecodeOptions
    from keras_seq2seq.decoding.streaming import format_result, translate_file

    options = DecodeOptions(**decode_options(args))
    if args.texts and args.input:
        raise ValueError("Give the texts as arguments or as --input FILE, not both.")
    check_input_file("--input", args.input)
    check_output_file("--output", args.output)
    translator = _translator(args)
    if args.texts:
        results = translator.translate(args.texts, options, batch_size=args.batch_size)
        lines = [line for result in results for line in format_result(result, options.n_best)]
        _write_lines(lines, args.output)
        return 0
    # Typed at a terminal: answer each line as it comes.
    chunk_size = 1 if args.input in (None, "-") and sys.stdin.isatty() else args.chunk_size
    translate_file(
        translator, args.input, args.output, options,
        batch_size=args.batch_size, chunk_size=chunk_size,
    )  # fmt: skip
    return 0


def _write_lines(lines: list[str], output: str | None) -> None:
    if output in (None, "-"):
        print("\n".join(lines))
        return
    from pathlib import Path

    Path(output).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
