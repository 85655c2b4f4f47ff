"""The run directory: what a trained model is on disk, how it is found, saved and loaded.

The names of its files are in `keras_seq2seq.run_layout` (`RUN_LAYOUT` describes each).
`save_run` is the one function that writes a model's files (config, vocabularies and
tokenizer assets, `model.keras`) into a run directory; `load_run` reads them back.

An exported version directory (`saved_models/NAME/VERSION/`) holds the same model files
next to the SavedModel, so everything that loads a run directory loads an export too.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import keras

from keras_seq2seq.atomic_write import replacing, write_bytes
from keras_seq2seq.config import RunConfig, TextConfig
from keras_seq2seq.config_mismatch import describe_mismatch
from keras_seq2seq.errors import RunDirectoryBusyError
from keras_seq2seq.models import Architecture, get_architecture
from keras_seq2seq.run_layout import BACKUP_DIR as BACKUP_DIR
from keras_seq2seq.run_layout import (
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    ENSEMBLE_FILE,
    LOCK_FILE,
    MODEL_FILE,
    RUN_FILES,
    SOURCE_VOCAB_FILE,
    TARGET_VOCAB_FILE,
    asset_file,
    checkpoint_files,
    vocabulary_file,
)
from keras_seq2seq.run_layout import HISTORY_FILE as HISTORY_FILE
from keras_seq2seq.run_layout import LOGS_DIR as LOGS_DIR
from keras_seq2seq.shipped import not_found_hint, shipped_model_path
from keras_seq2seq.text.tokenizers import Tokenizer, tokenizer_class, tokenizer_from_vocabulary
from keras_seq2seq.text.vocabulary import load_vocabulary, save_vocabulary
from keras_seq2seq.versions import newest_version_dir


class LoadedRun(NamedTuple):
    """A model read back from a run directory."""

    run_dir: Path
    config: RunConfig
    model: Architecture
    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer


def resolve_run_dir(path: str | Path) -> Path:
    """Finds the directory holding a model's files.

    Accepts a run directory, an exported base path (`saved_models/NAME`, whose newest
    numeric version is taken), a version directory, or the bare name of a shipped model
    (`keras_seq2seq.shipped`).

    Raises:
        FileNotFoundError: the path does not exist, or holds no model (names what is missing).

    Example:
    >>> resolve_run_dir("saved_models/dates")  # doctest: +SKIP
    PosixPath('saved_models/dates/2')
    """
    path = located(path)
    if not path.exists():
        raise FileNotFoundError(f"Model path not found: {path}{_hint(path)}")
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path} is a file; pass the model directory (a run directory or saved_models/NAME)."
        )
    if not (path / CONFIG_FILE).exists():
        path = newest_version_dir(path) or path
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{path} is not a model directory: missing {', '.join(missing)}. A model directory "
            f"is written by `keras-seq2seq train` or `export` and holds {', '.join(RUN_FILES)}."
        )
    return path


def tokenizer_files(config: RunConfig) -> list[str]:
    """The vocabulary files of a run and the asset files its tokenizers need.

    Example:
    >>> tokenizer_files(config)  # doctest: +SKIP
    ['source_vocab.txt', 'target_vocab.txt', 'source_spm.model', 'target_spm.model']
    """
    names = [SOURCE_VOCAB_FILE, TARGET_VOCAB_FILE]
    for side, text in (("source", config.source_text), ("target", config.target_text)):
        names += [asset_file(side, asset) for asset in tokenizer_class(text.tokenizer).asset_names]
    return names


def model_files(config: RunConfig) -> list[str]:
    """Every file a model needs: config, weights, vocabularies and tokenizer assets."""
    return [CONFIG_FILE, MODEL_FILE, *tokenizer_files(config)]


def _hint(path: Path) -> str:
    hint = not_found_hint(path)
    return f".{hint}" if hint else ""


def located(path: str | Path) -> Path:
    """The path itself, or the shipped model a missing bare name names (`keras_seq2seq.shipped`).

    Example:
    >>> located("runs/dates")  # doctest: +SKIP
    PosixPath('runs/dates')
    """
    return shipped_model_path(path) or Path(path)


def model_root(path: str | Path) -> Path:
    """The directory a path names: itself, or an exported base path's newest version.

    It holds the model's files, or an exported ensemble's `ensemble.json`, and the files that
    belong to the whole model (`lexicon.tsv`, `model_card.json`).

    Example:
    >>> model_root("saved_models/dates")  # doctest: +SKIP
    PosixPath('saved_models/dates/2')
    """
    path = located(path)
    if path.is_dir() and not (path / CONFIG_FILE).exists() and not (path / ENSEMBLE_FILE).exists():
        path = newest_version_dir(path) or path
    return path


def resolve_model_dirs(path: str | Path) -> list[Path]:
    """The model directories behind a path: one run, or the members of an exported ensemble.

    Raises:
        FileNotFoundError: as `resolve_run_dir`.
        ValueError: a corrupt `ensemble.json`.

    Example:
    >>> resolve_model_dirs("saved_models/dates")  # doctest: +SKIP
    [PosixPath('saved_models/dates/2')]
    """
    path = model_root(path)
    if (path / ENSEMBLE_FILE).is_file():
        try:
            members = json.loads((path / ENSEMBLE_FILE).read_text(encoding="utf-8"))["members"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path / ENSEMBLE_FILE} is corrupt: {error}") from error
        return [resolve_run_dir(path / member) for member in members]
    return [resolve_run_dir(path)]


def save_tokenizers(run_dir: Path, source: Tokenizer, target: Tokenizer) -> None:
    """Writes the vocabulary files of a run directory and the tokenizers' asset files."""
    for side, tokenizer in (("source", source), ("target", target)):
        save_vocabulary(tokenizer.vocabulary, run_dir / vocabulary_file(side))
        for name, data in tokenizer.assets().items():
            write_bytes(run_dir / asset_file(side, name), data)


def save_run(
    run_dir: str | Path,
    *,
    config: RunConfig | None = None,
    tokenizers: tuple[Tokenizer, Tokenizer] | None = None,
    model: keras.Model | None = None,
) -> Path:
    """Writes a model's files into a run directory: the one place they are written.

    Training writes them as they become known (the vocabularies first, then the config, and
    the model when training ends), averaging and distillation all at once. Each file is
    written atomically: a reader sees the old file or the new one, never half of one.

    Args:
        run_dir: str or Path. The run directory (created if needed).
        config: RunConfig or None. Written as `config.json`. Defaults to `None` (not written).
        tokenizers: (source, target) Tokenizers or None. Written as the vocabulary files and
            the tokenizers' asset files. Defaults to `None` (not written).
        model: keras.Model or None. The training model, written as `model.keras`. Defaults
            to `None` (not written).

    Returns:
        The run directory, as a Path.

    Raises:
        ValueError: a malformed vocabulary.
        OSError: the directory cannot be written.

    Example:
    >>> save_run("runs/copy", config=run.config,
    ...          tokenizers=(run.source_tokenizer, run.target_tokenizer),
    ...          model=run.model.training)  # doctest: +SKIP
    PosixPath('runs/copy')
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if tokenizers is not None:
        save_tokenizers(run_dir, *tokenizers)
    if config is not None:
        config.save(run_dir / CONFIG_FILE)
    if model is not None:
        with replacing(run_dir / MODEL_FILE) as partial:
            model.save(partial)
    return run_dir


def _read_assets(run_dir: Path, side: str, kind: str) -> dict[str, bytes]:
    assets = {}
    for name in tokenizer_class(kind).asset_names:
        path = run_dir / asset_file(side, name)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: the {kind} tokenizer of the {side} side needs it."
            )
        assets[name] = path.read_bytes()
    return assets


def read_tokenizers(
    run_dir: Path, source_text: TextConfig, target_text: TextConfig
) -> tuple[Tokenizer, Tokenizer]:
    """The source and target tokenizers saved in a run directory.

    Raises:
        FileNotFoundError: a vocabulary or asset file is missing.
        ValueError: a vocabulary does not match its asset file, or is malformed.
    """
    source, target = (
        tokenizer_from_vocabulary(
            text,
            load_vocabulary(run_dir / vocabulary_file(side)),
            _read_assets(run_dir, side, text.tokenizer),
        )
        for side, text in (("source", source_text), ("target", target_text))
    )
    return source, target


def load_tokenizers(run_dir: Path, config: RunConfig) -> tuple[Tokenizer, Tokenizer]:
    """The source and target tokenizers of a run directory, checked against its config.

    Raises:
        FileNotFoundError: a tokenizer's asset file is missing.
        ValueError: a vocabulary's size differs from what `config.model` expects, or a
            vocabulary does not match its asset file.
    """
    tokenizers = read_tokenizers(run_dir, config.source_text, config.target_text)
    for name, tokenizer, expected in (
        (SOURCE_VOCAB_FILE, tokenizers[0], config.model.source_vocabulary_size),
        (TARGET_VOCAB_FILE, tokenizers[1], config.model.target_vocabulary_size),
    ):
        if tokenizer.vocabulary_size != expected:
            raise ValueError(
                f"{run_dir / name} has {tokenizer.vocabulary_size} tokens but config.json "
                f"expects {expected}; the vocabulary does not belong to this model."
            )
    return tokenizers


def load_run(path: str | Path) -> LoadedRun:
    """Reads a model, its tokenizers and config from a run or export directory.

    A model trained with mixed precision comes back computing in float32 (its weights are
    float32 anyway), so translations and exports do not depend on the device.

    Args:
        path: a run directory, an exported base path (newest version) or a version directory.

    Returns:
        LoadedRun.

    Raises:
        FileNotFoundError: the directory or one of its files is missing.
        ValueError: a file is corrupt (`model.keras` not a valid Keras archive) or does not
            match the config (`config.json` settings that disagree with the weights: the
            message names the field where it can tell), or the config names an
            architecture that is not registered.

    Example:
    >>> load_run("saved_models/dates").model.name  # doctest: +SKIP
    'rnn'
    """
    run_dir = resolve_run_dir(path)
    config = RunConfig.load(run_dir / CONFIG_FILE)
    source, target = load_tokenizers(run_dir, config)
    try:
        architecture = get_architecture(config.model.architecture)
    except ValueError as error:
        raise ValueError(f"{run_dir / CONFIG_FILE}: {error}") from None
    training = _load_keras_model(run_dir)
    try:
        model = architecture(config.model, training).float32_copy()
    except (ValueError, TypeError, KeyError, IndexError) as error:  # Keras raises several kinds
        why = (
            describe_mismatch(config.model, training) or f"building on its layers failed ({error})"
        )
        raise ValueError(
            f"{run_dir / CONFIG_FILE} does not match the weights in {run_dir / MODEL_FILE}: "
            f"{why.rstrip('.')}. A model directory needs the config.json written with its "
            "model.keras (by `keras-seq2seq train` or `export`)."
        ) from error
    return LoadedRun(run_dir, config, model, source, target)


def _recovery_advice(run_dir: Path) -> str:
    advice = (
        "Copy model.keras back from where the model was exported or backed up (an export's "
        "version directory holds a copy), or train the model again"
    )
    checkpoints = checkpoint_files(run_dir / CHECKPOINTS_DIR)
    if checkpoints:
        advice += (
            f"; {checkpoints[-1]} holds the weights of a late epoch, which load into the model "
            "that config.json builds (keras_seq2seq.models.build_model(config.model)"
            ".training.load_weights(...))"
        )
    return advice + "."


def _load_keras_model(run_dir: Path) -> keras.Model:
    """The training model of `model.keras`; a damaged archive is reported as corrupt."""
    path = run_dir / MODEL_FILE
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is corrupt: it is not a valid Keras archive ({path.stat().st_size:,} "
            "bytes; a .keras file is a zip archive, and this one was truncated or "
            f"overwritten). {_recovery_advice(run_dir)}"
        )
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        if isinstance(error, (zipfile.BadZipFile, EOFError)) or "CRC" in str(error):
            message = f"{path} is corrupt: it is not a valid Keras archive ({error})."
        else:
            message = (
                f"Could not load {path} ({type(error).__name__}: {error}). If the file is damaged:"
            )
        raise ValueError(f"{message} {_recovery_advice(run_dir)}") from error


@contextlib.contextmanager
def training_lock(run_dir: Path) -> Iterator[None]:
    """Holds the run directory's lock while training: one trainer per run directory.

    The lock is an advisory `flock` on `RUN_DIR/.lock`, which the operating system releases
    when the process ends, however it ends: a killed trainer never leaves it stuck.

    Raises:
        RunDirectoryBusyError: a live process holds the lock (its pid is in the message).

    Example:
    >>> with training_lock(Path("runs/dates")):  # doctest: +SKIP
    ...     fit()
    """
    import fcntl

    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            raise RunDirectoryBusyError(
                f"{run_dir} is being trained by another process (pid {owner}). Wait for it "
                "to finish (or stop it; running the same command again then resumes from its "
                "last epoch), or train into another --output directory."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()
