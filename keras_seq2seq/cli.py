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
from collections.abc import Sequence

from keras_seq2seq.config import (
    LR_SCHEDULES,
    MONITORS,
    SENTENCEPIECE_TYPES,
    TOKENIZER_TYPES,
    WORDPIECE_LEARNERS,
)
from keras_seq2seq.data.datasets import BUILTIN_DATASETS
from keras_seq2seq.errors import CountedWarning, RunDirectoryBusyError
from keras_seq2seq.quiet import silence_tensorflow

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


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


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


DECODE_FLAGS = {
    "beam_width": ("--beam-width", _positive_int, "beam width (1 = greedy search, the default)"),
    "n_best": ("--n-best", _positive_int, "hypotheses per input (default 1)"),
    "length_penalty": ("--length-penalty", _non_negative_float, "GNMT alpha (default 0)"),
    "max_length": ("--max-length", _positive_int, "maximum output tokens"),
    "max_length_ratio": (
        "--max-length-ratio",
        _positive_float,
        "also cap each output at ceil(RATIO x source tokens) + 1 tokens",
    ),
    "temperature": ("--temperature", _positive_float, "sample at this temperature (beam 1)"),
    "top_k": ("--top-k", _non_negative_int, "sample among the k likeliest tokens"),
    "seed": ("--seed", _non_negative_int, "sampling seed"),
    "no_repeat_ngram": (
        "--no-repeat-ngram",
        _non_negative_int,
        "never repeat an n-gram of this length in one output (0 = off)",
    ),
    "coverage_penalty": (
        "--coverage-penalty",
        _non_negative_float,
        "beam search: GNMT coverage penalty weight (0 = off)",
    ),
    "min_score": (
        "--min-score",
        _finite_float,
        "refuse (leave empty, with a counted warning) outputs whose length-normalized "
        "log-probability is below this; `evaluate` suggests values",
    ),
    "replace_unknown": (
        "--replace-unknown",
        bool,
        "write each generated [UNK] as the source token the model attended to most",
    ),
}
"""Command-line flags of the `DecodeOptions` fields: (flag, parser, help)."""


def _add_decode_arguments(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    """Adds the flags of some `DecodeOptions` fields (not given: the option's default)."""
    group = parser.add_argument_group("decoding")
    for name in names:
        flag, parse, text = DECODE_FLAGS[name]
        if parse is bool:
            group.add_argument(flag, dest=f"decode_{name}", action="store_const", const=True,
                               help=text)  # fmt: skip
        else:
            group.add_argument(flag, dest=f"decode_{name}", type=parse, help=text)


def _decode_options(args: argparse.Namespace, **defaults) -> dict:
    """The decoding options given on the command line, over `defaults`."""
    given = {
        name: getattr(args, f"decode_{name}")
        for name in DECODE_FLAGS
        if getattr(args, f"decode_{name}", None) is not None
    }
    return {**defaults, **given}


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("model (defaults: the dataset's recipe, see README)")
    group.add_argument(
        "--architecture",
        help="registered architecture: rnn (default; LSTM/GRU + attention) or transformer",
    )
    group.add_argument("--units", type=_positive_int, help="model width (recurrent units)")
    group.add_argument("--layers", type=_positive_int, help="layers in encoder and decoder")
    group.add_argument("--dropout", type=_non_negative_float, help="dropout rate (default 0)")
    group.add_argument("--embedding-dim", type=_positive_int, help="rnn: embedding width")
    group.add_argument("--cell", choices=("lstm", "gru"), help="rnn: recurrent cell (lstm)")
    group.add_argument(
        "--bidirectional", action="store_true", default=None, help="rnn: bidirectional encoder"
    )
    group.add_argument(
        "--attention", choices=("dot", "additive", "none"), help="rnn: attention type (dot)"
    )
    group.add_argument(
        "--input-feeding",
        action="store_true",
        default=None,
        help="rnn: Luong input feeding (each decoder step reads the previous attentional vector)",
    )
    group.add_argument("--heads", type=_positive_int, help="transformer: attention heads (4)")
    group.add_argument(
        "--ffn-dim", type=_positive_int, help="transformer: feed-forward width (4 x units)"
    )
    group.add_argument(
        "--tie-embeddings",
        action="store_true",
        default=None,
        help="one embedding matrix for source, target and output projection (rnn and "
        "transformer; needs --shared-vocabulary)",
    )
    group.add_argument(
        "--copy-attention",
        action="store_true",
        default=None,
        help="copy attention (pointer-generator): outputs can copy source tokens, also ones "
        "outside the target vocabulary (rnn with attention, transformer)",
    )
    group.add_argument(
        "--coverage-loss",
        type=_non_negative_float,
        metavar="WEIGHT",
        help="with --copy-attention: weight of the coverage loss (default 0 = off)",
    )


def _add_text_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("text")
    group.add_argument(
        "--tokenizer", choices=TOKENIZER_TYPES, help="tokenizer for both sides (default: recipe)"
    )
    group.add_argument("--source-tokenizer", choices=TOKENIZER_TYPES, help="source tokenizer")
    group.add_argument("--target-tokenizer", choices=TOKENIZER_TYPES, help="target tokenizer")
    group.add_argument(
        "--vocab-size",
        type=_positive_int,
        help="max vocabulary size of each side, reserved tokens included (default 32000)",
    )
    group.add_argument(
        "--lowercase", action="store_true", default=None, help="lower-case both sides"
    )
    group.add_argument(
        "--sentencepiece-type",
        choices=SENTENCEPIECE_TYPES,
        help="sentencepiece tokenizer: unigram (default) or bpe model",
    )
    group.add_argument(
        "--wordpiece-learner",
        choices=WORDPIECE_LEARNERS,
        help="wordpiece tokenizer: sentencepiece (default; seconds) or bert (tensorflow-text's "
        "pure-Python learner; minutes on large files)",
    )
    group.add_argument(
        "--shared-vocabulary",
        action="store_true",
        default=None,
        help="one vocabulary learned from both sides (for --tie-embeddings)",
    )
    group.add_argument("--max-source-length", type=_positive_int, help="truncate sources")
    group.add_argument("--max-target-length", type=_positive_int, help="truncate targets")


def _add_optimization_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("training")
    group.add_argument("--epochs", type=_positive_int, help="passes over the training data")
    group.add_argument("--batch-size", type=_positive_int, help="examples per batch")
    group.add_argument("--learning-rate", type=_positive_float, help="Adam (peak) learning rate")
    group.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        help="constant (default), inverse_sqrt (Transformer), exponential or plateau",
    )
    group.add_argument("--warmup-steps", type=_non_negative_int, help="linear warmup steps")
    group.add_argument(
        "--decay-rate", type=_positive_float, help="exponential/plateau factor (0.5)"
    )
    group.add_argument("--decay-steps", type=_positive_int, help="exponential: steps per factor")
    group.add_argument(
        "--plateau-patience", type=_positive_int, help="plateau: epochs without improvement (2)"
    )
    group.add_argument(
        "--monitor",
        choices=MONITORS,
        help="what picks the best epoch and stops early: val_loss (default) or a decoded "
        "validation metric (val_exact_match, val_sequence_error_rate = G2P WER, ...)",
    )
    group.add_argument(
        "--keep-checkpoints",
        type=_non_negative_int,
        metavar="N",
        help="keep the weights of the last N epochs (for keras-seq2seq average)",
    )
    group.add_argument(
        "--time-budget",
        type=_positive_float,
        metavar="MINUTES",
        help="stop after the last epoch that fits in this many minutes of training",
    )
    group.add_argument("--label-smoothing", type=_non_negative_float, help="default 0")
    group.add_argument(
        "--patience", type=_non_negative_int, help="early-stopping patience in epochs (0 = off)"
    )
    group.add_argument("--seed", type=_non_negative_int, default=0, help="seed (default 0)")
    group.add_argument(
        "--mixed-precision",
        nargs="?",
        const=True,
        default=False,
        choices=("float16", "bfloat16"),
        help="mixed precision: float16 (the default when given alone; loss scaling; for GPUs "
        "with tensor cores, slower on CPU) or bfloat16 (for CPUs with AMX / AVX512-BF16)",
    )
    group.add_argument(
        "--jit-compile",
        action="store_true",
        help="compile the train step with XLA (one compilation per batch shape)",
    )


def _add_runtime_arguments(p: argparse.ArgumentParser) -> None:
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
        "--strategy",
        choices=("default", "mirrored", "multi-worker"),
        default="default",
        help="tf.distribute strategy: one device (default), every GPU of this machine "
        "(mirrored), or every worker of the TF_CONFIG cluster (multi-worker: run the same "
        "command on each host). --batch-size is the global batch",
    )


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
    p.add_argument("--max-examples", type=_positive_int, help="use at most this many pairs")
    p.add_argument(
        "--skip-bad-lines", action="store_true", help="skip malformed file lines (counted)"
    )
    _add_model_arguments(p)
    _add_text_arguments(p)
    _add_optimization_arguments(p)
    _add_runtime_arguments(p)
    p.set_defaults(handler=_run_train)


def _add_translate(subparsers) -> None:
    p = subparsers.add_parser(
        "translate",
        help="translate texts with a trained model",
        description="Translate each TEXT, or each line of --input FILE (standard input when "
        "neither is given). Writes exactly one output line per input, in input order (or N "
        "lines 'rank<TAB>score<TAB>text' per input with --n-best N > 1), to --output FILE or "
        "standard output. Files of any size stream in bounded memory; a progress line with "
        "sentences/s and the time left shows on a terminal.",
    )
    p.add_argument(
        "--model",
        required=True,
        action="append",
        help="run directory, exported base path (saved_models/NAME: newest version) or a "
        "version directory; give it several times to decode an ensemble",
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to translate")
    p.add_argument("--input", help="file of inputs, one per line ('-': standard input)")
    p.add_argument("--output", help="file to write the outputs to (default: standard output)")
    _add_decode_arguments(p, list(DECODE_FLAGS))
    p.add_argument("--batch-size", type=_positive_int, default=256, help="inputs per batch")
    p.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=4096,
        help="inputs read, sorted by length and translated at a time (default 4096)",
    )
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
        action="append",
        help="run directory, exported base path (saved_models/NAME: newest version) or a "
        "version directory; give it several times to decode an ensemble",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="file of source<TAB>target lines (.tsv, .tsv.gz, .jsonl)")
    source.add_argument(
        "--dataset", help=f"builtin dataset ({', '.join(BUILTIN_DATASETS)}) or a file path"
    )
    p.add_argument("--split", default="test", help="split of a builtin dataset (default test)")
    p.add_argument(
        "--data-seed", type=_non_negative_int, default=0, help="builtin-dataset seed (default 0)"
    )
    p.add_argument("--max-examples", type=_positive_int, help="use at most this many pairs")
    _add_decode_arguments(p, [n for n in DECODE_FLAGS if n != "n_best"])
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
    _add_decode_arguments(p, ["beam_width", "length_penalty", "max_length", "max_length_ratio"])
    p.add_argument("text", metavar="TEXT", help="the text to translate")
    p.set_defaults(handler=_run_plot_attention)


def _add_export(subparsers) -> None:
    from keras_seq2seq.export import DEFAULT_BEAM_WIDTH, DEFAULT_MAX_BEAM_WIDTH

    p = subparsers.add_parser(
        "export",
        help="export a SavedModel for TF Serving, or check the ops of one",
        description="Write OUTPUT/VERSION/ in the layout TF Serving polls: a SavedModel with the "
        "signatures 'serving_default' (greedy; inputs -> outputs, scores) and 'beam_search' "
        f"(inputs, beam_width, n_best -> outputs, scores, normalized_scores; --beam-width and "
        f"--n-best set their defaults, {DEFAULT_BEAM_WIDTH} and 1), plus a copy of the "
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
    p.add_argument("--output", help="base path to write, e.g. saved_models/NAME")
    p.add_argument("--version", type=_positive_int, help="version to write (default: newest + 1)")
    p.add_argument("--force", action="store_true", help="replace an existing version")
    _add_decode_arguments(
        p,
        [
            "beam_width",
            "n_best",
            "length_penalty",
            "max_length",
            "no_repeat_ngram",
            "coverage_penalty",
            "replace_unknown",
        ],
    )
    p.add_argument(
        "--max-beam-width",
        type=_positive_int,
        default=DEFAULT_MAX_BEAM_WIDTH,
        help=f"largest beam_width a request may ask for (default {DEFAULT_MAX_BEAM_WIDTH})",
    )
    p.add_argument("--check", metavar="PATH", help="check the ops of the SavedModel at PATH")
    p.set_defaults(handler=_run_export)


def _add_score(subparsers) -> None:
    p = subparsers.add_parser(
        "score",
        help="print the model's log-probability of each source<TAB>target pair",
        description="Score pairs (for reranking and data filtering): one line per pair, "
        "'score<TAB>normalized<TAB>tokens', in input order. score is the log-probability of "
        "the target's tokens and [END] given the source; normalized divides it by the tokens.",
    )
    p.add_argument("--model", required=True, action="append", help="model (several: ensemble)")
    p.add_argument("--data", required=True, help="file of source<TAB>target lines")
    p.add_argument("--batch-size", type=_positive_int, default=256, help="pairs per batch")
    p.add_argument("--skip-bad-lines", action="store_true", help="skip malformed lines")
    p.set_defaults(handler=_run_score)


def _run_score(args: argparse.Namespace) -> int:
    from keras_seq2seq.data.readers import read_pairs
    from keras_seq2seq.inference import load
    from keras_seq2seq.scoring import score_pairs

    pairs = read_pairs(args.data, skip_bad_lines=args.skip_bad_lines)
    for result in score_pairs(load(args.model), pairs, batch_size=args.batch_size):
        print(f"{result.score:.4f}\t{result.normalized_score:.4f}\t{result.tokens}")
    return 0


def _add_average(subparsers) -> None:
    p = subparsers.add_parser(
        "average",
        help="average a run's last kept checkpoints into a new run directory",
        description="Write a run directory whose weights are the mean of the last kept "
        "epochs of --model (trained with --keep-checkpoints N); translate, evaluate and "
        "export take it like any run directory.",
    )
    p.add_argument("--model", required=True, help="run directory with kept checkpoints")
    p.add_argument("--last", type=_positive_int, help="average the last N (default: all kept)")
    p.add_argument("--output", required=True, help="the new run directory")
    p.set_defaults(handler=_run_average)


def _run_average(args: argparse.Namespace) -> int:
    from keras_seq2seq.averaging import average_checkpoints

    try:
        path = average_checkpoints(args.model, args.output, last=args.last)
    except FileExistsError as error:
        raise ValueError(str(error)) from None
    print(f"Averaged checkpoints written to {path}")
    return 0


def _add_info(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="print a model's card: architecture, sizes, data, training, last evaluation",
        description="Print what a trained model is (architecture, sizes, parameters, "
        "vocabularies and tokenizers), what it was trained on (pairs, dataset or file and "
        "its SHA-256), how long training took, and its last evaluation.",
    )
    p.add_argument("model", metavar="MODEL", help="run directory or exported model")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(handler=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    import json

    from keras_seq2seq.model_card import format_model_card, model_card

    card = model_card(args.model)
    print(json.dumps(card, indent=1, ensure_ascii=False) if args.json else format_model_card(card))
    return 0


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
    _add_info(subparsers)
    _add_score(subparsers)
    _add_average(subparsers)
    for subparser in subparsers.choices.values():
        subparser.add_argument(
            "--verbose",
            action="store_true",
            help="show TensorFlow's own log lines on stderr (dropped by default)",
        )
    return parser


def _train_overrides(args: argparse.Namespace) -> dict[str, dict]:
    """The settings given on the command line (None: not given), by section."""
    return {
        "model": {
            "architecture": args.architecture,
            "units": args.units,
            "num_layers": args.layers,
            "dropout": args.dropout,
            "embedding_dim": args.embedding_dim,
            "cell": args.cell,
            "bidirectional": args.bidirectional,
            "attention": args.attention,
            "input_feeding": args.input_feeding,
            "heads": args.heads,
            "ffn_dim": args.ffn_dim,
            "tie_embeddings": args.tie_embeddings,
            "copy_attention": args.copy_attention,
            "coverage_loss": args.coverage_loss,
        },
        **{
            f"{side}_text": {
                "tokenizer": getattr(args, f"{side}_tokenizer") or args.tokenizer,
                "lowercase": args.lowercase,
                "max_length": getattr(args, f"max_{side}_length"),
                "max_vocabulary_size": args.vocab_size,
                "sentencepiece_type": args.sentencepiece_type,
                "shared_vocabulary": args.shared_vocabulary,
                "wordpiece_learner": args.wordpiece_learner,
            }
            for side in ("source", "target")
        },
        "train": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "label_smoothing": args.label_smoothing,
            "patience": args.patience,
            "seed": args.seed,
            "mixed_precision": args.mixed_precision,
            "jit_compile": args.jit_compile,
            "lr_schedule": args.lr_schedule,
            "warmup_steps": args.warmup_steps,
            "decay_rate": args.decay_rate,
            "decay_steps": args.decay_steps,
            "plateau_patience": args.plateau_patience,
            "time_budget_minutes": args.time_budget,
            "keep_checkpoints": args.keep_checkpoints,
            "monitor": args.monitor,
        },
    }


def _configure_threads(intra_op_threads: int) -> None:
    from keras_seq2seq.cpu import configure_for_cpu_training, use_pooling_allocator

    use_pooling_allocator()
    if not intra_op_threads:
        return
    try:
        configure_for_cpu_training(intra_op=intra_op_threads)
    except RuntimeError:
        # Only when `main` is called inside a program that already ran TensorFlow.
        warnings.warn(
            "TensorFlow already runs in this process, so its thread pools stay as they "
            "are and --intra-op-threads has no effect; call "
            "keras_seq2seq.cpu.configure_cpu_threads() at the start of the program.",
            stacklevel=2,
        )


def _run_train(args: argparse.Namespace) -> int:
    from keras_seq2seq.distribute import get_strategy
    from keras_seq2seq.progress import Progress
    from keras_seq2seq.recipes import is_builtin, load_pairs, resolve_settings
    from keras_seq2seq.training import default_verbosity, train

    # First: thread pools and a multi-worker strategy must be set before TensorFlow runs.
    _configure_threads(args.intra_op_threads)
    strategy = get_strategy(args.strategy)
    settings = resolve_settings(args.dataset, _train_overrides(args))
    with Progress().stage(f"Reading {args.dataset}"):
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
    result = train(
        pairs,
        args.output,
        validation_pairs=validation,
        model_options=settings.model_options,
        source_text=settings.source_text,
        target_text=settings.target_text,
        train_config=settings.train,
        verbose=default_verbosity(),
        strategy=strategy,
        data_source=args.dataset,
    )
    print(
        f"Trained on {result.num_train_examples} pairs ({result.num_validation_examples} for "
        f"validation); model written to {result.run_dir}"
    )
    return 0


def _run_translate(args: argparse.Namespace) -> int:
    from keras_seq2seq.decode_options import DecodeOptions
    from keras_seq2seq.streaming import format_result, translate_file

    options = DecodeOptions(**_decode_options(args))
    if args.texts and args.input:
        raise ValueError("Give the texts as arguments or as --input FILE, not both.")
    if args.model[0].startswith(("http://", "https://")):  # served by TF Serving (REST)
        from keras_seq2seq.serving import RestTranslator

        if len(args.model) > 1:
            raise ValueError("An ensemble is decoded in process: give model directories.")
        translator = RestTranslator(args.model[0])
    else:
        from keras_seq2seq.inference import load

        translator = load(args.model)
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


def _run_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keras_seq2seq.decode_options import DecodeOptions
    from keras_seq2seq.evaluation import evaluate, format_report, write_hypotheses, write_report
    from keras_seq2seq.recipes import load_pairs

    if args.data is not None and not Path(args.data).is_file():
        raise FileNotFoundError(
            f"--data {args.data}: no such file. Pass a file of source<TAB>target lines, or a "
            f"builtin dataset with --dataset ({', '.join(BUILTIN_DATASETS)})."
        )
    pairs = load_pairs(
        args.data or args.dataset, args.split, max_examples=args.max_examples, seed=args.data_seed
    )
    from keras_seq2seq.inference import load

    report = evaluate(
        args.model[0] if len(args.model) == 1 else load(args.model),
        pairs,
        DecodeOptions(**_decode_options(args)),
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

    plot_attention(args.model, args.text, _decode_options(args), output=args.output)
    print(f"Attention plot written to {args.output}", file=sys.stderr)
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from keras_seq2seq.export import export_model
    from keras_seq2seq.op_check import check_saved_model_ops
    from keras_seq2seq.serving import BEAM_SIGNATURE, SCORE_SIGNATURE, SERVING_SIGNATURE

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
            args.model[0] if len(args.model) == 1 else args.model,
            args.output,
            version=args.version,
            force=args.force,
            max_beam_width=args.max_beam_width,
            **_decode_options(args),
        )
    except FileExistsError as error:
        raise ValueError(str(error)) from None
    print(
        f"Exported to {path} (signatures: {SERVING_SIGNATURE}, {BEAM_SIGNATURE}, {SCORE_SIGNATURE})"
    )
    return 0


def main(argv: Sequence[str] | None = None, *, quiet: bool = False) -> int:
    """Runs the command line; returns the exit status.

    Bad input (a missing model, a malformed data file, an out-of-range option) prints one
    `error:` line and exits with status 2 instead of a traceback.

    Args:
        argv: the arguments (default: `sys.argv[1:]`).
        quiet: bool. Drop TensorFlow's log lines from stderr unless `--verbose` is given
            (see `keras_seq2seq.quiet`); the `keras-seq2seq` command does. Defaults to `False`.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if quiet and not args.verbose:
        silence_tensorflow()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            return args.handler(args)
    except (ValueError, TypeError, FileNotFoundError, RunDirectoryBusyError) as error:
        print(f"keras-seq2seq {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        if str(interrupt):  # e.g. how to resume an interrupted training
            print(f"keras-seq2seq {args.command}: {interrupt}", file=sys.stderr)
        return 130


def _one_line_warning(command: str):
    """`warnings.showwarning` for the command line: our warnings as one line each."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CountedWarning) or filename.startswith(_PACKAGE_DIR):
            print(f"keras-seq2seq {command}: warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def run() -> None:
    """The `keras-seq2seq` command: `main` with TensorFlow's log lines dropped."""
    sys.exit(main(quiet=True))


if __name__ == "__main__":
    run()
