"""The run directory: what a trained model is on disk, how it is found, saved and loaded.

```
RUN_DIR/
  config.json          RunConfig (model, source/target text, training settings)
  source_vocab.txt     one token per line
  target_vocab.txt
  model.keras          the best model by validation loss (Keras 3 format)
  history.json         per-epoch loss/metrics
  logs/                TensorBoard logs
  backup/              BackupAndRestore state while training runs (removed when it ends)
```

An exported version directory (`saved_models/NAME/VERSION/`) holds the same four model files
next to the SavedModel, so everything that loads a run directory loads an export too.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import keras

from keras_seq2seq.config import RunConfig
from keras_seq2seq.models import Architecture, get_architecture
from keras_seq2seq.text.tokenizers import Tokenizer, tokenizer_from_vocabulary
from keras_seq2seq.text.vocabulary import load_vocabulary

CONFIG_FILE = "config.json"
SOURCE_VOCAB_FILE = "source_vocab.txt"
TARGET_VOCAB_FILE = "target_vocab.txt"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
BACKUP_DIR = "backup"
LOGS_DIR = "logs"

RUN_FILES = (CONFIG_FILE, SOURCE_VOCAB_FILE, TARGET_VOCAB_FILE, MODEL_FILE)
"""The files a model needs (and an export copies)."""


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
    numeric version is taken) or a version directory.

    Raises:
        FileNotFoundError: the path does not exist, or holds no model (names what is missing).

    Example:
    >>> resolve_run_dir("saved_models/dates")  # doctest: +SKIP
    PosixPath('saved_models/dates/1')
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Model path not found: {path}")
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path} is a file; pass the model directory (a run directory or saved_models/NAME)."
        )
    if not (path / CONFIG_FILE).exists():
        versions = sorted(
            (int(child.name), child)
            for child in path.iterdir()
            if child.is_dir() and child.name.isdigit()
        )
        if versions:
            path = versions[-1][1]
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{path} is not a model directory: missing {', '.join(missing)}. A model directory "
            f"is written by `keras-seq2seq train` or `export` and holds {', '.join(RUN_FILES)}."
        )
    return path


def save_vocabularies(run_dir: Path, source: Tokenizer, target: Tokenizer) -> None:
    """Writes the two vocabulary files of a run directory."""
    from keras_seq2seq.text.vocabulary import save_vocabulary

    save_vocabulary(source.vocabulary, run_dir / SOURCE_VOCAB_FILE)
    save_vocabulary(target.vocabulary, run_dir / TARGET_VOCAB_FILE)


def load_tokenizers(run_dir: Path, config: RunConfig) -> tuple[Tokenizer, Tokenizer]:
    """The source and target tokenizers of a run directory, checked against its config.

    Raises:
        ValueError: a vocabulary's size differs from what `config.model` expects.
    """
    tokenizers = []
    for name, text, expected in (
        (SOURCE_VOCAB_FILE, config.source_text, config.model.source_vocabulary_size),
        (TARGET_VOCAB_FILE, config.target_text, config.model.target_vocabulary_size),
    ):
        tokenizer = tokenizer_from_vocabulary(text, load_vocabulary(run_dir / name))
        if tokenizer.vocabulary_size != expected:
            raise ValueError(
                f"{run_dir / name} has {tokenizer.vocabulary_size} tokens but config.json "
                f"expects {expected}; the vocabulary does not belong to this model."
            )
        tokenizers.append(tokenizer)
    return tokenizers[0], tokenizers[1]


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
        ValueError: a file is corrupt or does not match the config (named in the message), or
            the config names an architecture that is not registered.

    Example:
    >>> load_run("saved_models/dates").model.name  # doctest: +SKIP
    'rnn'
    """
    run_dir = resolve_run_dir(path)
    config = RunConfig.load(run_dir / CONFIG_FILE)
    source, target = load_tokenizers(run_dir, config)
    architecture = get_architecture(config.model.architecture)
    try:
        training = keras.saving.load_model(run_dir / MODEL_FILE, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises several types for a damaged archive.
        raise ValueError(f"Could not load {run_dir / MODEL_FILE}: {error}") from error
    model = architecture(config.model, training).float32_copy()
    return LoadedRun(run_dir, config, model, source, target)
