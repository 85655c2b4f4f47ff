"""The `keras-seq2seq` command line: argument parsing only; every subcommand calls the library.

keras-seq2seq train --dataset dates --output runs/dates
keras-seq2seq translate --model saved_models/dates "March 3, 2021"
echo "3 mars 2021" | keras-seq2seq translate --model saved_models/dates --beam-width 4
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Iterator, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_seq2seq.config import TOKENIZER_TYPES
from keras_seq2seq.data.datasets import BUILTIN_DATASETS


def _int_at_least(minimum: int, description: str):
    """An argparse type: an integer >= `minimum`, else an error naming `description`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {description}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _add_train(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model into a run directory",
        description="Train an encoder-decoder with model.fit. Settings not given on the command "
        "line come from the dataset's recipe (see README) or the library defaults.",
    )
    p.add_argument(
        "--dataset",
        required=True,
        help=f"builtin dataset ({', '.join(BUILTIN_DATASETS)}) or a path to a .tsv/.tsv.gz/"
        ".jsonl file of source<TAB>target lines",
    )
    p.add_argument("--output", required=True, help="run directory to write (created if needed)")
    p.add_argument("--validation-data", help="TSV file of validation pairs (default: held out)")
    p.add_argument("--epochs", type=_positive_int, help="passes over the training data")
    p.add_argument("--batch-size", type=_positive_int, help="examples per batch")
    p.add_argument("--units", type=_positive_int, help="width of the recurrent layers")
    p.add_argument("--embedding-dim", type=_positive_int, help="width of the embeddings")
    p.add_argument("--layers", type=_positive_int, help="recurrent layers in encoder and decoder")
    p.add_argument("--cell", choices=("lstm", "gru"), help="recurrent cell (default lstm)")
    p.add_argument("--bidirectional", action="store_true", help="bidirectional encoder")
    p.add_argument("--attention", choices=("dot", "additive", "none"), help="attention type")
    p.add_argument("--dropout", type=_non_negative_float, help="dropout rate (default 0)")
    p.add_argument(
        "--tokenizer", choices=TOKENIZER_TYPES, help="tokenizer for both sides (default: recipe)"
    )
    p.add_argument("--source-tokenizer", choices=TOKENIZER_TYPES, help="source tokenizer")
    p.add_argument("--target-tokenizer", choices=TOKENIZER_TYPES, help="target tokenizer")
    p.add_argument(
        "--vocab-size",
        type=_positive_int,
        help="max vocabulary size of each side, reserved tokens included (default 32000)",
    )
    p.add_argument("--lowercase", action="store_true", help="lower-case both sides")
    p.add_argument("--max-source-length", type=_positive_int, help="truncate sources (tokens)")
    p.add_argument("--max-target-length", type=_positive_int, help="truncate targets (tokens)")
    p.add_argument("--max-examples", type=_positive_int, help="use at most this many pairs")
    p.add_argument("--learning-rate", type=float, help="Adam learning rate (default 1e-3)")
    p.add_argument("--label-smoothing", type=_non_negative_float, help="default 0")
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs (0 = off)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument(
        "--skip-bad-lines", action="store_true", help="skip malformed file lines (counted)"
    )
    p.add_argument(
        "--mixed-precision",
        nargs="?",
        const=True,
        default=False,
        choices=("float16", "bfloat16"),
        help="mixed precision: float16 (the default when given alone; loss scaling; for GPUs "
        "with tensor cores, slower on CPU) or bfloat16 (for CPUs with AMX / AVX512-BF16)",
    )
    p.add_argument(
        "--intra-op-threads",
        type=_non_negative_int,
        default=1,
        metavar="N",
        help="threads per TensorFlow op on a machine without GPU (default 1, with one op per "
        "core running side by side: fastest for recurrent models on CPU; 0 = TensorFlow's "
        "default)",
    )
    p.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile the train step with XLA (one compilation per batch shape)",
    )
    p.add_argument(
        "--strategy",
        choices=("default", "mirrored", "multi-worker"),
        default="default",
        help="tf.distribute strategy: one device (default), every GPU of this machine "
        "(mirrored), or every worker of the TF_CONFIG cluster (multi-worker: run the same "
        "command on each host). --batch-size is the global batch",
    )
    p.set_defaults(handler=_run_train)


def _add_translate(subparsers) -> None:
    p = subparsers.add_parser(
        "translate",
        help="translate texts with a trained model",
        description="Translate each TEXT, or each line of standard input when no TEXT is given. "
        "Prints exactly one output line per input (or N lines 'rank<TAB>score<TAB>text' per "
        "input with --n-best N > 1).",
    )
    p.add_argument(
        "--model",
        required=True,
        help="run directory, exported base path (saved_models/NAME: newest version) or a "
        "version directory",
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to translate")
    p.add_argument("--beam-width", type=_positive_int, default=1, help="1 = greedy (default)")
    p.add_argument("--n-best", type=_positive_int, default=1, help="hypotheses per input")
    p.add_argument(
        "--length-penalty", type=_non_negative_float, default=0.0, help="GNMT alpha (default 0)"
    )
    p.add_argument("--max-length", type=_positive_int, help="maximum output tokens")
    p.add_argument(
        "--max-length-ratio",
        type=float,
        help="also cap each output at ceil(RATIO x source tokens) + 1 tokens",
    )
    p.add_argument(
        "--temperature", type=float, help="sample outputs at this temperature (beam width 1)"
    )
    p.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest tokens")
    p.add_argument("--seed", type=int, help="sampling seed")
    p.add_argument("--batch-size", type=_positive_int, default=256, help="inputs per batch")
    p.set_defaults(handler=_run_translate)


def _add_evaluate(subparsers) -> None:
    from keras_seq2seq.metrics import METRIC_NAMES

    p = subparsers.add_parser(
        "evaluate",
        help="decode a dataset and score the outputs",
        description="Decode the sources of a dataset, score the outputs against the targets "
        "(several targets for one source are several references) and print a table. Without "
        "--metrics: exact match, token error rate (CER for char targets, WER/PER for word "
        "targets) and chrF, plus BLEU for word targets. The G2P 'WER' (whole words wrong) is "
        "the sequence error rate.",
    )
    p.add_argument(
        "--model",
        required=True,
        help="run directory, exported base path (saved_models/NAME: newest version) or a "
        "version directory",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="file of source<TAB>target lines (.tsv, .tsv.gz, .jsonl)")
    source.add_argument(
        "--dataset", help=f"builtin dataset ({', '.join(BUILTIN_DATASETS)}) or a file path"
    )
    p.add_argument("--split", default="test", help="split of a builtin dataset (default test)")
    p.add_argument("--seed", type=int, default=0, help="builtin-dataset seed (default 0)")
    p.add_argument("--max-examples", type=_positive_int, help="use at most this many pairs")
    p.add_argument("--beam-width", type=_positive_int, default=1, help="1 = greedy (default)")
    p.add_argument(
        "--length-penalty", type=_non_negative_float, default=0.0, help="GNMT alpha (default 0)"
    )
    p.add_argument("--batch-size", type=_positive_int, default=256, help="inputs per batch")
    p.add_argument(
        "--metrics",
        nargs="+",
        choices=METRIC_NAMES,
        help="metrics to compute (default: by target tokenizer)",
    )
    p.add_argument("--output", help="write the report as JSON to this file")
    p.add_argument(
        "--hypotheses",
        help="write source<TAB>reference<TAB>hypothesis lines to this file (default with "
        "--output: REPORT.hypotheses.tsv next to it)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(handler=_run_evaluate)


def _add_plot_attention(subparsers) -> None:
    p = subparsers.add_parser(
        "plot-attention",
        help="draw the attention weights of one translation",
        description="Translate TEXT and save a heat map of the attention weights: source "
        "tokens across, output tokens down ([END] included).",
    )
    p.add_argument("--model", required=True, help="model directory (as for translate)")
    p.add_argument("--output", required=True, help="image file (.png, .svg, .pdf)")
    p.add_argument("--beam-width", type=_positive_int, default=1, help="1 = greedy (default)")
    p.add_argument("text", metavar="TEXT", help="the text to translate")
    p.set_defaults(handler=_run_plot_attention)


def _add_export(subparsers) -> None:
    from keras_seq2seq.export import (
        DEFAULT_BEAM_WIDTH,
        DEFAULT_MAX_BEAM_WIDTH,
        DEFAULT_N_BEST,
    )

    p = subparsers.add_parser(
        "export",
        help="export a SavedModel for TF Serving, or check the ops of one",
        description="Write OUTPUT/VERSION/ in the layout TF Serving polls: a SavedModel with the "
        "signatures 'serving_default' (greedy; inputs -> outputs, scores) and 'beam_search' "
        "(inputs, beam_width, n_best -> outputs, scores, normalized_scores), plus a copy of the "
        "run directory's files. It is written to a temporary directory and renamed into place, "
        "after checking that stock TF Serving has every op. With --check PATH, only list the "
        "ops of any SavedModel and fail on ops stock TF Serving lacks.",
    )
    p.add_argument(
        "--model", help="run directory, exported base path (newest version) or version directory"
    )
    p.add_argument("--output", help="base path to write, e.g. saved_models/NAME")
    p.add_argument("--version", type=_positive_int, help="version to write (default: newest + 1)")
    p.add_argument("--force", action="store_true", help="replace an existing version")
    p.add_argument(
        "--beam-width",
        type=_positive_int,
        default=DEFAULT_BEAM_WIDTH,
        help=f"default beam_width of the beam_search signature (default {DEFAULT_BEAM_WIDTH})",
    )
    p.add_argument(
        "--n-best",
        type=_positive_int,
        default=DEFAULT_N_BEST,
        help=f"default n_best of the beam_search signature (default {DEFAULT_N_BEST})",
    )
    p.add_argument(
        "--max-beam-width",
        type=_positive_int,
        default=DEFAULT_MAX_BEAM_WIDTH,
        help=f"largest beam_width a request may ask for (default {DEFAULT_MAX_BEAM_WIDTH})",
    )
    p.add_argument(
        "--length-penalty", type=_non_negative_float, default=0.0, help="GNMT alpha (default 0)"
    )
    p.add_argument("--max-length", type=_positive_int, help="maximum output tokens")
    p.add_argument("--check", metavar="PATH", help="check the ops of the SavedModel at PATH")
    p.set_defaults(handler=_run_export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-seq2seq",
        description="Sequence-to-sequence learning on Keras 3 / TensorFlow.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(subparsers)
    _add_translate(subparsers)
    _add_evaluate(subparsers)
    _add_plot_attention(subparsers)
    _add_export(subparsers)
    return parser


def _run_train(args: argparse.Namespace) -> int:
    from keras_seq2seq.config import TextConfig, TrainConfig
    from keras_seq2seq.cpu import configure_for_cpu_training
    from keras_seq2seq.distribute import get_strategy
    from keras_seq2seq.recipes import is_builtin, load_pairs, recipe_for
    from keras_seq2seq.training import default_verbosity, train

    # First: thread pools and a multi-worker strategy must be set before TensorFlow runs.
    if args.intra_op_threads:
        try:
            configure_for_cpu_training(intra_op=args.intra_op_threads)
        except RuntimeError:
            # Only when `main` is called inside a program that already ran TensorFlow.
            warnings.warn(
                "TensorFlow already runs in this process, so its thread pools stay as they "
                "are and --intra-op-threads has no effect; call "
                "keras_seq2seq.cpu.configure_cpu_threads() at the start of the program.",
                stacklevel=2,
            )
    strategy = get_strategy(args.strategy)
    recipe = recipe_for(args.dataset)
    pairs = load_pairs(
        args.dataset,
        "train",
        max_examples=args.max_examples,
        seed=args.seed,
        skip_bad_lines=args.skip_bad_lines,
    )
    validation = None
    if args.validation_data:
        validation = load_pairs(args.validation_data, skip_bad_lines=args.skip_bad_lines)
    elif is_builtin(args.dataset):
        validation = load_pairs(args.dataset, "validation", seed=args.seed)

    def pick(value, default):
        return default if value is None else value

    texts = {}
    for side in ("source", "target"):
        texts[side] = TextConfig(
            tokenizer=pick(
                getattr(args, f"{side}_tokenizer"),
                pick(args.tokenizer, recipe[f"{side}_tokenizer"]),
            ),
            lowercase=args.lowercase,
            max_length=pick(getattr(args, f"max_{side}_length"), recipe[f"max_{side}_length"]),
            **({} if args.vocab_size is None else {"max_vocabulary_size": args.vocab_size}),
        )
    model_options = dict(recipe["model"])
    for option, value in (
        ("units", args.units),
        ("embedding_dim", args.embedding_dim),
        ("num_layers", args.layers),
        ("cell", args.cell),
        ("attention", args.attention),
        ("dropout", args.dropout),
    ):
        if value is not None:
            model_options[option] = value
    if args.bidirectional:
        model_options["bidirectional"] = True
    train_options = {
        "learning_rate": recipe.get("learning_rate", 1e-3),
        "epochs": pick(args.epochs, recipe["epochs"]),
        "batch_size": pick(args.batch_size, recipe["batch_size"]),
        "seed": args.seed,
        "mixed_precision": args.mixed_precision,
        "jit_compile": args.jit_compile,
    }
    for option, value in (
        ("learning_rate", args.learning_rate),
        ("label_smoothing", args.label_smoothing),
        ("patience", args.patience),
    ):
        if value is not None:
            train_options[option] = value
    result = train(
        pairs,
        args.output,
        validation_pairs=validation,
        model_options=model_options,
        source_text=texts["source"],
        target_text=texts["target"],
        train_config=TrainConfig(**train_options),
        verbose=default_verbosity(),
        strategy=strategy,
    )
    print(
        f"Trained on {result.num_train_examples} pairs ({result.num_validation_examples} for "
        f"validation); model written to {result.run_dir}"
    )
    return 0


def _stdin_lines() -> Iterator[str]:
    for raw in sys.stdin.buffer:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run_translate(args: argparse.Namespace) -> int:
    from keras_seq2seq.inference import load

    if args.model.startswith(("http://", "https://")):  # a model served by TF Serving (REST)
        from keras_seq2seq.serving import RestTranslator

        translator = RestTranslator(args.model)
    else:
        translator = load(args.model)
    inputs = iter(args.texts) if args.texts else _stdin_lines()
    options = {
        "beam_width": args.beam_width,
        "n_best": args.n_best,
        "length_penalty": args.length_penalty,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
    }
    # Sampling and the relative length cap run in process only (a served model has fixed
    # signatures), so they are passed only when asked for.
    for option in ("max_length_ratio", "temperature", "seed"):
        if getattr(args, option) is not None:
            options[option] = getattr(args, option)
    if args.top_k:
        options["top_k"] = args.top_k
    for chunk in _chunks(inputs, args.batch_size):
        for result in translator.translate(chunk, **options):
            if args.n_best == 1:
                print(result)
            else:
                for rank, hyp in enumerate(result, start=1):
                    print(f"{rank}\t{hyp.normalized_score:.4f}\t{hyp.text}")
        sys.stdout.flush()
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keras_seq2seq.evaluation import evaluate, format_report, write_hypotheses, write_report
    from keras_seq2seq.recipes import load_pairs

    if args.data is not None and not Path(args.data).is_file():
        raise FileNotFoundError(
            f"--data {args.data}: no such file. Pass a file of source<TAB>target lines, or a "
            f"builtin dataset with --dataset ({', '.join(BUILTIN_DATASETS)})."
        )
    pairs = load_pairs(
        args.data or args.dataset, args.split, max_examples=args.max_examples, seed=args.seed
    )
    report = evaluate(
        args.model,
        pairs,
        beam_width=args.beam_width,
        length_penalty=args.length_penalty,
        batch_size=args.batch_size,
        metrics=args.metrics,
        progress=not args.quiet,
    )
    print(format_report(report))
    hypotheses = args.hypotheses
    if args.output:
        path = write_report(report, args.output)
        print(f"Report written to {path}", file=sys.stderr)
        hypotheses = hypotheses or path.with_name(f"{path.stem}.hypotheses.tsv")
    if hypotheses:
        path = write_hypotheses(report, hypotheses)
        print(f"Hypotheses written to {path}", file=sys.stderr)
    return 0


def _run_plot_attention(args: argparse.Namespace) -> int:
    from keras_seq2seq.plotting import plot_attention

    plot_attention(args.model, args.text, output=args.output, beam_width=args.beam_width)
    print(f"Attention plot written to {args.output}", file=sys.stderr)
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from keras_seq2seq.export import (
        BEAM_SIGNATURE,
        SERVING_SIGNATURE,
        check_saved_model_ops,
        export_model,
    )

    if args.check:
        if args.model or args.output:
            raise ValueError(
                "--check PATH checks an existing SavedModel: leave out --model/--output."
            )
        op_types = check_saved_model_ops(args.check)
        print(f"{args.check}: {len(op_types)} op types, all available in stock TF Serving:")
        print(" ".join(op_types))
        return 0
    if not args.model or not args.output:
        raise ValueError(
            "export needs --model RUN_DIR and --output BASE_PATH (e.g. saved_models/NAME), "
            "or --check PATH."
        )
    try:
        path = export_model(
            args.model,
            args.output,
            version=args.version,
            force=args.force,
            beam_width=args.beam_width,
            n_best=args.n_best,
            max_beam_width=args.max_beam_width,
            length_penalty=args.length_penalty,
            max_length=args.max_length,
        )
    except FileExistsError as error:
        raise ValueError(str(error)) from None
    print(f"Exported to {path} (signatures: {SERVING_SIGNATURE}, {BEAM_SIGNATURE})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    Bad input (a missing model, a malformed data file, an out-of-range option) prints one
    `error:` line and exits with status 2 instead of a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"keras-seq2seq {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
