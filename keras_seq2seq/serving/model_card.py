"""Model cards: what a trained model is, what it was trained on, and how well it did.

`model_card(path)` gathers, for a run or export directory: the architecture and its sizes,
the parameter count, both vocabularies and tokenizers, the training data (pairs, the dataset
name or file and a SHA-256 of the pairs), the training time and epochs (`training.json`,
written by `train`) and the recorded evaluation (`evaluation.json`, written by `evaluate` only
when asked: `keras-seq2seq evaluate --record`, `evaluate(..., record=True)`).
`keras-seq2seq info MODEL` prints it; `export` writes it as `model_card.json` in the version
directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keras_seq2seq.config import TextConfig
from keras_seq2seq.decoding.output_check import describe_output_check
from keras_seq2seq.evaluation.metrics import HEADLINE_SCORES
from keras_seq2seq.run_layout import DISTILL_FILE, EVALUATION_FILE, TRAINING_FILE, lexicon_file
from keras_seq2seq.run_layout import MODEL_CARD_FILE as MODEL_CARD_FILE  # still importable here


def pairs_sha256(pairs: Sequence[tuple[str, str]]) -> str:
    """SHA-256 of a list of pairs (one `source<TAB>target<LF>` line each), in hex.

    Example:
    >>> pairs_sha256([("a", "b")])[:12]
    '5dd1197866f4'
    """
    digest = hashlib.sha256()
    for source, target in pairs:
        digest.update(f"{source}\t{target}\n".encode())
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def model_card(path: str | os.PathLike) -> dict[str, Any]:
    """The model card of a run directory or export.

    Args:
        path: a run directory, an exported base path (newest version) or a version directory.

    Returns:
        dict with `model` (directory), `architecture`, `options`, `units`, `num_layers`,
        `dropout`, `parameters`, `source` / `target` (tokenizer kind, vocabulary size,
        lower-casing, maximum length; the target's `output_pattern` and `output_check`),
        `training` (or None), `distillation` (the teachers and settings of a model trained
        by `distill`, or None), `evaluation` (or None) and `lexicon` (the number of
        known inputs in its `lexicon.tsv`, or None without one).

    Raises:
        FileNotFoundError: no model there.
        ValueError: a file is corrupt.

    Example:
    >>> model_card("saved_models/dates")["architecture"]  # doctest: +SKIP
    'rnn'
    """
    from keras_seq2seq.training.run_dir import load_run

    run = load_run(path)
    config = run.config
    card: dict[str, Any] = {
        "model": str(run.run_dir),
        "architecture": config.model.architecture,
        "units": config.model.units,
        "num_layers": config.model.num_layers,
        "dropout": config.model.dropout,
        "options": dict(config.model.options),
        "parameters": int(run.model.training.count_params()),
    }
    for side, text, tokenizer in (
        ("source", config.source_text, run.source_tokenizer),
        ("target", config.target_text, run.target_tokenizer),
    ):
        card[side] = {
            "tokenizer": text.tokenizer,
            "vocabulary_size": tokenizer.vocabulary_size,
            "lowercase": text.lowercase,
            "max_length": text.max_length,
            "shared_vocabulary": text.shared_vocabulary,
        }
    card["target"]["output_pattern"] = config.target_text.output_pattern
    card["target"]["output_check"] = config.target_text.output_check
    card["source"]["input_pattern"] = config.source_text.input_pattern
    card["training"] = _read_json(run.run_dir / TRAINING_FILE)
    card["distillation"] = _read_json(run.run_dir / DISTILL_FILE)
    card["evaluation"] = _read_json(run.run_dir / EVALUATION_FILE)
    card["lexicon"] = lexicon_size(run.run_dir)
    return card


def lexicon_size(model_dir: str | os.PathLike) -> int | None:
    """The number of entries of a model directory's lexicon (None without one).

    The lexicon is `lexicon.tsv` in a run directory, `assets/lexicon.tsv` in an export
    (`run_layout.lexicon_file`).

    Example:
    >>> lexicon_size("saved_models/cmudict-small/3")  # doctest: +SKIP
    118642
    """
    path = lexicon_file(model_dir)
    if path is None:
        return None
    with path.open(encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip())


def _training_lines(training: dict[str, Any] | None) -> list[tuple[str, str]]:
    if training is None:
        return [("training", "not recorded (trained before model cards)")]
    data = training.get("data", {})
    rows = [
        ("training data", str(data.get("source") or "pairs given to train()")),
        ("pairs", f"{data.get('train_pairs', '?'):,} train, {data.get('validation_pairs', '?'):,} "
                  "validation"),
        ("data SHA-256", str(data.get("sha256", "?"))),
        ("epochs", f"{training.get('epochs_run', '?')} of {training.get('epochs', '?')}"),
    ]  # fmt: skip
    if "seconds" in training:
        rows.append(("training time", f"{training['seconds']:.0f} s"))
    return rows


def _distillation_lines(record: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The teachers of a distilled model (`distill.json`); nothing for other models."""
    if record is None:
        return []
    teachers = ", ".join(
        f"{teacher.get('path', '?')} ({teacher.get('architecture', '?')})"
        for teacher in record.get("teachers", [])
    )
    mode = record.get("mode", "?")
    rows = [("distilled from", f"{teachers}; {mode}-level" if mode != "both" else
             f"{teachers}; sequence- and token-level")]  # fmt: skip
    outputs = record.get("teacher_outputs")
    if outputs:
        rows.append(("teacher outputs", f"{outputs.get('sources', '?'):,} sources, beam width "
                     f"{record.get('teacher_beam_width', '?')}, {outputs.get('refused', 0):,} "
                     "refused (dropped)"))  # fmt: skip
    return rows


def format_model_card(card: dict[str, Any]) -> str:
    """The model card as an aligned two-column text.

    Example:
    >>> print(format_model_card(model_card("saved_models/dates")))  # doctest: +SKIP
    """
    options = ", ".join(f"{key}={value}" for key, value in card["options"].items())
    rows = [
        ("model", card["model"]),
        ("architecture", f"{card['architecture']} ({options or 'default options'})"),
        (
            "sizes",
            f"units {card['units']}, {card['num_layers']} layer(s), dropout {card['dropout']}",
        ),
        ("parameters", f"{card['parameters']:,}"),
    ]
    for side in ("source", "target"):
        info = card[side]
        text = f"{info['tokenizer']}, {info['vocabulary_size']:,} tokens, max {info['max_length']}"
        text += ", lower-cased" if info["lowercase"] else ""
        text += ", shared vocabulary" if info["shared_vocabulary"] else ""
        rows.append((side, text))
    check = describe_output_check(TextConfig(**{
        name: card["target"].get(name) for name in ("output_pattern", "output_check")
    }))  # fmt: skip
    rows.append(("outputs", check or "not constrained (no output pattern or check)"))
    pattern = card["source"].get("input_pattern")  # absent in cards written before it existed
    rows.append(("inputs", f"must match {pattern}, or are not answered" if pattern else
                 "every input is answered (no input pattern)"))  # fmt: skip
    known = card.get("lexicon")  # absent in cards written before lexicons existed
    rows.append(("lexicon", f"{known:,} known inputs answered from it, the others decoded"
                 if known else "none (every input is decoded)"))  # fmt: skip
    rows += _training_lines(card["training"])
    rows += _distillation_lines(card.get("distillation"))
    evaluation = card["evaluation"]
    if evaluation is None:
        rows.append(
            ("last evaluation", "none recorded (keras-seq2seq evaluate --model ... --record)")
        )
    else:
        scores = ", ".join(
            f"{score.key} {evaluation[score.key]:.2f}"
            for score in HEADLINE_SCORES
            if score.key in evaluation
        )
        rows.append(
            ("last evaluation", f"{evaluation.get('num_examples', '?')} examples: {scores}")
        )
    width = max(len(label) for label, _ in rows) + 3
    return "\n".join(f"{label:<{width}}{value}" for label, value in rows)
