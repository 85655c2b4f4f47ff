"""Knowledge distillation: train a student model from one teacher or an ensemble of them.

Three modes:

- `"sequence"` (sequence-level, Kim & Rush 2016): the teacher beam-decodes the training
  sources once (`keras_seq2seq.training.teacher_pass`, cached in `RUN_DIR/distill/`) and the
  student is trained by `train` on (source, teacher output) pairs, optionally beside the
  references. Empty or refused teacher outputs are dropped and counted.
- `"token"` (token-level): the student is trained on the references with a loss that mixes
  cross-entropy with the KL divergence to the teacher's per-step distribution, the teacher
  run by teacher forcing in every training step
  (`keras_seq2seq.training.distill_loss.DistillationModel`). The student takes the
  teacher's vocabularies and text settings.
- `"both"`: the token-level loss on the teacher's outputs.

The student's run directory is a run directory like `train`'s, plus `distill.json` (the
teachers and the settings, shown by the model card) and `distill/` (the teacher's outputs).
Running the same call again resumes: the teacher pass from its last complete chunk (or not
at all when it finished), the student from its last epoch backup.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from keras_seq2seq.atomic_write import write_json
from keras_seq2seq.config import RunConfig, TextConfig, TrainConfig
from keras_seq2seq.data.pipeline import split_pairs
from keras_seq2seq.decoding.translator import Translator, check_ensemble
from keras_seq2seq.errors import RefusalWarning
from keras_seq2seq.models import Ensemble
from keras_seq2seq.models.copying import check_token_level_student
from keras_seq2seq.modes import DISTILL_MODES
from keras_seq2seq.progress import Progress
from keras_seq2seq.run_layout import DISTILL_CACHE_DIR, DISTILL_FILE
from keras_seq2seq.training import distribute
from keras_seq2seq.training.distill_loss import DistillationModel, Teacher, check_kd_weight
from keras_seq2seq.training.fit import SHARED_TEXT_SETTINGS, _checked_verbosity, train
from keras_seq2seq.training.run_dir import (
    LoadedRun,
    load_run,
    resolve_model_dirs,
    training_lock,
)
from keras_seq2seq.training.teacher_pass import (
    TeacherPass,
    check_sources,
    run_teacher_pass,
)
from keras_seq2seq.validation import check_int

MODES = DISTILL_MODES
"""Distillation modes: sequence-level, token-level, or the token-level loss on the
teacher's outputs."""

VOCABULARY_SETTINGS = (*SHARED_TEXT_SETTINGS, "shared_vocabulary")
"""TextConfig settings that make the vocabulary: a token-level student must have the teacher's."""


class DistillResult(NamedTuple):
    """What `distill` returns: `train`'s result plus the teacher pass.

    Attributes:
        run_dir: Path. The student's run directory.
        config: RunConfig. The student's config.
        history: dict of per-epoch values.
        num_train_examples: int. Pairs the student was trained on.
        num_validation_examples: int. Validation pairs (references).
        teachers: list of Path. The teachers' model directories.
        teacher_pass: TeacherPass or None (token-level mode decodes nothing).
    """

    run_dir: Path
    config: RunConfig
    history: dict[str, list[float]]
    num_train_examples: int
    num_validation_examples: int
    teachers: list[Path]
    teacher_pass: TeacherPass | None


def check_teacher_paths(teachers: str | Path | Sequence[str | Path]) -> list[str | Path]:
    """The teacher paths as a list, checked to exist (before any work starts).

    Raises:
        FileNotFoundError: a teacher is not there.
        ValueError: no teacher.

    Example:
    >>> check_teacher_paths("runs/nothing")
    Traceback (most recent call last):
    FileNotFoundError: Teacher not found: runs/nothing. A teacher is the run directory of a trained model (or an exported model).
    """  # noqa: E501
    paths = [teachers] if isinstance(teachers, (str, Path)) else list(teachers)
    if not paths:
        raise ValueError("Give at least one teacher: the run directory of a trained model.")
    for path in paths:
        if not Path(path).exists():
            raise FileNotFoundError(
                f"Teacher not found: {path}. A teacher is the run directory of a trained model "
                "(or an exported model)."
            )
    return paths


def load_teachers(teachers: str | Path | Sequence[str | Path], output_dir: Path) -> list:
    """Loads the teacher models (an exported ensemble gives its members).

    Args:
        teachers: a model directory, or several (one ensemble teacher).
        output_dir: Path. The student's run directory, which must not be a teacher's.

    Returns:
        list of LoadedRun.

    Raises:
        FileNotFoundError: a teacher is not there, or is not a model directory.
        ValueError: no teacher, the teachers' vocabularies or tokenizers differ, or the
            output directory is a teacher's.

    Example:
    >>> [run.run_dir for run in load_teachers(["runs/a"], Path("runs/student"))]
    ... # doctest: +SKIP
    [PosixPath('runs/a')]
    """
    runs: list[LoadedRun] = []
    for path in check_teacher_paths(teachers):
        runs += [load_run(member) for member in resolve_model_dirs(path)]
    for run in runs:
        if run.run_dir.resolve() == output_dir.resolve():
            raise ValueError(
                f"The output directory {output_dir} is the teacher {run.run_dir}: training the "
                "student there would overwrite the teacher. Pick another output directory."
            )
    if len(runs) > 1:
        try:
            check_ensemble(runs)
        except ValueError as error:
            raise ValueError(f"Several teachers are decoded as one ensemble. {error}") from None
    return runs


def _teacher_translator(runs: Sequence[LoadedRun]) -> Translator:
    first = runs[0]
    model = first.model if len(runs) == 1 else Ensemble([run.model for run in runs])
    return Translator(model, first.source_tokenizer, first.target_tokenizer, first.config)


def _student_text(
    mode: str, teacher: RunConfig, source_text: TextConfig | None, target_text: TextConfig | None
) -> tuple[TextConfig, TextConfig]:
    """The student's text settings: the teacher's where not given (token-level: checked)."""
    texts = []
    for side, given in (("source", source_text), ("target", target_text)):
        theirs = getattr(teacher, f"{side}_text")
        if given is None:
            texts.append(theirs)
            continue
        if mode != "sequence":
            for name in VOCABULARY_SETTINGS:
                if getattr(given, name) != getattr(theirs, name):
                    raise ValueError(
                        f"Token-level distillation trains the student on the teacher's "
                        f"vocabularies, so the {side} `{name}` must be the teacher's "
                        f"({getattr(theirs, name)!r}). Received: {getattr(given, name)!r}. "
                        f"Leave the {side} text settings out to take the teacher's."
                    )
        texts.append(given)
    return texts[0], texts[1]


def _check_settings(mode: str, kd_weight: float, beam_width: int, model_options) -> float:
    if mode not in MODES:
        raise ValueError(
            f"`mode` must be one of {', '.join(MODES)}: sequence-level (the teacher's outputs as "
            "targets), token-level (a KL term to the teacher's distribution in the loss) or "
            f"both. Received: mode={mode!r}"
        )
    kd_weight = check_kd_weight(kd_weight)
    check_int("teacher_beam_width", beam_width)
    check_token_level_student(model_options, mode)
    return kd_weight


class _Plan(NamedTuple):
    """The checked settings of a distillation."""

    mode: str
    kd_weight: float
    beam_width: int
    keep_references: bool


def _student_pairs(
    plan: _Plan, runs, train_pairs, write_dir: Path, report: Progress, batch_size: int
) -> tuple[list[tuple[str, str]], TeacherPass | None]:
    """The student's training pairs: references, or teacher outputs (plus references)."""
    if plan.mode == "token":
        return list(train_pairs), None
    sources = list(dict.fromkeys(source for source, _ in train_pairs))
    check_sources(sources)
    key = {"teachers": [str(run.run_dir.resolve()) for run in runs]}
    with training_lock(write_dir / DISTILL_CACHE_DIR):  # one teacher pass per cache at a time
        result = run_teacher_pass(
            _teacher_translator(runs), sources, write_dir / DISTILL_CACHE_DIR, key,
            beam_width=plan.beam_width, batch_size=batch_size, report=report,
        )  # fmt: skip
    if result.refused:
        warnings.warn(
            RefusalWarning(
                f"{result.refused} of {len(sources)} teacher outputs were empty or refused and "
                "were left out of the student's training pairs.",
                result.refused,
            ),
            stacklevel=3,
        )
    best = dict(zip(sources, result.outputs, strict=True))
    pairs = [(source, best[source]) for source, _ in train_pairs if best[source]]
    if plan.keep_references:
        pairs += list(train_pairs)
    if not pairs:
        raise ValueError(
            "The teacher refused or left empty every training source, so the student has "
            "nothing to learn from: check the teachers (keras-seq2seq evaluate), or keep the "
            "references (keep_references=True)."
        )
    return pairs, result


def _describe_teacher(run: LoadedRun) -> dict[str, Any]:
    model = run.config.model
    return {
        "path": str(run.run_dir),
        "architecture": model.architecture,
        "units": model.units,
        "num_layers": model.num_layers,
        "parameters": int(run.model.training.count_params()),
    }


def _record(write_dir: Path, runs, plan: _Plan, result: TeacherPass | None, pairs) -> None:
    """Writes `distill.json`: the teachers, the settings and the teacher pass."""
    record: dict[str, Any] = {
        "mode": plan.mode,
        "teachers": [_describe_teacher(run) for run in runs],
        "kd_weight": plan.kd_weight if plan.mode != "sequence" else None,
        "teacher_beam_width": plan.beam_width if plan.mode != "token" else None,
        "keep_references": plan.keep_references,
        "student_pairs": len(pairs),
        "teacher_outputs": None,
    }
    if result is not None:
        record["teacher_outputs"] = {
            "file": str(result.path.relative_to(write_dir)),
            "sources": len(result.outputs),
            "refused": result.refused,
            "seconds": round(result.seconds, 1),
        }
    write_dir.mkdir(parents=True, exist_ok=True)
    write_json(write_dir / DISTILL_FILE, record)


def distill(
    teachers: str | Path | Sequence[str | Path],
    train_pairs: Sequence[tuple[str, str]],
    output_dir: str | Path,
    *,
    mode: str = "sequence",
    kd_weight: float = 0.5,
    teacher_beam_width: int = 4,
    keep_references: bool = False,
    validation_pairs: Sequence[tuple[str, str]] | None = None,
    model_options: dict[str, Any] | None = None,
    source_text: TextConfig | None = None,
    target_text: TextConfig | None = None,
    train_config: TrainConfig | None = None,
    verbose: int | str = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    strategy: str | tf.distribute.Strategy = "default",
    data_source: str | None = None,
    teacher_batch_size: int = 256,
) -> DistillResult:
    """Trains a student model from a teacher (or an ensemble of teachers) into a run directory.

    Args:
        teachers: str or Path, or a sequence of them. The teacher's model directory (a run
            directory or an export); several are one ensemble teacher, of any architectures,
            with the same vocabularies.
        train_pairs: sequence of (source, reference) strings.
        output_dir: str or Path. The student's run directory (created if needed).
        mode: str. `"sequence"`: train on the teacher's beam outputs for the training
            sources; `"token"`: train on the references with `kd_weight` of the loss on the
            KL divergence to the teacher's per-step distribution; `"both"`: the token-level
            loss on the teacher's outputs. Defaults to `"sequence"`.
        kd_weight: float in [0, 1]. Token-level modes: the loss is `(1 - kd_weight)` times
            the cross-entropy plus `kd_weight` times the KL divergence. Defaults to `0.5`.
        teacher_beam_width: int. Beam width of the teacher pass (sequence, both). Defaults
            to `4`.
        keep_references: bool. Sequence, both: train on the references too, beside the
            teacher's outputs. Defaults to `False`.
        validation_pairs: sequence of (source, reference) or None. What picks the best epoch
            (references, not decoded by the teacher). When None, a
            `train_config.validation_fraction` part of `train_pairs` is held out (by seed).
        model_options: dict. The student's `ModelConfig` settings, as for `train`.
        source_text: TextConfig or None. The student's source side. Defaults to the
            teacher's; token-level modes need the teacher's vocabulary settings.
        target_text: TextConfig or None. As `source_text`, for the target side.
        train_config: TrainConfig. Defaults to `TrainConfig()`.
        verbose: int or "auto". As for `train`; `0` also silences the teacher pass.
        callbacks: extra Keras callbacks, as for `train`.
        strategy: str or tf.distribute.Strategy. As for `train`.
        data_source: str or None. Where the pairs came from, for the model card.
        teacher_batch_size: int. Sources the teacher decodes together. Defaults to `256`.

    Returns:
        DistillResult.

    Raises:
        FileNotFoundError: a teacher is missing.
        TypeError: an option of the wrong type.
        ValueError: an unknown mode, `kd_weight` outside [0, 1], teachers with different
            vocabularies, a token-level student with copy attention or other vocabulary
            settings than the teacher's, a teacher cache made for another distillation in
            `output_dir`, or what `train` refuses.

    Example:
    >>> import keras_seq2seq as ks
    >>> result = ks.distill("runs/teacher", pairs, "runs/student", mode="sequence",
    ...                     model_options={"units": 64})  # doctest: +SKIP
    >>> result.teacher_pass.refused  # doctest: +SKIP
    0
    """
    verbose = _checked_verbosity(verbose)
    strategy = distribute.get_strategy(strategy)  # before TensorFlow runs (multi-worker)
    kd_weight = _check_settings(mode, kd_weight, teacher_beam_width, model_options)
    check_int("teacher_batch_size", teacher_batch_size)
    plan = _Plan(mode, kd_weight, teacher_beam_width, bool(keep_references))
    train_config = train_config or TrainConfig()
    if len(train_pairs) == 0:
        raise ValueError("No training pairs: the dataset is empty.")
    run_dir = Path(output_dir)
    write_dir = distribute.worker_dir(run_dir, strategy)
    runs = load_teachers(teachers, run_dir)
    source_text, target_text = _student_text(mode, runs[0].config, source_text, target_text)
    if validation_pairs is None:
        train_pairs, validation_pairs = split_pairs(
            train_pairs, train_config.validation_fraction, seed=train_config.seed
        )
    report = Progress(enabled=verbose != 0)
    pairs, teacher_pass = _student_pairs(
        plan, runs, train_pairs, write_dir, report, teacher_batch_size
    )
    _record(write_dir, runs, plan, teacher_pass, pairs)
    token_level = {}
    if mode != "sequence":
        teacher = Teacher([run.model for run in runs])
        token_level = {
            "tokenizers": (runs[0].source_tokenizer, runs[0].target_tokenizer),
            "wrap_model": lambda training: DistillationModel(training, teacher, kd_weight),
        }
    result = train(
        pairs, run_dir, validation_pairs=validation_pairs, model_options=model_options,
        source_text=source_text, target_text=target_text, train_config=train_config,
        verbose=verbose, callbacks=callbacks, strategy=strategy, data_source=data_source,
        **token_level,
    )  # fmt: skip
    return DistillResult(*result, teachers=[run.run_dir for run in runs], teacher_pass=teacher_pass)
