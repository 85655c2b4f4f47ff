"""English G2P that ships: distil CMUdict students from a finished teacher, score, export.

One resumable command, run after the teacher has finished training (every stage skips work
whose output exists, so an interrupted run continues when the same command is run again):

1. averages each teacher's last N kept checkpoints into `TEACHER-avgN` (beside the teacher);
2. distils each `--student NAME:architecture:units:layers[:key=value,...]` into
   `RUNS_ROOT/NAME` with `keras_seq2seq.distill` (teacher: the averaged teacher, or the
   ensemble of the averaged teachers), on the `cmudict` train split (validation split for
   early stopping), with the `cmudict` recipe's settings and the student's model overrides,
   keeping its last N epochs, averaged into `RUNS_ROOT/NAME-avgN`;
3. scores every row (each teacher, each averaged teacher, their ensemble, each student and
   averaged student) on the `test` split, greedy and beam 4: WER (= 100 - exact match) and
   PER, as `benchmarks/g2p.py` does; with `--g2p-en-python`, words/s of every single model
   beside g2p_en's in one interleaved run of `benchmarks/peers/g2p_en_speed.py` (an averaged
   run is timed as the run it came from; `--speed-words N` times the first N words only,
   `--speed-batch-size` sets our rows' batch, default 1,024);
   without it, words/s of the evaluation; prints the markdown table (scores cached in
   `RUNS_ROOT/g2p_distill.json`, per row);
4. `--ship NAME=ROW` exports a row (its name in the table, or a model directory) into
   `SHIP_DIR/NAME/VERSION/` with `export_model`, records the test scores, words/s and CPU in
   its model card, gives it the train and validation words as its lexicon (known words are
   answered as CMUdict gives them; no test word is among them, so the test scores are the
   model's), and prints the bytes added.

A student's `units` or `layers` may be `teacher` (the first teacher's size). Extra model
settings are `key=value` pairs separated by commas (`dropout=0.2,input_feeding=true`).

Reproduce the shipped models (teacher: `python benchmarks/g2p.py --architecture transformer
--output ~/ks2s-runs/g2p-cmudict-transformer`, 40 epochs, last 5 kept):

    python benchmarks/g2p_distill.py --teacher ~/ks2s-runs/g2p-cmudict-transformer \\
        --student cmudict-small:rnn:128:1 --student cmudict:transformer:teacher:teacher \\
        --distill sequence --g2p-en-python /tmp/g2pen/bin/python \\
        --ship cmudict-small=cmudict-small-avg5 --ship cmudict=cmudict-avg5

(g2p_en lives in its own environment: `python3 -m venv /tmp/g2pen && /tmp/g2pen/bin/pip
install g2p_en==2.1.0`.) An ensemble teacher: repeat `--teacher` (same vocabularies). A third size:
`--student cmudict-medium:transformer:256:2`. Token-level: `--distill token --kd-weight 0.5`.
`--no-students` scores (and ships) the teachers alone.

The docs table's Phonetisaurus row comes from `benchmarks/peers/phonetisaurus.py` (same
split, same scorer), run on its own.

Smoke run (tiny, minutes): train a teacher with `python benchmarks/g2p.py --architecture
transformer --max-examples 300 --epochs 1 --units 32 --layers 1 --output
/tmp/g2p-smoke/teacher`, then

    python benchmarks/g2p_distill.py --teacher /tmp/g2p-smoke/teacher --max-examples 300 \\
        --epochs 1 --runs-root /tmp/g2p-smoke --student small:rnn:16:1 \\
        --student big:transformer:teacher:teacher --ship small=small-avg5 \\
        --ship-dir /tmp/g2p-smoke/saved_models
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATASET = "cmudict"
RESULTS_FILE = "g2p_distill.json"
SPEED_SCRIPT = Path(__file__).resolve().parent / "peers" / "g2p_en_speed.py"
DEFAULT_STUDENTS = ("cmudict-small:rnn:128:1", "cmudict:transformer:teacher:teacher")
G2P_EN_LABEL = "g2p_en 2.1.0"


class Student(NamedTuple):
    """One `--student` spec."""

    name: str
    architecture: str
    units: str
    layers: str
    extra: dict[str, Any]


class Row(NamedTuple):
    """One row of the table: a label and the model path(s) it decodes."""

    label: str
    paths: tuple[str, ...]
    origin: str | None = None  # the run a row was averaged from (for its records)


def parse_student(spec: str) -> Student:
    """`NAME:architecture:units:layers[:key=value,...]` → Student.

    Raises:
        argparse.ArgumentTypeError: a malformed spec.

    Example:
    >>> parse_student("small:rnn:128:1:dropout=0.2").extra
    {'dropout': 0.2}
    """
    parts = spec.split(":")
    if len(parts) not in (4, 5) or not all(parts[:4]):
        raise argparse.ArgumentTypeError(
            f"--student {spec!r}: expected NAME:architecture:units:layers[:key=value,...], "
            "e.g. cmudict-small:rnn:128:1 (units/layers may be `teacher`)."
        )
    for field, value in (("units", parts[2]), ("layers", parts[3])):
        if value != "teacher" and not value.isdigit():
            raise argparse.ArgumentTypeError(
                f"--student {spec!r}: {field} must be a positive integer or `teacher`."
            )
    extra = {}
    for item in filter(None, (parts[4] if len(parts) == 5 else "").split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(
                f"--student {spec!r}: extra settings are key=value pairs; got {item!r}."
            )
        try:
            extra[key] = json.loads(value)
        except json.JSONDecodeError:
            extra[key] = value
    return Student(parts[0], parts[1], parts[2], parts[3], extra)


def parse_ship(spec: str) -> tuple[str, str]:
    """`NAME=ROW` → (NAME, ROW).

    Raises:
        argparse.ArgumentTypeError: a malformed spec.

    Example:
    >>> parse_ship("cmudict-small=cmudict-small-avg5")
    ('cmudict-small', 'cmudict-small-avg5')
    """
    name, sep, row = spec.partition("=")
    if not sep or not name or not row or "/" in name:
        raise argparse.ArgumentTypeError(
            f"--ship {spec!r}: expected NAME=ROW (a row of the table or a model directory), "
            "e.g. cmudict-small=cmudict-small-avg5."
        )
    return name, row


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--teacher", action="append", required=True, help="finished teacher run (repeatable)")
    add("--student", action="append", type=parse_student, help="NAME:arch:units:layers[:k=v]")
    add("--no-students", action="store_true", help="score (and ship) the teachers only")
    add("--distill", default="sequence", choices=("sequence", "token", "both"))
    add("--kd-weight", type=float, default=0.5, help="token-level KL weight (token, both)")
    add("--teacher-beam-width", type=int, default=4, help="beam of the teacher pass")
    add("--keep-references", action="store_true", help="sequence: train on references too")
    add("--average", type=int, default=5, help="average the last N epochs (0 = off)")
    add("--runs-root", type=Path, default=Path.home() / "ks2s-runs" / "g2p-distill")
    add("--beam-width", type=int, default=4, help="the beam rows' width (default 4)")
    add("--g2p-en-python", help="python of a g2p_en 2.1.0 environment: adds words/s")
    add("--repeats", type=int, default=3, help="speed runs (with --g2p-en-python)")
    add("--speed-words", type=int, help="time only the first N test words (default: all)")
    add("--speed-batch-size", type=int, default=1024, help="our words a batch in the speed run")
    add("--ship", action="append", default=[], type=parse_ship, help="NAME=ROW (repeatable)")
    add("--ship-dir", type=Path, default=Path("saved_models"), help="where --ship exports")
    add("--max-examples", type=int, help="smoke: at most N pairs of each split")
    add("--epochs", type=int, help="override the recipe's epochs (smoke: 1)")
    add("--allow-unfinished-teacher", action="store_true", help="average a running teacher")
    return parser


def check_teachers(paths: list[str], allow_unfinished: bool) -> list[Path]:
    """The teacher run directories, checked to be finished trainings.

    A run its time budget stopped (`training.json` says `"resumable"`) counts as finished: it
    is a complete training call, which the same command may later train on.

    Raises:
        SystemExit: a teacher is missing, still training or interrupted.
    """
    from keras_seq2seq.errors import RunDirectoryBusyError
    from keras_seq2seq.run_layout import BACKUP_DIR, CONFIG_FILE, TRAINING_FILE
    from keras_seq2seq.training.run_dir import training_lock

    teachers = [Path(path).expanduser() for path in paths]
    for teacher in teachers:
        if not (teacher / CONFIG_FILE).is_file():
            sys.exit(f"--teacher {teacher}: no {CONFIG_FILE}; give a trained run directory.")
        try:
            with training_lock(teacher):
                busy = False
        except RunDirectoryBusyError:
            busy = True
        record_file = teacher / TRAINING_FILE
        record = {}
        if record_file.is_file():
            record = json.loads(record_file.read_text(encoding="utf-8"))
        interrupted = (teacher / BACKUP_DIR).is_dir() and not record.get("resumable")
        if (busy or not record or interrupted) and not allow_unfinished:
            sys.exit(
                f"--teacher {teacher} has not finished training (a process is training it, "
                f"or it has no {TRAINING_FILE}, or {BACKUP_DIR}/ from an interrupted epoch): "
                "wait for it, or pass --allow-unfinished-teacher."
            )
    if len(set(teachers)) < len(teachers):
        sys.exit(f"--teacher names a run twice: {paths}")
    return teachers


def average_teacher(teacher: Path, last: int) -> Path:
    """Stage 1: `TEACHER-avgN` from the teacher's last `last` checkpoints (kept if there)."""
    from keras_seq2seq.run_layout import CHECKPOINTS_DIR, MODEL_FILE, checkpoint_files
    from keras_seq2seq.training.averaging import average_checkpoints

    averaged = teacher.with_name(f"{teacher.name}-avg{last}")
    kept_files = checkpoint_files(teacher / CHECKPOINTS_DIR)
    kept = len(kept_files)
    wanted = [path.name for path in kept_files[-last:]]
    if (averaged / MODEL_FILE).is_file():
        if averaged_from(averaged) == wanted:
            print(f"[average] {averaged} exists: kept")
            return averaged
        # The teacher trained on since: average its last checkpoints again.
        print(f"[average] {averaged} averages {averaged_from(averaged)}, not {wanted}: redone")
        shutil.rmtree(averaged)
    if kept == 0:
        sys.exit(f"{teacher} kept no checkpoints: train it with --keep-checkpoints N.")
    print(f"[average] {teacher}: the last {min(last, kept)} of {kept} checkpoints → {averaged}")
    average_checkpoints(teacher, averaged, last=min(last, kept))
    return averaged


def averaged_from(averaged: Path) -> list[str] | None:
    """The checkpoint names an averaged run was made from (its `training.json`), or None."""
    from keras_seq2seq.run_layout import TRAINING_FILE

    try:
        record = json.loads((averaged / TRAINING_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return record.get("averaged_checkpoints")


def model_fingerprint(paths: tuple[str, ...]) -> list[list]:
    """Each model's `model.keras` size and modification time: a changed model is scored again."""
    from keras_seq2seq.run_layout import MODEL_FILE

    stats = [(Path(path) / MODEL_FILE).stat() for path in paths]
    return [[path, stat.st_size, stat.st_mtime_ns] for path, stat in zip(paths, stats, strict=True)]


def student_settings(student: Student, teacher: Path, args) -> Any:
    """The cmudict recipe's Settings with the student's model overrides.

    A student of the teacher's architecture with `teacher` units and layers also takes the
    teacher's other model options (heads, feed-forward width, dropout).
    """
    from keras_seq2seq.config import RunConfig
    from keras_seq2seq.run_layout import CONFIG_FILE

    teacher_model = RunConfig.load(teacher / CONFIG_FILE).model
    units = teacher_model.units if student.units == "teacher" else int(student.units)
    layers = teacher_model.num_layers if student.layers == "teacher" else int(student.layers)
    from keras_seq2seq.training.recipes import resolve_settings

    model = {"architecture": student.architecture, "units": units, "num_layers": layers}
    same = student.architecture == teacher_model.architecture
    if same and student.units == student.layers == "teacher":  # the teacher's shape throughout
        model.update(teacher_model.options, dropout=teacher_model.dropout)
    return resolve_settings(
        DATASET,
        {"model": {**model, **student.extra}, "train": {"epochs": args.epochs}},
    )


def train_student(student: Student, teachers: list[Path], data, args) -> Path:
    """Stage 2: distils one student into `RUNS_ROOT/NAME` (skipped when finished)."""
    from keras_seq2seq.run_layout import BACKUP_DIR, TRAINING_FILE
    from keras_seq2seq.training.distill import distill

    run_dir = args.runs_root / student.name
    if (run_dir / TRAINING_FILE).is_file() and not (run_dir / BACKUP_DIR).is_dir():
        print(f"[distill] {run_dir} has finished: kept")
        return run_dir
    settings = student_settings(student, teachers[0], args)
    sequence = args.distill == "sequence"  # token-level students take the teacher's text
    print(f"[distill] {student.name}: {args.distill}-level from {[str(t) for t in teachers]}")
    result = distill(
        [str(t) for t in teachers],
        data["train"],
        run_dir,
        mode=args.distill,
        kd_weight=args.kd_weight,
        teacher_beam_width=args.teacher_beam_width,
        keep_references=args.keep_references,
        validation_pairs=data["validation"],
        model_options=settings.model_options,
        source_text=settings.source_text if sequence else None,
        target_text=settings.target_text if sequence else None,
        train_config=dataclasses.replace(settings.train, keep_checkpoints=args.average),
        verbose=2,
        data_source=DATASET,
    )
    print(f"[distill] {student.name}: {len(result.history.get('loss', []))} epochs")
    return run_dir


def average_student(run_dir: Path, last: int) -> Path | None:
    """The student's averaged run `NAME-avgN`, or None without kept checkpoints."""
    from keras_seq2seq.run_layout import CHECKPOINTS_DIR, checkpoint_files

    if last <= 0 or not checkpoint_files(run_dir / CHECKPOINTS_DIR):
        return None
    return average_teacher(run_dir, last)


def collect_rows(teachers: list[Path], averaged: list[Path], students: list, args) -> list[Row]:
    """Every row of the table, in order: teachers, their ensemble, students."""
    rows = []
    for i, (teacher, avg) in enumerate(zip(teachers, averaged, strict=True)):
        name = "teacher" if len(teachers) == 1 else f"teacher {i + 1}"
        rows.append(Row(name, (str(teacher),)))
        if avg != teacher:
            rows.append(Row(f"{name} avg{args.average}", (str(avg),), str(teacher)))
    if len(teachers) > 1:
        rows.append(Row(f"ensemble of {len(teachers)}", tuple(str(a) for a in averaged)))
    for student, (run_dir, avg) in zip(args.student, students, strict=True):
        rows.append(Row(student.name, (str(run_dir),)))
        if avg is not None:
            rows.append(Row(f"{student.name}-avg{args.average}", (str(avg),), str(run_dir)))
    return rows


def load_results(args) -> dict[str, Any]:
    """The cached results of this runs root; emptied when made with another --max-examples."""
    path = args.runs_root / RESULTS_FILE
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    setup = {"max_examples": args.max_examples, "beam_width": args.beam_width}
    if results.get("setup") != setup:
        results = {"setup": setup}
    results.setdefault("rows", {})
    return results


def save_results(results: dict[str, Any], args) -> None:
    from keras_seq2seq.atomic_write import write_json

    args.runs_root.mkdir(parents=True, exist_ok=True)
    write_json(args.runs_root / RESULTS_FILE, results)


def score_row(row: Row, test, args) -> dict[str, Any]:
    """Stage 3: WER/PER and words/s of one row, greedy and beam (as benchmarks/g2p.py)."""
    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.evaluation.evaluate import evaluate

    model = load(list(row.paths)) if len(row.paths) > 1 else row.paths[0]
    scores = {"paths": list(row.paths), "models": model_fingerprint(row.paths)}
    for width in (1, args.beam_width):
        report = evaluate(
            model, test, beam_width=width, progress=False,
            metrics=("exact_match", "token_error_rate"),
        )  # fmt: skip
        scores["greedy" if width == 1 else "beam"] = {
            "wer": report["sequence_error_rate"],
            "per": report["token_error_rate"],
            "words_per_second": report["sentences_per_second"],
            "num_examples": report["num_examples"],
            "num_references": report["num_references"],
        }
    return scores


def score_rows(rows: list[Row], test, results: dict[str, Any], args) -> None:
    """Scores the rows not cached yet (cached per row label and model files)."""
    for row in rows:
        cached = results["rows"].get(row.label)
        if cached and cached.get("models") == model_fingerprint(row.paths):
            continue
        print(f"[evaluate] {row.label} ({', '.join(row.paths)})", flush=True)
        results["rows"][row.label] = score_row(row, test, args)
        save_results(results, args)


SPEED_ROW = re.compile(
    r"^\| (?P<label>.+?) \| (?P<rate>[\d,]+) \| [^|]* \| (?P<ratio>[\d.]+)x \| "
    r"(?P<wer>[\d.]+) \| (?P<per>[\d.]+) \|$"
)
SPEED_LABEL = re.compile(r"\((?P<path>.+)\), (?P<search>greedy|beam \d+), batch \d+$")


def parse_speed_table(text: str) -> dict[str, Any]:
    """The rows of g2p_en_speed.py's table: `{path: {"greedy": rate, "beam": rate}}` and g2p_en.

    Example:
    >>> parse_speed_table("| g2p_en 2.1.0 (numpy) | 1,000 | 1 | 1.0x | 9.0 | 2.0 |")
    {'g2p_en': {'words_per_second': 1000.0, 'wer': 9.0, 'per': 2.0}}
    """
    speeds: dict[str, Any] = {}
    for line in text.splitlines():
        match = SPEED_ROW.match(line.strip())
        if not match:
            continue
        rate = float(match["rate"].replace(",", ""))
        if match["label"].startswith(G2P_EN_LABEL):
            speeds["g2p_en"] = {
                "words_per_second": rate, "wer": float(match["wer"]), "per": float(match["per"])
            }  # fmt: skip
            continue
        label = SPEED_LABEL.search(match["label"])
        if label:
            search = "greedy" if label["search"] == "greedy" else "beam"
            speeds.setdefault(label["path"], {})[search] = rate
    return speeds


def measure_speed(rows: list[Row], results: dict[str, Any], args) -> None:
    """Words/s of every single-model row beside g2p_en's, from one interleaved run."""
    # An averaged run decodes at the speed of the run it was averaged from: timed once.
    paths = [row.paths[0] for row in rows if len(row.paths) == 1 and row.origin is None]
    cached = results.get("speed")
    setup = {"models": model_fingerprint(tuple(paths)), "words": args.speed_words}
    setup["repeats"] = args.repeats
    setup["batch_size"] = args.speed_batch_size
    if cached and cached.get("setup") == setup and cached.get("g2p_en"):
        return
    command = [sys.executable, str(SPEED_SCRIPT), "--g2p-en-python", args.g2p_en_python]
    command += ["--beam-width", str(args.beam_width), "--repeats", str(args.repeats)]
    command += ["--batch-size", str(args.speed_batch_size)]
    if args.speed_words or args.max_examples:
        command += ["--num-words", str(args.speed_words or args.max_examples)]
    for path in paths:
        command += ["--model", path]
    print(f"[speed] {' '.join(command)}", flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    print(done.stdout)
    if done.returncode != 0:
        sys.exit(f"g2p_en_speed.py failed:\n{done.stderr[-2000:]}")
    speeds = parse_speed_table(done.stdout)
    results["speed"] = {"setup": setup, "g2p_en": speeds.pop("g2p_en", None), "rows": speeds}
    save_results(results, args)


def row_speed(row: Row, results: dict[str, Any], search: str) -> tuple[float, str]:
    """(words/s, where from): g2p_en_speed.py's interleaved run, else the evaluation's."""
    speed = results.get("speed") or {}
    measured = speed.get("rows", {}).get(row.origin or row.paths[0], {}).get(search)
    if len(row.paths) == 1 and measured is not None:
        return measured, "g2p_en_speed.py"
    return results["rows"][row.label][search]["words_per_second"], "evaluate"


def describe_model(row: Row) -> str:
    """`transformer 256x3` (an ensemble: its members)."""
    from keras_seq2seq.config import RunConfig
    from keras_seq2seq.run_layout import CONFIG_FILE

    sizes = []
    for path in row.paths:
        model = RunConfig.load(Path(path) / CONFIG_FILE).model
        sizes.append(f"{model.architecture} {model.units}x{model.num_layers}")
    return " + ".join(sizes)


def print_table(rows: list[Row], results: dict[str, Any], args) -> None:
    """The markdown table of every row, plus g2p_en when measured."""
    first = results["rows"][rows[0].label]["greedy"]
    speed = results.get("speed") or {}
    g2p_en = speed.get("g2p_en")
    base = g2p_en["words_per_second"] if g2p_en else None
    print(
        f"\n{DATASET} test split: {first['num_examples']} words ({first['num_references']} "
        f"references); words/s from "
        + (
            f"one interleaved g2p_en_speed.py run (batch {args.speed_batch_size})"
            if base
            else "evaluate (batch 256)"
        )
        + "; WER = 100 - exact match"
    )
    beam = f"beam {args.beam_width}"
    print(f"| row | model | WER % greedy | PER % greedy | WER % {beam} | PER % {beam} | "
          f"words/s greedy | words/s {beam} | greedy vs g2p_en |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        scores = results["rows"][row.label]
        greedy, _ = row_speed(row, results, "greedy")
        beamed, _ = row_speed(row, results, "beam")
        ratio = f"{greedy / base:.1f}x" if base else "-"
        print(
            f"| {row.label} | {describe_model(row)} | {scores['greedy']['wer']:.1f} | "
            f"{scores['greedy']['per']:.1f} | {scores['beam']['wer']:.1f} | "
            f"{scores['beam']['per']:.1f} | {greedy:,.0f} | {beamed:,.0f} | {ratio} |"
        )
    if g2p_en:
        print(
            f"| g2p_en 2.1.0 (saw these words in training) | GRU 256, numpy | "
            f"{g2p_en['wer']:.1f} | {g2p_en['per']:.1f} | - | - | {base:,.0f} | - | 1.0x |"
        )


def find_row(rows: list[Row], wanted: str) -> Row:
    """The row named `wanted`, or a row made of the model directory `wanted`."""
    for row in rows:
        if wanted in (row.label, *row.paths):
            return row
    if Path(wanted).expanduser().is_dir():
        return Row(Path(wanted).name, (str(Path(wanted).expanduser()),))
    sys.exit(f"--ship: {wanted!r} is neither a row ({[r.label for r in rows]}) nor a directory.")


def ship_record(row: Row, results: dict[str, Any], args) -> dict[str, Any]:
    """The evaluation a shipped model's card shows: test scores, words/s, the CPU."""
    from serving_batch import cpu_name  # a sibling benchmark script; it imports TensorFlow

    scores = results["rows"][row.label]
    record: dict[str, Any] = {"dataset": f"{DATASET} test split (stress removed)"}
    for search in ("greedy", "beam"):
        rate, source = row_speed(row, results, search)
        batch = args.speed_batch_size if source == "g2p_en_speed.py" else 256
        record[search] = {
            **scores[search], "words_per_second": rate, "words_per_second_from": source,
            "batch_size": batch,
        }  # fmt: skip
    record.update(
        beam_width=args.beam_width, cpu=cpu_name(), cpu_cores=os.cpu_count(),
        exact_match=100 - scores["greedy"]["wer"], sequence_error_rate=scores["greedy"]["wer"],
        token_error_rate=scores["greedy"]["per"], num_examples=scores["greedy"]["num_examples"],
    )  # fmt: skip
    g2p_en = (results.get("speed") or {}).get("g2p_en")
    if g2p_en:
        record["g2p_en_words_per_second"] = g2p_en["words_per_second"]
    return record


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def ship(
    name: str, row: Row, results: dict[str, Any], args, lexicon: list[tuple[str, str]]
) -> None:
    """Stage 4: exports one row into `SHIP_DIR/NAME/VERSION/` with its scores in the card.

    The export's lexicon holds `lexicon` (the train and validation words with their first
    pronunciation): those words are answered as CMUdict gives them, the others decoded.
    """
    from keras_seq2seq.atomic_write import write_json
    from keras_seq2seq.run_layout import DISTILL_FILE, EVALUATION_FILE
    from keras_seq2seq.serving.export import export_model

    shipped = results.setdefault("shipped", {})
    done = shipped.get(name)
    fresh = done and done.get("models") == model_fingerprint(row.paths)
    if fresh and Path(done["version_dir"]).is_dir():
        print(f"[ship] {name}: {done['version_dir']} exists ({done['bytes']:,} bytes): kept")
        return
    if len(row.paths) > 1:
        sys.exit(f"--ship {name}: {row.label} is an ensemble; ship a single model.")
    run_dir = Path(row.paths[0])
    # The records go into the run first, so that the export copies them and writes its model
    # card from them once, before it is published.
    write_json(run_dir / EVALUATION_FILE, ship_record(row, results, args))
    source_run = Path(row.origin or run_dir)
    if source_run != run_dir and (source_run / DISTILL_FILE).is_file():  # names the teachers
        shutil.copy2(source_run / DISTILL_FILE, run_dir / DISTILL_FILE)
    version_dir = export_model(run_dir, args.ship_dir / name, lexicon=lexicon)
    added = directory_bytes(version_dir)
    shipped[name] = {"paths": list(row.paths), "models": model_fingerprint(row.paths)}
    shipped[name].update(version_dir=str(version_dir), bytes=added)
    save_results(results, args)
    print(f"[ship] {name}: {row.label} → {version_dir}, {added:,} bytes added")


def load_data(args) -> dict[str, list[tuple[str, str]]]:
    from keras_seq2seq.training.recipes import load_pairs

    return {
        split: load_pairs(DATASET, split, max_examples=args.max_examples)
        for split in ("train", "validation", "test")
    }


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.no_students and args.student:
        parser.error("--no-students and --student exclude each other: give one of them")
    if args.no_students:
        args.student = []
    else:
        args.student = args.student or [parse_student(spec) for spec in DEFAULT_STUDENTS]
    args.runs_root = args.runs_root.expanduser()
    names = [s.name for s in args.student]
    if len(set(names)) < len(names):
        parser.error(f"--student names must differ: {names}")
    if args.average < 0:
        parser.error("--average must be >= 0 (0 = no checkpoint averaging)")
    teachers = check_teachers(args.teacher, args.allow_unfinished_teacher)
    from keras_seq2seq.training.cpu import configure_for_cpu_training

    configure_for_cpu_training()  # before TensorFlow runs anything
    averaged = [average_teacher(t, args.average) if args.average else t for t in teachers]
    data = load_data(args)
    students = []
    for student in args.student:
        run_dir = train_student(student, averaged, data, args)
        students.append((run_dir, average_student(run_dir, args.average)))
    rows = collect_rows(teachers, averaged, students, args)
    ships = [(name, find_row(rows, wanted)) for name, wanted in args.ship]
    rows += [row for _, row in ships if row not in rows]  # a model directory given to --ship
    results = load_results(args)
    score_rows(rows, data["test"], results, args)
    if args.g2p_en_python:
        measure_speed(rows, results, args)
    print_table(rows, results, args)
    known = data["train"] + data["validation"]  # never a test word (the split is by word)
    for name, row in ships:
        ship(name, row, results, args, known)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
