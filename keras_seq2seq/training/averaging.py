"""Checkpoint averaging: the mean of the weights of a run's last epochs, as a new run directory.

`train(..., train_config=TrainConfig(keep_checkpoints=N))` keeps the weights of the last N
epochs in `RUN_DIR/checkpoints/epoch-NNN.weights.h5` (`KeepCheckpoints`); `average_checkpoints`
(and `keras-seq2seq average`) averages them into a normal run directory that translate,
evaluate and export take like any other. Averaging the last epochs' weights smooths the
noise of the final updates (Vaswani et al. 2017; OpenNMT's and Marian's `average`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np

from keras_seq2seq.atomic_write import write_json
from keras_seq2seq.models import get_architecture
from keras_seq2seq.run_layout import (
    CHECKPOINTS_DIR,
    MODEL_FILE,
    TRAINING_FILE,
    checkpoint_file,
    checkpoint_files,
)
from keras_seq2seq.training.run_dir import load_run, model_files, save_run
from keras_seq2seq.validation import check_int


class KeepCheckpoints(keras.callbacks.Callback):
    """Saves the weights after every epoch and keeps the last `keep` of them.

    Args:
        directory: Path. Where `epoch-NNN.weights.h5` files go.
        keep: int. How many to keep.

    Example:
    >>> KeepCheckpoints(Path("runs/x/checkpoints"), keep=5)  # doctest: +SKIP
    """

    def __init__(self, directory: Path, keep: int):
        super().__init__()
        self.directory = Path(directory)
        self.keep = check_int("keep", keep)

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        self.model.save_weights(self.directory / checkpoint_file(epoch + 1))
        for old in checkpoint_files(self.directory)[: -self.keep]:
            old.unlink()


def average_checkpoints(
    model_path: str | Path, output: str | Path, *, last: int | None = None
) -> Path:
    """Writes a run directory whose weights are the mean of a run's last checkpoints.

    Args:
        model_path: a run directory trained with `keep_checkpoints`.
        output: str or Path. The new run directory (must not hold a model yet).
        last: int or None. Average the last this many kept checkpoints. Defaults to all.

    Returns:
        Path of the new run directory.

    Raises:
        FileNotFoundError: no kept checkpoints (train with `--keep-checkpoints N`).
        FileExistsError: `output` already holds a model.
        ValueError: `last` out of range.

    Example:
    >>> average_checkpoints("runs/g2p", "runs/g2p-avg5", last=5)  # doctest: +SKIP
    PosixPath('runs/g2p-avg5')
    """
    run = load_run(model_path)
    files = checkpoint_files(run.run_dir / CHECKPOINTS_DIR)
    if not files:
        raise FileNotFoundError(
            f"{run.run_dir} has no kept checkpoints in {CHECKPOINTS_DIR}/: train it with "
            "--keep-checkpoints N (TrainConfig(keep_checkpoints=N)) to average its last epochs."
        )
    if last is not None:
        check_int("last", last, maximum=len(files))
        files = files[-last:]
    output = Path(output)
    if (output / MODEL_FILE).exists():
        raise FileExistsError(f"{output} already holds a model; choose another --output.")
    architecture = get_architecture(run.config.model.architecture)
    model = architecture.build(run.config.model)
    sums = None
    for path in files:
        model.training.load_weights(path)
        weights = model.training.get_weights()
        sums = weights if sums is None else [s + w for s, w in zip(sums, weights, strict=True)]
    model.training.set_weights([np.asarray(s) / len(files) for s in sums])
    output.mkdir(parents=True, exist_ok=True)
    for name in model_files(run.config):  # the files as they are: config and vocabularies
        if name != MODEL_FILE:
            shutil.copy2(run.run_dir / name, output / name)
    save_run(output, model=model.training)
    training = dict(load_training(run.run_dir), averaged_checkpoints=[p.name for p in files])
    write_json(output / TRAINING_FILE, training)
    return output


def load_training(run_dir: Path) -> dict:
    """The run's `training.json` (empty when there is none)."""
    path = run_dir / TRAINING_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
