"""The `keras-seq2seq` command line: argument parsing only; every subcommand calls the library.

keras-seq2seq train --dataset dates --output runs/dates
keras-seq2seq translate --model saved_models/dates "March 3, 2021"
echo "3 mars 2021" | keras-seq2seq translate --model saved_models/dates --beam-width 4
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import warnings
from collections.abc import Sequence

from keras_seq2seq import __version__
from keras_seq2seq.cli_errors import (
    PARAMETER_FLAGS,
    ArgumentParser,
    check_input_file,
    check_output_directory,
    check_output_file,
    command_line_message,
    os_error_message,
)
from keras_seq2seq.config import (
    LR_SCHEDULES,
    MONITORS,
    SENTENCEPIECE_TYPES,
    TOKENIZER_TYPES,
    WORDPIECE_LEARNERS,
)
from keras_seq2seq.data.datasets import BUILTIN_DATASETS
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.output_check import check_output_pattern
from keras_seq2seq.errors import CountedWarning, RunDirectoryBusyError
from keras_seq2seq.quiet import show_tensorflow_logs, silence_tensorflow

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


def _fraction(text: str) -> float:
    value = _non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _output_pattern(text: str) -> str:
    try:
        return check_output_pattern(text, "--output-pattern")
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


DECODE_FLAGS = {
    "beam_width": ("--beam-width", _positive_int, "N", "beam width; 1 is greedy search"),
    "n_best": ("--n-best", _positive_int, "N", "hypotheses per input"),
    "length_penalty": ("--length-penalty", _non_negative_float, "ALPHA", "GNMT alpha"),
    "max_length": (
        "--max-length",
        _positive_int,
        "N",
        "maximum output tokens, [END] included (default: the model's --max-target-length + 1)",
    ),
    "max_length_ratio": (
        "--max-length-ratio",
        _positive_float,
        "RATIO",
        "also cap each output at ceil(RATIO x source tokens) + 1 tokens (default: no cap)",
    ),
    "temperature": (
        "--temperature",
        _positive_float,
        "T",
        "sample at this temperature, with beam width 1 (default: search, no sampling)",
    ),
    "top_k": ("--top-k", _non_negative_int, "K", "sample among the K likeliest tokens; 0: all"),
    "top_p": (
        "--top-p",
        _positive_float,
        "P",
        "sample from the nucleus: the likeliest tokens holding P of the probability, 0 < P <= 1 "
        "(default: all tokens)",
    ),
    "seed": ("--seed", _non_negative_int, "N", "sampling seed (default: a random one)"),
    "no_repeat_ngram": (
        "--no-repeat-ngram",
        _non_negative_int,
        "N",
        "never repeat an n-gram of N tokens in one output; 0 is off",
    ),
    "coverage_penalty": (
        "--coverage-penalty",
        _non_negative_float,
        "BETA",
        "beam search: GNMT coverage penalty weight; 0 is off",
    ),
    "min_score": (
        "--min-score",
        _finite_float,
        "S",
        "refuse (leave empty, with a counted warning) outputs whose normalized score is "
        "below S: the log-probability divided by the GNMT length penalty, so the total "
        "log-probability without --length-penalty; `evaluate` suggests values (default: "
        "refuse nothing)",
    ),
    "replace_unknown": (
        "--replace-unknown",
        bool,
        None,
        "write each generated [UNK] as the source token the model attended to most",
    ),
    "prefix": (
        "--prefix",
        str,
        "TEXT",
        "force every output to start with TEXT (target tokens), then decode the rest",
    ),
}
"""Command-line flags of the `DecodeOptions` fields: (flag, parser, placeholder, help)."""


def _add_decode_arguments(
    parser: argparse.ArgumentParser, names: Sequence[str], defaults: dict | None = None
) -> None:
    """Adds the flags of some `DecodeOptions` fields (not given: the option's default).

    Args:
        parser: the command's parser.
        names: the `DecodeOptions` fields to add flags for.
        defaults: what the command uses where a flag is not given, when that is not the
            `DecodeOptions` default (shown in the help).
    """
    defaults = {
        **{field.name: field.default for field in dataclasses.fields(DecodeOptions)},
        **(defaults or {}),
    }
    group = parser.add_argument_group("decoding")
    for name in names:
        flag, parse, metavar, text = DECODE_FLAGS[name]
        if parse is bool:
            group.add_argument(flag, dest=f"decode_{name}", action="store_const", const=True,
                               help=text)  # fmt: skip
            continue
        if defaults[name] is not None:
            text = f"{text} (default {defaults[name]:g})"
        group.add_argument(flag, dest=f"decode_{name}", type=parse, metavar=metavar, help=text)


def _decode_options(args: argparse.Namespace, **defaults) -> dict:
    """The decoding options given on the command line, over `defaults`."""
    given = {
        name: getattr(args, f"decode_{name}")
        for name in DECODE_FLAGS
        if getattr(args, f"decode_{name}", None) is not None
    }
    return {**defaults, **given}


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(_RECIPE_GROUP.format("model"))
    group.add_argument(
        "--architecture",
        metavar="NAME",
        help="registered architecture: rnn (default; LSTM/GRU + attention) or transformer",
    )
    group.add_argument(
        "--units", type=_positive_int, metavar="N", help="model width (recurrent units) (128)"
    )
    group.add_argument(
        "--layers", type=_positive_int, metavar="N", help="layers in encoder and decoder (1)"
    )
    group.add_argument(
        "--dropout", type=_non_negative_float, metavar="RATE", help="dropout rate (default 0)"
    )
    group.add_argument(
        "--embedding-dim", type=_positive_int, metavar="N", help="rnn: embedding width (64)"
    )
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
    group.add_argument(
        "--heads", type=_positive_int, metavar="N", help="transformer: attention heads (4)"
    )
    group.add_argument(
        "--ffn-dim",
        type=_positive_int,
        metavar="N",
        help="transformer: feed-forward width (4 x units)",
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
    group = p.add_argument_group(_RECIPE_GROUP.format("text"))
    group.add_argument(
        "--tokenizer", choices=TOKENIZER_TYPES, help="tokenizer for both sides (char)"
    )
    group.add_argument("--source-tokenizer", choices=TOKENIZER_TYPES, help="source tokenizer")
    group.add_argument("--target-tokenizer", choices=TOKENIZER_TYPES, help="target tokenizer")
    group.add_argument(
        "--vocab-size",
        type=_positive_int,
        metavar="N",
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
    group.add_argument(
        "--max-source-length",
        type=_positive_int,
        metavar="N",
        help="truncate sources to N tokens (128)",
    )
    group.add_argument(
        "--max-target-length",
        type=_positive_int,
        metavar="N",
        help="truncate targets to N tokens (128)",
    )


_RECIPE_GROUP = "{} (not given: the dataset's recipe, see README, else the default shown)"
"""Title of the groups of `train` flags whose defaults a builtin dataset's recipe sets."""


def _add_schedule_arguments(group) -> None:
    group.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        help="constant (default), inverse_sqrt (Transformer), exponential or plateau",
    )
    group.add_argument(
        "--warmup-steps", type=_non_negative_int, metavar="N", help="linear warmup steps (0)"
    )
    group.add_argument(
        "--decay-rate",
        type=_positive_float,
        metavar="FACTOR",
        help="exponential/plateau factor (0.5)",
    )
    group.add_argument(
        "--decay-steps",
        type=_positive_int,
        metavar="N",
        help="exponential: steps per factor (10000)",
    )
    group.add_argument(
        "--plateau-patience",
        type=_positive_int,
        metavar="N",
        help="plateau: epochs without improvement (2)",
    )


def _add_optimization_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(_RECIPE_GROUP.format("training"))
    group.add_argument(
        "--epochs", type=_positive_int, metavar="N", help="passes over the training data (10)"
    )
    group.add_argument(
        "--batch-size", type=_positive_int, metavar="N", help="examples per batch (64)"
    )
    group.add_argument(
        "--learning-rate",
        type=_positive_float,
        metavar="RATE",
        help="Adam (peak) learning rate (0.001)",
    )
    _add_schedule_arguments(group)
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
    group.add_argument("--label-smoothing", type=_non_negative_float, metavar="EPSILON", help="(0)")
    group.add_argument(
        "--patience",
        type=_non_negative_int,
        metavar="N",
        help="early-stopping patience in epochs; 0 is off (5)",
    )
    group.add_argument(
        "--seed", type=_non_negative_int, default=0, metavar="N", help="seed (default 0)"
    )
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
    p.add_argument(
        "--output", required=True, metavar="DIR", help="run directory to write (created if needed)"
    )
    _add_train_data_arguments(p)
    _add_model_arguments(p)
    _add_text_arguments(p)
    _add_optimization_arguments(p)
    _add_runtime_arguments(p)
    p.set_defaults(handler=_run_train)


def _add_train_data_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `train` (and `distill`) that say which pairs to read, and how."""
    p.add_argument(
        "--validation-data", metavar="FILE", help="TSV file of validation pairs (default: held out)"
    )
    p.add_argument("--max-examples", type=_positive_int, metavar="N", help="use at most N pairs")
    p.add_argument(
        "--skip-bad-lines", action="store_true", help="skip malformed file lines (counted)"
    )
    p.add_argument(
        "--allow-empty-targets",
        action="store_true",
        help="keep file lines with an empty target ('source<TAB>') as refusal examples: the "
        "model learns to answer nothing for such inputs (default: an error)",
    )
    p.add_argument(
        "--output-pattern",
        type=_output_pattern,
        metavar="REGEX",
        help="RE2 regular expression every output must match in full, or it is refused (left "
        "empty), in translate, evaluate and the export (default: the recipe's; dates: "
        r"\d{4}-\d{2}-\d{2} and a calendar check)",
    )


def _add_distill(subparsers) -> None:
    p = subparsers.add_parser(
        "distill",
        help="train a student model from a teacher model (or an ensemble of teachers)",
        description="Knowledge distillation into a new run directory. sequence: the teacher "
        "beam-decodes the training sources (cached in OUTPUT/distill/, with progress) and the "
        "student is trained on its outputs; token: the student's loss mixes cross-entropy "
        "with the KL divergence to the teacher's per-step distribution (the student takes the "
        "teacher's vocabularies); both: the token-level loss on the teacher's outputs. The "
        "student's model, text and training flags are train's (text settings not given: the "
        "teacher's). Running the same command again resumes.",
    )
    p.add_argument(
        "--teacher",
        required=True,
        action="append",
        metavar="RUN",
        help="teacher model directory (run directory or export); several times for an "
        "ensemble teacher (same vocabularies, any architectures)",
    )
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", metavar="FILE", help="file of source<TAB>reference lines")
    data.add_argument(
        "--dataset", help=f"builtin dataset ({', '.join(BUILTIN_DATASETS)}) or a file path"
    )
    p.add_argument(
        "--output", required=True, metavar="DIR", help="the student's run directory (created)"
    )
    _add_distillation_arguments(p)
    _add_train_data_arguments(p)
    _add_model_arguments(p)
    _add_text_arguments(p)
    _add_optimization_arguments(p)
    _add_runtime_arguments(p)
    p.set_defaults(handler=_run_distill)


def _add_distillation_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("distillation")
    group.add_argument(
        "--distill",
        choices=("sequence", "token", "both"),
        default="sequence",
        help="sequence-level (default), token-level, or the token-level loss on the teacher's "
        "outputs",
    )
    group.add_argument(
        "--kd-weight",
        type=_fraction,
        default=0.5,
        metavar="W",
        help="token, both: weight of the KL divergence to the teacher in the loss, the rest "
        "on cross-entropy (default 0.5)",
    )
    group.add_argument(
        "--teacher-beam-width",
        type=_positive_int,
        default=4,
        metavar="N",
        help="sequence, both: beam width of the teacher pass (default 4)",
    )
    group.add_argument(
        "--keep-references",
        action="store_true",
        help="sequence, both: train on the references too, beside the teacher's outputs",
    )


def _run_distill(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keras_seq2seq.training.distill import check_teacher_paths, distill
    from keras_seq2seq.training.distribute import get_strategy
    from keras_seq2seq.training.fit import default_verbosity
    from keras_seq2seq.training.recipes import is_builtin, resolve_settings

    dataset = args.data or args.dataset
    check_output_directory("--output", args.output)
    check_input_file("--validation-data", args.validation_data)
    if args.data is not None:
        check_input_file("--data", args.data)
    elif not is_builtin(args.dataset) and Path(args.dataset).exists():
        check_input_file("--dataset", args.dataset)
    check_teacher_paths(args.teacher)
    _configure_threads(args.intra_op_threads)
    strategy = get_strategy(args.strategy)  # before TensorFlow runs
    overrides = _train_overrides(args)
    settings = resolve_settings(dataset, overrides)
    # Text settings not given on the command line are the teacher's (not the defaults).
    given = any(v is not None for side in ("source", "target")
                for v in overrides[f"{side}_text"].values())  # fmt: skip
    pairs, validation = _read_training_pairs(args, dataset)
    result = distill(
        args.teacher, pairs, args.output, mode=args.distill, kd_weight=args.kd_weight,
        teacher_beam_width=args.teacher_beam_width, keep_references=args.keep_references,
        validation_pairs=validation, model_options=settings.model_options,
        source_text=settings.source_text if given else None,
        target_text=settings.target_text if given else None,
        train_config=settings.train, verbose=default_verbosity(), strategy=strategy,
        data_source=dataset,
    )  # fmt: skip
    print(
        f"Distilled from {len(result.teachers)} teacher model(s) into {result.run_dir}: "
        f"{result.num_train_examples} training pairs ({result.num_validation_examples} for "
        "validation)"
    )
    return 0


def _add_translate(subparsers) -> None:
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
    p.add_argument(
        "--model",
        required=True,
        action="append",
        help="run directory, exported base path (saved_models/NAME: newest version) or a "
        "version directory; give it several times to decode an ensemble",
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to translate")
    p.add_argument(
        "--input", metavar="FILE", help="file of inputs, one per line ('-': standard input)"
    )
    p.add_argument(
        "--output", metavar="FILE", help="file to write the outputs to (default: standard output)"
    )
    _add_decode_arguments(p, list(DECODE_FLAGS))
    p.add_argument(
        "--batch-size", type=_positive_int, default=256, metavar="N", help="inputs per batch (256)"
    )
    p.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=4096,
        metavar="N",
        help="inputs read, sorted by length and translated at a time (default 4096)",
    )
    p.set_defaults(handler=_run_translate)


def _add_evaluate(subparsers) -> None:
    from keras_seq2seq.evaluation.metrics import METRIC_NAMES

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
    source.add_argument(
        "--data", metavar="FILE", help="file of source<TAB>target lines (.tsv, .tsv.gz, .jsonl)"
    )
    source.add_argument(
        "--dataset", help=f"builtin dataset ({', '.join(BUILTIN_DATASETS)}) or a file path"
    )
    p.add_argument(
        "--split", default="test", metavar="NAME", help="split of a builtin dataset (default test)"
    )
    p.add_argument(
        "--data-seed",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="builtin-dataset seed (default 0)",
    )
    p.add_argument("--max-examples", type=_positive_int, metavar="N", help="use at most N pairs")
    _add_decode_arguments(p, [n for n in DECODE_FLAGS if n not in ("n_best", "prefix")])
    p.add_argument(
        "--batch-size", type=_positive_int, default=256, metavar="N", help="inputs per batch (256)"
    )
    p.add_argument(
        "--metrics",
        nargs="+",
        choices=METRIC_NAMES,
        help="metrics to compute (default: by target tokenizer)",
    )
    _add_evaluate_outputs(p)
    p.add_argument(
        "--allow-empty-targets",
        action="store_true",
        help="keep --data lines with an empty target ('source<TAB>') as refusal examples "
        "(default: an error)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(handler=_run_evaluate)


def _add_evaluate_outputs(p: argparse.ArgumentParser) -> None:
    """The files `evaluate` writes: the report, the hypotheses, the model's evaluation.json."""
    p.add_argument("--output", metavar="FILE", help="write the report as JSON to FILE")
    p.add_argument(
        "--hypotheses",
        metavar="FILE",
        help="write source<TAB>reference<TAB>hypothesis lines to this file (default with "
        "--output: REPORT.hypotheses.tsv next to it)",
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="also write the report into the model directory as its evaluation.json, the "
        "evaluation `info` shows (default: the model's recorded evaluation is left as it is)",
    )


def _add_plot_attention(subparsers) -> None:
    p = subparsers.add_parser(
        "plot-attention",
        help="draw the attention weights of one translation",
        description="Translate TEXT and save a heat map of the attention weights: source "
        "tokens across, output tokens down ([END] included).",
    )
    p.add_argument("--model", required=True, help="model directory (as for translate)")
    p.add_argument("--output", required=True, metavar="FILE", help="image file (.png, .svg, .pdf)")
    _add_decode_arguments(p, ["beam_width", "length_penalty", "max_length", "max_length_ratio"])
    p.add_argument("text", metavar="TEXT", help="the text to translate")
    p.set_defaults(handler=_run_plot_attention)


def _add_export(subparsers) -> None:
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
        type=_positive_int,
        metavar="N",
        help="version to write (default: the newest + 1)",
    )
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
        defaults={"beam_width": DEFAULT_BEAM_WIDTH},
    )
    p.add_argument(
        "--max-beam-width",
        type=_positive_int,
        metavar="N",
        default=DEFAULT_MAX_BEAM_WIDTH,
        help=f"largest beam_width a request may ask for (default {DEFAULT_MAX_BEAM_WIDTH})",
    )
    p.add_argument(
        "--quantize",
        choices=["int8"],
        help="store the dense layers' kernels as int8 with float32 scales (smaller SavedModel; "
        "measure speed and quality with benchmarks/int8_export.py; default: float32)",
    )
    p.add_argument("--check", metavar="PATH", help="check the ops of the SavedModel at PATH")
    p.set_defaults(handler=_run_export)


def _add_score(subparsers) -> None:
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
        "--batch-size", type=_positive_int, default=256, metavar="N", help="pairs per batch (256)"
    )
    p.add_argument("--skip-bad-lines", action="store_true", help="skip malformed lines")
    p.add_argument(
        "--allow-empty-targets",
        action="store_true",
        help="score lines with an empty target ('source<TAB>': how likely a refusal is)",
    )
    p.set_defaults(handler=_run_score)


def _run_score(args: argparse.Namespace) -> int:
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


def _add_average(subparsers) -> None:
    p = subparsers.add_parser(
        "average",
        help="average a run's last kept checkpoints into a new run directory",
        description="Write a run directory whose weights are the mean of the last kept "
        "epochs of --model (trained with --keep-checkpoints N); translate, evaluate and "
        "export take it like any run directory.",
    )
    p.add_argument("--model", required=True, help="run directory with kept checkpoints")
    p.add_argument(
        "--last", type=_positive_int, metavar="N", help="average the last N (default: all kept)"
    )
    p.add_argument("--output", required=True, metavar="DIR", help="the new run directory")
    p.set_defaults(handler=_run_average)


def _run_average(args: argparse.Namespace) -> int:
    from keras_seq2seq.training.averaging import average_checkpoints

    check_output_directory("--output", args.output)
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

    from keras_seq2seq.serving.model_card import format_model_card, model_card

    card = model_card(args.model)
    print(json.dumps(card, indent=1, ensure_ascii=False) if args.json else format_model_card(card))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="keras-seq2seq",
        description="Sequence-to-sequence learning on Keras 3 / TensorFlow.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(subparsers)
    _add_distill(subparsers)
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
        subparser.set_defaults(parameter_flags=_parameter_flags(subparser))
    return parser


def _parameter_flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Library parameter name -> flag, for the flags a command has (see `cli_errors`)."""
    known = {**{name: spec[0] for name, spec in DECODE_FLAGS.items()}, **PARAMETER_FLAGS}
    options = {option for action in parser._actions for option in action.option_strings}
    return {name: flag for name, flag in known.items() if flag in options}


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
                "output_pattern": args.output_pattern if side == "target" else None,
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
    from keras_seq2seq.training.cpu import configure_for_cpu_training, use_pooling_allocator

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
            "keras_seq2seq.training.cpu.configure_cpu_threads() at the start of the program.",
            stacklevel=2,
        )


def _run_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from keras_seq2seq.training.distribute import get_strategy
    from keras_seq2seq.training.fit import default_verbosity, train
    from keras_seq2seq.training.recipes import is_builtin, resolve_settings

    check_output_directory("--output", args.output)
    check_input_file("--validation-data", args.validation_data)
    if not is_builtin(args.dataset) and Path(args.dataset).exists():
        check_input_file("--dataset", args.dataset)
    # First: thread pools and a multi-worker strategy must be set before TensorFlow runs.
    _configure_threads(args.intra_op_threads)
    strategy = get_strategy(args.strategy)
    settings = resolve_settings(args.dataset, _train_overrides(args))
    pairs, validation = _read_training_pairs(args, args.dataset)
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


def _read_training_pairs(args: argparse.Namespace, dataset: str) -> tuple[list, list | None]:
    """The training pairs and the validation pairs (None: held out by `train`)."""
    from keras_seq2seq.progress import Progress
    from keras_seq2seq.training.recipes import is_builtin, load_pairs

    with Progress().stage(f"Reading {dataset}"):
        pairs = load_pairs(
            dataset,
            "train",
            max_examples=args.max_examples,
            seed=args.seed,
            skip_bad_lines=args.skip_bad_lines,
            allow_empty_targets=args.allow_empty_targets,
        )
        validation = None
        if args.validation_data:
            validation = load_pairs(
                args.validation_data,
                skip_bad_lines=args.skip_bad_lines,
                allow_empty_targets=args.allow_empty_targets,
            )
        elif is_builtin(dataset):
            validation = load_pairs(dataset, "validation", seed=args.seed)
    return pairs, validation


FEW_TEXTS = 1000
"""Up to this many texts given as arguments, `translate` decodes without graph optimization."""


def _skip_graph_optimization() -> None:
    """Turns off TensorFlow's graph optimizer (Grappler) for the rest of the process.

    It rewrites the decoding graph once, when the graph first runs: about 0.6 s on a CPU,
    which makes each later batch faster (0.2 ms a sentence for the dates model). For a few
    sentences that one-time cost is most of the work.
    """
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def _run_translate(args: argparse.Namespace) -> int:
    from keras_seq2seq.decoding.options import DecodeOptions
    from keras_seq2seq.decoding.streaming import format_result, translate_file

    options = DecodeOptions(**_decode_options(args))
    if args.texts and args.input:
        raise ValueError("Give the texts as arguments or as --input FILE, not both.")
    check_input_file("--input", args.input)
    check_output_file("--output", args.output)
    if args.model[0].startswith(("http://", "https://")):  # served by TF Serving (REST)
        from keras_seq2seq.serving.client import RestTranslator

        if len(args.model) > 1:
            raise ValueError("An ensemble is decoded in process: give model directories.")
        translator = RestTranslator(args.model[0])
    else:
        from keras_seq2seq.decoding.translator import load

        if len(args.texts) in range(1, FEW_TEXTS):
            _skip_graph_optimization()
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

    from keras_seq2seq.decoding.options import DecodeOptions
    from keras_seq2seq.evaluation.evaluate import (
        evaluate,
        format_report,
        recorded_evaluation_path,
        write_hypotheses,
        write_report,
    )
    from keras_seq2seq.training.recipes import load_pairs

    if args.record and len(args.model) > 1:
        raise ValueError(
            "--record writes the evaluation into one model's directory, and an ensemble of "
            "several --model has none: evaluate it without --record."
        )
    check_output_file("--output", args.output)
    check_output_file("--hypotheses", args.hypotheses)
    if args.data is not None and Path(args.data).exists():
        check_input_file("--data", args.data)  # a directory, or not readable
    if args.data is not None and not Path(args.data).is_file():
        raise FileNotFoundError(
            f"--data {args.data}: no such file. Pass a file of source<TAB>target lines, or a "
            f"builtin dataset with --dataset ({', '.join(BUILTIN_DATASETS)})."
        )
    pairs = load_pairs(
        args.data or args.dataset,
        args.split,
        max_examples=args.max_examples,
        seed=args.data_seed,
        allow_empty_targets=args.allow_empty_targets,
    )
    from keras_seq2seq.decoding.translator import load

    report = evaluate(
        args.model[0] if len(args.model) == 1 else load(args.model),
        pairs,
        DecodeOptions(**_decode_options(args)),
        batch_size=args.batch_size,
        metrics=args.metrics,
        progress=not args.quiet,
        record=args.record,
    )
    print(format_report(report))
    if args.record:
        path = recorded_evaluation_path(report)
        print(f"Evaluation recorded in {path} (shown by `keras-seq2seq info`)", file=sys.stderr)
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
    from keras_seq2seq.evaluation.plotting import plot_attention

    check_output_file("--output", args.output)
    plot_attention(args.model, args.text, _decode_options(args), output=args.output)
    print(f"Attention plot written to {args.output}", file=sys.stderr)
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from keras_seq2seq.serving.client import BEAM_SIGNATURE, SCORE_SIGNATURE, SERVING_SIGNATURE
    from keras_seq2seq.serving.export import PREFIX_SIGNATURE, export_model
    from keras_seq2seq.serving.op_check import check_saved_model_ops

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
    check_output_directory("--output", args.output)
    try:
        path = export_model(
            args.model[0] if len(args.model) == 1 else args.model,
            args.output,
            version=args.version,
            force=args.force,
            max_beam_width=args.max_beam_width,
            quantize=args.quantize,
            **_decode_options(args),
        )
    except FileExistsError as error:
        raise ValueError(str(error)) from None
    signatures = [SERVING_SIGNATURE, BEAM_SIGNATURE, PREFIX_SIGNATURE, SCORE_SIGNATURE]
    print(f"Exported to {path} (signatures: {', '.join(signatures)})")
    return 0


def main(argv: Sequence[str] | None = None, *, quiet: bool = False) -> int:
    """Runs the command line; returns the exit status.

    Bad input (a missing model, a malformed data file, an output path that cannot be
    written, a file the system refuses) prints one `keras-seq2seq CMD: error: ...` line
    naming the flag, and returns 2 instead of raising; paths are checked before any work
    starts. A usage error (an unknown flag, an out-of-range value) prints its line and where
    to get help, and exits with status 2. `--help`, `--version` and usage errors answer
    without importing TensorFlow.

    Args:
        argv: the arguments (default: `sys.argv[1:]`).
        quiet: bool. Drop TensorFlow's log lines from stderr unless `--verbose` is given
            (see `keras_seq2seq.quiet`); the `keras-seq2seq` command does. Defaults to `False`.

    Returns:
        int. 0 on success, 2 on bad input, 130 when interrupted, 141 when the reader of
        standard output went away (`| head`).

    Raises:
        SystemExit: for `--help`, `--version` (status 0) and usage errors (status 2).

    Example:
    >>> main(["translate", "--model", "saved_models/dates", "March 3, 2021"])  # doctest: +SKIP
    2021-03-03
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        show_tensorflow_logs()  # undo the package's default level, before TensorFlow loads
    elif quiet:
        silence_tensorflow()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command, args.parameter_flags)
            return args.handler(args)
    except BrokenPipeError:
        # The reader stopped reading (`| head`): nothing to report.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, TypeError, OSError, RunDirectoryBusyError) as error:
        message = os_error_message(error) if isinstance(error, OSError) else str(error)
        message = " ".join(command_line_message(message, args.parameter_flags).splitlines())
        print(f"keras-seq2seq {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        if str(interrupt):  # e.g. how to resume an interrupted training
            print(f"keras-seq2seq {args.command}: {interrupt}", file=sys.stderr)
        return 130


def _one_line_warning(command: str, flags: dict[str, str]):
    """`warnings.showwarning` for the command line: our warnings as one line each."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CountedWarning) or filename.startswith(_PACKAGE_DIR):
            text = command_line_message(str(message), flags)
            print(f"keras-seq2seq {command}: warning: {text}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def run() -> None:
    """The `keras-seq2seq` command: `main` with TensorFlow's log lines dropped."""
    sys.exit(main(quiet=True))


if __name__ == "__main__":
    run()
