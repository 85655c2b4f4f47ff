"""The names of the files in a run directory and in an exported version directory.

Every module that writes or reads one of these files takes its name from here, and
`RUN_LAYOUT` says what each holds:

```
RUN_DIR/
  config.json             RunConfig (model, source/target text, training settings)
  source_vocab.txt        one token per line
  target_vocab.txt
  source_<asset>, ...     the tokenizers' own files (a SentencePiece model ...)
  model.keras             the best model by the monitored metric (Keras 3 format)
  history.json            per-epoch loss/metrics
  training.json           what the model was trained on, how long (for the model card)
  evaluation.json         the recorded evaluation (`evaluate --record`)
  distill.json            a distilled student's teachers and settings
  distill/                the teacher pass of a distillation (outputs and progress)
  checkpoints/            the last epochs' weights (`--keep-checkpoints`), for averaging
  logs/                   TensorBoard logs
  backup/                 BackupAndRestore state while training runs (removed when it ends,
                          kept when the time budget stopped it, to train on)
  lexicon.tsv             known answers, `source<TAB>target` a line (optional)
```

An exported version directory (`saved_models/NAME/VERSION/`) holds the model files next to the
SavedModel, plus `model_card.json`; an exported ensemble holds `ensemble.json` and one
`members/N/` directory of model files per member. An export's lexicon is the SavedModel's
asset `assets/lexicon.tsv`, the one file its lookup table is read from.
"""

from __future__ import annotations

import re
from pathlib import Path

CONFIG_FILE = "config.json"
SOURCE_VOCAB_FILE = "source_vocab.txt"
TARGET_VOCAB_FILE = "target_vocab.txt"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
TRAINING_FILE = "training.json"
EVALUATION_FILE = "evaluation.json"
DISTILL_FILE = "distill.json"
DISTILL_CACHE_DIR = "distill"
TEACHER_OUTPUTS_FILE = "teacher_outputs.tsv"
TEACHER_STATE_FILE = "teacher_outputs.json"
CHECKPOINTS_DIR = "checkpoints"
LOGS_DIR = "logs"
BACKUP_DIR = "backup"
LOCK_FILE = ".lock"
MODEL_CARD_FILE = "model_card.json"
ENSEMBLE_FILE = "ensemble.json"
LEXICON_FILE = "lexicon.tsv"
LEXICON_ASSET = f"assets/{LEXICON_FILE}"
MEMBERS_DIR = "members"

RUN_LAYOUT: dict[str, str] = {
    CONFIG_FILE: "RunConfig: model, source/target text and training settings",
    SOURCE_VOCAB_FILE: "the source vocabulary, one token per line",
    TARGET_VOCAB_FILE: "the target vocabulary, one token per line",
    MODEL_FILE: "the training model (Keras 3 format): the best epoch's weights",
    HISTORY_FILE: "per-epoch loss and metrics, appended as training runs",
    TRAINING_FILE: "what the model was trained on and for how long (model card)",
    EVALUATION_FILE: "the recorded evaluation (`evaluate --record`; model card)",
    DISTILL_FILE: "a distilled student's teachers and settings (model card)",
    DISTILL_CACHE_DIR: "the teacher pass of a distillation",
    TEACHER_OUTPUTS_FILE: f"in {DISTILL_CACHE_DIR}/: the teacher's outputs, a TSV line per source",
    TEACHER_STATE_FILE: f"in {DISTILL_CACHE_DIR}/: how far the teacher pass got (to resume it)",
    CHECKPOINTS_DIR: "the last epochs' weights, `epoch-NNN.weights.h5` (for averaging)",
    LOGS_DIR: "TensorBoard logs",
    BACKUP_DIR: "BackupAndRestore state while training runs (removed when it ends, kept "
    "when the time budget stopped it)",
    LOCK_FILE: "the lock one trainer holds on the directory",
    MODEL_CARD_FILE: "in an export: the model card",
    ENSEMBLE_FILE: "in an exported ensemble: the member directories",
    MEMBERS_DIR: "in an exported ensemble: one directory of model files per member",
    LEXICON_FILE: "known answers, a `source<TAB>target` line each, looked up before decoding",
}
"""Every file and directory name of a run or version directory, with what it holds."""

RUN_FILES = (CONFIG_FILE, SOURCE_VOCAB_FILE, TARGET_VOCAB_FILE, MODEL_FILE)
"""The files every model directory holds (tokenizers may add asset files)."""

RECORD_FILES = (TRAINING_FILE, EVALUATION_FILE, DISTILL_FILE)
"""The model card's records, copied with the model files into an export (when present)."""

_CHECKPOINT_NAME = re.compile(r"^epoch-(\d+)\.weights\.h5$")


def lexicon_file(model_dir: str | Path) -> Path | None:
    """The lexicon file of a model directory: `lexicon.tsv`, or an export's `assets/lexicon.tsv`.

    Returns:
        The path, or None when the directory has no lexicon.

    Example:
    >>> lexicon_file("saved_models/cmudict-small/3")  # doctest: +SKIP
    PosixPath('saved_models/cmudict-small/3/assets/lexicon.tsv')
    """
    for name in (LEXICON_FILE, LEXICON_ASSET):
        path = Path(model_dir) / name
        if path.is_file():
            return path
    return None


def vocabulary_file(side: str) -> str:
    """The vocabulary file of `"source"` or `"target"`.

    Raises:
        ValueError: another side.

    Example:
    >>> vocabulary_file("target")
    'target_vocab.txt'
    """
    files = {"source": SOURCE_VOCAB_FILE, "target": TARGET_VOCAB_FILE}
    if side not in files:
        raise ValueError(f'`side` must be "source" or "target". Received: side={side!r}')
    return files[side]


def asset_file(side: str, asset: str) -> str:
    """The file holding a tokenizer asset of one side (`source_spm.model` ...).

    Example:
    >>> asset_file("source", "spm.model")
    'source_spm.model'
    """
    vocabulary_file(side)  # checks the side
    return f"{side}_{asset}"


def checkpoint_file(epoch: int) -> str:
    """The name of the weights kept after a (1-based) epoch, in `checkpoints/`.

    Example:
    >>> checkpoint_file(7)
    'epoch-007.weights.h5'
    """
    return f"epoch-{epoch:03d}.weights.h5"


def checkpoint_files(directory: str | Path) -> list[Path]:
    """The kept `epoch-NNN.weights.h5` files of a directory, oldest epoch first.

    Args:
        directory: str or Path. A run's `checkpoints/` (it need not exist).

    Returns:
        list of Path; empty when the directory does not exist.

    Example:
    >>> checkpoint_files("/nonexistent/checkpoints")
    []
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in directory.iterdir()
        if (match := _CHECKPOINT_NAME.match(path.name))
    ]
    return [path for _, path in sorted(found)]


def member_dir(index: int) -> str:
    """The directory of an exported ensemble's member, relative to the version directory.

    Example:
    >>> member_dir(0)
    'members/0'
    """
    return f"{MEMBERS_DIR}/{index}"
