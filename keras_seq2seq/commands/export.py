"""`keras-seq2seq export`: export a SavedModel for TF Serving, or check the ops of one."""

from __future__ import annotations

import argparse

from keras_seq2seq.cli_errors import check_output_directory
from keras_seq2seq.cli_fields import positive_int
from keras_seq2seq.commands.decoding import add_decode_arguments, decode_options
from keras_seq2seq.modes import QUANTIZE_MODES

EXPORT_DECODE_OPTIONS = (
    "beam_width",
    "n_best",
    "length_penalty",
    "max_length",
    "no_repeat_ngram",
    "coverage_penalty",
    "replace_unknown",
)
"""The `DecodeOptions` fields an export bakes in (the defaults of its signatures)."""


def add_parser(subparsers) -> None:
    """Adds the `export` command."""
    from keras_seq2seq.serving.export import DEFAULT_BEAM_WIDTH, DEFAULT_MAX_BEAM_WIDTH

    p = subparsers.add_parser(
        "export",
        help="export a SavedModel for TF Serving, or check the ops of one",
        description="Write OUTPUT/VERSION/ in the layout TF Serving polls: a SavedModel with the "
        "signatures 'serving_default' (greedy; inputs -> outputs, scores) and 'beam_search' "
        f"(inputs, beam_width, n_best -> outputs, scores, normalized_scores; --beam-width and "
        f"--n-best set their defaults, {DEFAULT_BEAM_WIDTH} and 1), 'forced_prefix' (the same "
        "with a 'prefix' input: each output starts with its prefix), plus a copy of the "
        "run directory's files. It is written to a temporary directory and renamed into place, "
        "after checking that stock TF Serving has every op. With --check PATH, only list the "
        "ops of any SavedModel and fail on ops stock TF Serving lacks.",
    )
    p.add_argument(
        "--model",
        action="append",
        help="run directory, exported base path (newest version) or version directory; "
        "several times for one ensemble SavedModel",
    )
    p.add_argument("--output", metavar="DIR", help="base path to write, e.g. saved_models/NAME")
    p.add_argument(
        "--version",
        type=positive_int,
        metavar="N",
        help="version to write (default: the newest + 1)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing version")
    add_decode_arguments(p, EXPORT_DECODE_OPTIONS, defaults={"beam_width": DEFAULT_BEAM_WIDTH})
    p.add_argument(
        "--max-beam-width",
        type=positive_int,
        metavar="N",
        default=DEFAULT_MAX_BEAM_WIDTH,
        help=f"largest beam_width a request may ask for (default {DEFAULT_MAX_BEAM_WIDTH})",
    )
    p.add_argument(
        "--quantize",
        choices=QUANTIZE_MODES,
        help="store the dense layers' kernels as int8 with float32 scales (smaller SavedModel; "
        "measure speed and quality with benchmarks/int8_export.py; default: float32)",
    )
    p.add_argument(
        "--lexicon",
        metavar="FILE",
        help="known answers, a 'source<TAB>target' line each: every signature answers these "
        "inputs from it instead of decoding them (default: keep the model's lexicon, if any)",
    )
    p.add_argument("--check", metavar="PATH", help="check the ops of the SavedModel at PATH")
    p.set_defaults(handler=run)


def _check(path: str) -> int:
    from keras_seq2seq.serving.op_check import check_saved_model_ops

    op_types = check_saved_model_ops(path)
    print(f"{path}: {len(op_types)} op types, all available in stock TF Serving:")
    print(" ".join(op_types))
    return 0


def run(args: argparse.Namespace) -> int:
    """Runs `export` (or, with `--check`, the op check of an existing SavedModel)."""
    from keras_seq2seq.serving.client import BEAM_SIGNATURE, SCORE_SIGNATURE, SERVING_SIGNATURE
    from keras_seq2seq.serving.export import PREFIX_SIGNATURE, export_model

    if args.check:
        if args.model or args.output or args.lexicon:
            raise ValueError(
                "--check PATH checks an existing SavedModel: leave out --model/--output/--lexicon."
            )
        return _check(args.check)
    if not args.model or not args.output:
        raise ValueError(
            "export needs --model RUN_DIR and --output BASE_PATH (e.g. saved_models/NAME), "
            "or --check PATH."
        )
    check_output_directory("--output", args.output)
    try:
        path = export_model(
            args.model[0] if len(args.model) == 1 else args.model,
            args.output,
            version=args.version,
            force=args.force,
            max_beam_width=args.max_beam_width,
            quantize=args.quantize,
            lexicon=args.lexicon,
            **decode_options(args),
        )
    except FileExistsError as error:
        raise ValueError(str(error)) from None
    signatures = [SERVING_SIGNATURE, BEAM_SIGNATURE, PREFIX_SIGNATURE, SCORE_SIGNATURE]
    print(f"Exported to {path} (signatures: {', '.join(signatures)})")
    return 0
