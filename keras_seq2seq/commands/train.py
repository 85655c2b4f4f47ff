"""`keras-seq2seq train`: train a model into a run directory.

Also the flags `distill` shares: which pairs to read (`add_data_arguments`) and how to run
(`add_runtime_arguments`).
"""

from __future__ import annotations

import argparse
import warnings

from keras_seq2seq.cli_errors import check_input_file, check_output_directory
from keras_seq2seq.cli_fields import non_negative_int
from keras_seq2seq.commands.data import add_max_examples
from keras_seq2seq.commands.settings import add_settings_arguments, train_overrides
from keras_seq2seq.data.datasets import BUILTIN_DATASETS
from keras_seq2seq.modes import STRATEGY_NAMES


def add_parser(subparsers) -> None:
    """Adds the `train` command."""
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
    add_data_arguments(p)
    add_settings_arguments(p)
    add_runtime_arguments(p)
    p.set_defaults(handler=run)


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `train` (and `distill`) that say which pairs to read, and how."""
    p.add_argument(
        "--validation-data", metavar="FILE", help="TSV file of validation pairs (default: held out)"
    )
    add_max_examples(p)
    p.add_argument(
        "--skip-bad-lines", action="store_true", help="skip malformed file lines (counted)"
    )
    p.add_argument(
        "--allow-empty-targets",
        action="store_true",
        help="keep file lines with an empty target ('source<TAB>') as refusal examples: the "
        "model learns to answer nothing for such inputs (default: an error)",
    )


def add_runtime_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `train` (and `distill`) that say where and how the training runs."""
    p.add_argument(
        "--intra-op-threads",
        type=non_negative_int,
        default=1,
        metavar="N",
        help="threads per TensorFlow op on a machine without GPU (default 1, with one op per "
        "core running side by side: fastest for recurrent models on CPU; 0 = TensorFlow's "
        "default)",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGY_NAMES,
        default="default",
        help="tf.distribute strategy: one device (default), every GPU of this machine "
        "(mirrored), or every worker of the TF_CONFIG cluster (multi-worker: run the same "
        "command on each host). --batch-size is the global batch",
    )


def configure_threads(intra_op_threads: int) -> None:
    """Sets TensorFlow's CPU thread pools and allocator, before TensorFlow runs."""
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


def run(args: argparse.Namespace) -> int:
    """Runs `train`: checks the paths, resolves the settings, trains."""
    from pathlib import Path

    from keras_seq2seq.training.distribute import get_strategy
    from keras_seq2seq.training.fit import default_verbosity, train
    from keras_seq2seq.training.recipes import is_builtin, resolve_settings

    check_output_directory("--output", args.output)
    check_input_file("--validation-data", args.validation_data)
    if not is_builtin(args.dataset) and Path(args.dataset).exists():
        check_input_file("--dataset", args.dataset)
    # First: thread pools and a multi-worker strategy must be set before TensorFlow runs.
    configure_threads(args.intra_op_threads)
    strategy = get_strategy(args.strategy)
    settings = resolve_settings(args.dataset, train_overrides(args))
    pairs, validation = read_training_pairs(args, args.dataset, settings.train.seed)
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


def read_training_pairs(
    args: argparse.Namespace, dataset: str, seed: int
) -> tuple[list, list | None]:
    """The training pairs and the validation pairs (None: held out by `train`).

    Args:
        args: the namespace of `train` or `distill` (`add_data_arguments`).
        dataset: str. A builtin dataset name or a file path.
        seed: int. The builtin dataset's seed (the training seed).

    Returns:
        `(pairs, validation pairs or None)`.
    """
    from keras_seq2seq.progress import Progress
    from keras_seq2seq.training.recipes import is_builtin, load_pairs

    with Progress().stage(f"Reading {dataset}"):
        pairs = load_pairs(
            dataset,
            "train",
            max_examples=args.max_examples,
            seed=seed,
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
            validation = load_pairs(dataset, "validation", seed=seed)
    return pairs, validation
