"""`keras-seq2seq distill`: train a student model from a teacher model (or an ensemble)."""

from __future__ import annotations

import argparse

from keras_seq2seq.cli_errors import check_input_file, check_output_directory
from keras_seq2seq.cli_fields import fraction, positive_int
from keras_seq2seq.commands.data import add_data_or_dataset
from keras_seq2seq.commands.settings import add_settings_arguments, train_overrides
from keras_seq2seq.commands.train import (
    add_data_arguments,
    add_runtime_arguments,
    configure_threads,
    read_training_pairs,
)
from keras_seq2seq.modes import DISTILL_MODES


def add_parser(subparsers) -> None:
    """Adds the `distill` command."""
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
    add_data_or_dataset(p, "file of source<TAB>reference lines")
    p.add_argument(
        "--output", required=True, metavar="DIR", help="the student's run directory (created)"
    )
    _add_distillation_arguments(p)
    add_data_arguments(p)
    add_settings_arguments(p)
    add_runtime_arguments(p)
    p.set_defaults(handler=run)


def _add_distillation_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("distillation")
    group.add_argument(
        "--distill",
        choices=DISTILL_MODES,
        default="sequence",
        help="sequence-level (default), token-level, or the token-level loss on the teacher's "
        "outputs",
    )
    group.add_argument(
        "--kd-weight",
        type=fraction,
        default=0.5,
        metavar="W",
        help="token, both: weight of the KL divergence to the teacher in the loss, the rest "
        "on cross-entropy (default 0.5)",
    )
    group.add_argument(
        "--teacher-beam-width",
        type=positive_int,
        default=4,
        metavar="N",
        help="sequence, both: beam width of the teacher pass (default 4)",
    )
    group.add_argument(
        "--keep-references",
        action="store_true",
        help="sequence, both: train on the references too, beside the teacher's outputs",
    )


def run(args: argparse.Namespace) -> int:
    """Runs `distill`: checks the paths and teachers, resolves the settings, distills."""
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
    configure_threads(args.intra_op_threads)
    strategy = get_strategy(args.strategy)  # before TensorFlow runs
    overrides = train_overrides(args)
    settings = resolve_settings(dataset, overrides)
    # Text settings not given on the command line are the teacher's (not the defaults).
    given = any(overrides[f"{side}_text"] for side in ("source", "target"))
    pairs, validation = read_training_pairs(args, dataset, settings.train.seed)
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
