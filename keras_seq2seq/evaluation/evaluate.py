"""Decode a dataset with a trained model, score it, and write a report.

`evaluate` decodes every unique source once (several references per source are grouped with
`group_references`), scores the outputs with `score_texts` and adds lengths, decode speed and
the decoding settings. `write_report` writes the JSON, `format_report` a readable table and
`write_hypotheses` one `source<TAB>reference<TAB>hypothesis` line per source for inspection.

Which metrics, per target tokenizer (when `metrics` is not given):

- `char` targets (dates, transliteration): exact match, token error rate over characters
  (CER) and chrF.
- `word` targets (G2P phones, pinyin syllables, translation): exact match, token error rate
  over whitespace tokens (WER, or PER when the tokens are phones), BLEU and chrF.

`token_error_rate` is the speech-recognition WER (edit distance / reference tokens). The "WER"
of the G2P literature (cmusphinx/g2p-seq2seq, Sequitur) is a different number: the fraction of
words whose whole pronunciation is wrong, reported here as `sequence_error_rate`
(`100 - exact_match`). See `keras_seq2seq.evaluation.metrics` for the details.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_seq2seq.atomic_write import write_json, write_text
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.ordering import length_order
from keras_seq2seq.decoding.translator import Translator, load
from keras_seq2seq.evaluation.metrics import (
    METRIC_NAMES,
    SCORES,
    default_metric_names,
    group_references,
    score_texts,
    token_error_rate,
)
from keras_seq2seq.progress import Counter
from keras_seq2seq.run_layout import EVALUATION_FILE
from keras_seq2seq.training.run_dir import resolve_run_dir

# What one token of `token_error_rate` is, per target tokenizer, and the name the rate goes by.
TOKEN_ERROR_UNITS: dict[str, tuple[str, Callable[[str], Sequence[str]]]] = {
    "char": ("CER", list),
    "word": ("WER/PER", str.split),
    "wordpiece": ("WER/PER", str.split),
}
EXAMPLES_KEY = "examples"
REFERENCE_SEPARATOR = " | "


def check_metrics(metrics: Any) -> tuple[str, ...]:
    """Validates a list of metric names (see `keras_seq2seq.evaluation.metrics.METRIC_NAMES`).

    Args:
        metrics: a metric name or a sequence of names.

    Returns:
        tuple of str, in the given order.

    Raises:
        ValueError: `metrics` is empty, not a list of str, or names an unknown metric.

    Example:
    >>> check_metrics(["bleu", "exact_match"])
    ('bleu', 'exact_match')
    """
    names = (metrics,) if isinstance(metrics, str) else metrics
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"`metrics` must be a list of metric names from {list(METRIC_NAMES)}. "
            f"Received: metrics={metrics!r}"
        )
    unknown = [name for name in names if name not in METRIC_NAMES]
    if unknown or not names:
        raise ValueError(
            f"`metrics` must name at least one metric from {list(METRIC_NAMES)}. "
            f"Received: metrics={metrics!r}"
        )
    return tuple(names)


def default_metrics(target_tokenizer: str) -> tuple[str, ...]:
    """The metrics `evaluate` computes for a target tokenizer kind (`"char"`, `"word"`...).

    Character targets get the `"char"` defaults of the registry
    (`keras_seq2seq.evaluation.metrics.METRICS`), every other kind the `"word"` ones.

    Example:
    >>> default_metrics("char")
    ('exact_match', 'token_error_rate', 'chrf')
    """
    return default_metric_names("char" if target_tokenizer == "char" else "word")


def score_decoded(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    metrics: Sequence[str],
    target_tokenizer: str = "word",
) -> dict[str, Any]:
    """Scores decoded outputs like `score_texts`, with the token error rate in model units.

    `score_texts` counts `token_error_rate` over whitespace tokens; here it is counted over
    characters for a `char` target tokenizer (CER) and over whitespace tokens otherwise
    (WER, or PER for phones), and `token_error_rate_unit` says which.

    Args:
        hypotheses: list of str.
        references: list of lists of str (several references per hypothesis).
        metrics: sequence of metric names from `METRIC_NAMES`.
        target_tokenizer: str. The target tokenizer kind. Defaults to `"word"`.

    Returns:
        The dict of `score_texts`, plus `token_error_rate_unit` when that metric is asked for.

    Raises:
        ValueError: an unknown metric, or malformed inputs (see `score_texts`).

    Example:
    >>> score_decoded(["cba"], [["cbb"]], metrics=["token_error_rate"],
    ...               target_tokenizer="char")["token_error_rate"]  # doctest: +ELLIPSIS
    33.33...
    """
    names = check_metrics(metrics)
    report = score_texts(hypotheses, references, [n for n in names if n != "token_error_rate"])
    if "token_error_rate" in names:
        unit, tokenize = TOKEN_ERROR_UNITS.get(target_tokenizer, TOKEN_ERROR_UNITS["word"])
        report["token_error_rate"] = 100.0 * token_error_rate(
            hypotheses, references, tokenize=tokenize
        )
        report["token_error_rate_unit"] = unit
    return report


def _mean_tokens(tokenizer: Any, texts: Sequence[str]) -> float:
    lengths = tokenizer.tokenize_to_strings(tf.constant(list(texts), tf.string)).row_lengths()
    return float(tf.reduce_mean(tf.cast(lengths, tf.float64))) if len(texts) else 0.0


def _translator(translator_or_path: Any) -> tuple[Translator, Path | None]:
    if isinstance(translator_or_path, Translator):
        return translator_or_path, None
    if isinstance(translator_or_path, (str, os.PathLike)):
        model_dir = resolve_run_dir(translator_or_path)
        return load(model_dir), model_dir
    raise TypeError(
        "`translator_or_path` must be a Translator or a model path (str or Path). "
        f"Received: {type(translator_or_path).__name__}"
    )


def _decode_all(
    translator: Translator,
    sources: list[str],
    options: DecodeOptions,
    batch_size: int,
    progress: bool,
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Decodes every source.

    Returns (hypotheses, scores, accepted, from_lexicon, warm-up s, decode s); `from_lexicon`
    is all False without a lexicon.

    Sources are decoded in order of length (a batch runs as long as its longest output, so
    similar lengths together waste fewer steps); the results come back in input order.
    """
    start = time.perf_counter()
    # Traces the graph before the clock starts.
    translator.decode(sources[:1], options, batch_size=batch_size, with_attention=False)
    warmup_seconds = time.perf_counter() - start
    counter = Counter(len(sources), "sentences", "Decoding", enabled=progress)
    order = length_order(sources)
    hypotheses: list[str] = []
    scores, accepted, looked_up = [], [], []
    start = time.perf_counter()
    for begin in range(0, len(sources), batch_size):
        chunk = [sources[i] for i in order[begin : begin + batch_size]]
        (decoded,) = translator.decode(chunk, options, batch_size=batch_size, with_attention=False)
        hypotheses.extend(text.decode("utf-8") for text in decoded.outputs[:, 0])
        scores.append(decoded.normalized_scores[:, 0])
        accepted.append(decoded.accepted[:, 0])
        known = decoded.from_lexicon
        looked_up.append(np.zeros(len(chunk), bool) if known is None else known)
        counter.update(len(hypotheses))
    seconds = time.perf_counter() - start
    restore = np.argsort(order)
    in_order = [hypotheses[i] for i in restore]
    return (in_order, np.concatenate(scores)[restore], np.concatenate(accepted)[restore],
            np.concatenate(looked_up)[restore], warmup_seconds, seconds)  # fmt: skip


REFUSAL_SHARES = (0.1, 0.5, 1.0, 2.0, 5.0)
"""Shares (%) of correct outputs for which `refusal_stats` gives the refusing score."""


def refusal_stats(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    scores: np.ndarray,
    accepted: np.ndarray,
) -> dict[str, Any]:
    """How outputs would be refused: shares and the `min_score` for a refusal budget.

    Args:
        hypotheses: decoded outputs.
        references: their references (several per output).
        scores: float `[N]` normalized scores of the outputs (what `min_score` compares:
            the log-probability over the GNMT length penalty, see `Hypothesis`).
        accepted: bool `[N]`, False where `min_score` or the output check refused the output.

    Returns:
        dict: `refused` (% of outputs refused), `empty_outputs` (% of outputs that
        are empty, the model's own refusals or `min_score`'s), and `refusal_thresholds`: for
        each share in `REFUSAL_SHARES`, the score below which that share of the *correct*
        outputs falls, i.e. the `min_score` that would refuse that share of correct answers
        (absent when no output is correct).

    Example:
    >>> refusal_stats(["a", "b"], [["a"], ["c"]], np.array([-0.1, -2.0]),
    ...               np.array([True, True]))["refused"]
    0.0
    """
    correct = np.array([h in refs for h, refs in zip(hypotheses, references, strict=True)])
    stats: dict[str, Any] = {
        "refused": 100.0 * float(np.mean(~accepted)) if len(accepted) else 0.0,
        "empty_outputs": 100.0 * float(np.mean([h == "" for h in hypotheses])),
    }
    good = scores[correct & accepted]
    if good.size:
        stats["refusal_thresholds"] = {
            f"{share:g}%": float(np.quantile(good, share / 100.0)) for share in REFUSAL_SHARES
        }
    return stats


def _length_stats(
    translator: Translator,
    sources: list[str],
    references: list[list[str]],
    hypotheses: list[str],
) -> dict[str, float]:
    """Mean lengths in model tokens (the mean over the references of an item) and their ratio."""
    target = translator.target_tokenizer
    flat_references = [ref for refs in references for ref in refs]
    reference_lengths = (
        target.tokenize_to_strings(tf.constant(flat_references)).row_lengths().numpy()
    )
    per_item, position = [], 0
    for refs in references:
        per_item.append(float(reference_lengths[position : position + len(refs)].mean()))
        position += len(refs)
    mean_reference = sum(per_item) / len(per_item)
    mean_hypothesis = _mean_tokens(target, hypotheses)
    return {
        "mean_source_tokens": _mean_tokens(translator.source_tokenizer, sources),
        "mean_hypothesis_tokens": mean_hypothesis,
        "mean_reference_tokens": mean_reference,
        "length_ratio": mean_hypothesis / mean_reference if mean_reference else math.inf,
    }


def evaluate(
    translator_or_path: Translator | str | os.PathLike,
    pairs: Sequence[tuple[str, str]],
    options: DecodeOptions | None = None,
    *,
    batch_size: int = 256,
    metrics: Sequence[str] | None = None,
    progress: bool = True,
    record: bool = False,
    **option_kwargs: Any,
) -> dict[str, Any]:
    """Decodes the sources of `pairs` and scores the outputs against their targets.

    Pairs that share a source are decoded once and scored against all of their targets
    (several pronunciations of a word, several translations). Decode speed is measured after
    a one-sentence warm-up, so graph tracing is not counted in it.

    Args:
        translator_or_path: a `Translator`, or a model path as `inference.load` takes it.
        pairs: sequence of (source, target) str pairs.
        options: DecodeOptions or None. How to decode (`n_best` must be 1). Defaults to
            greedy search.
        batch_size: int. Sources decoded together. Defaults to `256`.
        metrics: sequence of names from `keras_seq2seq.evaluation.metrics.METRIC_NAMES`, or None for
            the defaults of the target tokenizer (`default_metrics`). Defaults to `None`.
        progress: bool. Show a progress line on stderr. Defaults to `True`.
        record: bool. Also write the report (without the examples) into the model
            directory as its `evaluation.json`, replacing the evaluation its model card
            shows (`keras-seq2seq info`); checked before decoding: needs a model path (not a
            `Translator`) whose directory is writable. Defaults to `False`: the model's
            recorded evaluation is left as it is.
        **option_kwargs: DecodeOptions fields (`beam_width=4`, ...), when `options` is None.

    Returns:
        A dict: `model` (run directory, or None for a `Translator`), `num_pairs`,
        `num_examples` (unique sources), `num_references`, `decode_options` (a dict),
        `beam_width`, `length_penalty`, `max_length`, `source_tokenizer`, `target_tokenizer`,
        the scores of `score_decoded` (rates in percent, BLEU/chrF with their sacrebleu
        signatures), `mean_source_tokens`, `mean_hypothesis_tokens`, `mean_reference_tokens`
        (in tokenizer tokens; the mean over the references of an item), `length_ratio`,
        `decode_seconds`, `warmup_seconds`, `sentences_per_second`, and `examples`: one dict
        per source with `source`, `references` and `hypothesis` (left out of the JSON by
        `write_report`).

    Raises:
        TypeError: `translator_or_path` is neither a Translator nor a path, or an option has
            the wrong type.
        FileNotFoundError: the model path holds no model.
        ValueError: no pairs, a malformed pair, an unknown metric or an out-of-range option;
            `record=True` with a `Translator` or a read-only model directory.

    Example:
    >>> report = evaluate("saved_models/dates", [("March 3, 2021", "2021-03-03")],
    ...                   progress=False)  # doctest: +SKIP
    >>> report["exact_match"]  # doctest: +SKIP
    100.0
    >>> # Replace the evaluation `keras-seq2seq info runs/dates` shows:
    >>> report = evaluate("runs/dates", test_pairs, record=True)  # doctest: +SKIP
    """
    translator, model_dir = _translator(translator_or_path)
    if record:
        _check_recordable(model_dir)
    options = DecodeOptions.coerce(options, **option_kwargs)
    if options.n_best != 1:
        raise ValueError(
            f"evaluate scores one output per source: leave `n_best` at 1. Received: "
            f"n_best={options.n_best}."
        )
    target_kind = translator.config.target_text.tokenizer
    names = default_metrics(target_kind) if metrics is None else check_metrics(metrics)
    sources, references = group_references(pairs)
    if not sources:
        raise ValueError("`pairs` is empty: there is nothing to evaluate. Pass (source, target).")
    hypotheses, normalized, accepted, from_lexicon, warmup_seconds, decode_seconds = _decode_all(
        translator, sources, options, batch_size, progress
    )
    report: dict[str, Any] = {
        "model": None if model_dir is None else str(model_dir),
        "num_pairs": len(pairs),
        "num_examples": len(sources),
        "num_references": sum(len(refs) for refs in references),
        "decode_options": options.to_dict(),
        "beam_width": options.beam_width,
        "length_penalty": options.length_penalty,
        "max_length": options.max_length or translator.default_max_length,
        "source_tokenizer": translator.config.source_text.tokenizer,
        "target_tokenizer": target_kind,
    }
    scores = score_decoded(hypotheses, references, metrics=names, target_tokenizer=target_kind)
    # score_texts counts whitespace tokens; lengths in model tokens say more for char models.
    for key in ("mean_hypothesis_tokens", "mean_reference_tokens"):
        scores.pop(key, None)
    report.update(scores)
    report.update(_length_stats(translator, sources, references, hypotheses))
    report.update(refusal_stats(hypotheses, references, normalized, accepted))
    if translator.lexicon is not None:  # known answers score as given, not as decoded
        report["from_lexicon"] = 100.0 * float(np.mean(from_lexicon))
    report.update(
        {
            "decode_seconds": decode_seconds,
            "warmup_seconds": warmup_seconds,
            "sentences_per_second": len(sources) / decode_seconds if decode_seconds else math.inf,
            EXAMPLES_KEY: [
                {"source": s, "references": r, "hypothesis": h}
                for s, r, h in zip(sources, references, hypotheses, strict=True)
            ],
        }
    )
    if record and model_dir is not None:
        write_report(report, model_dir / EVALUATION_FILE)
    return report


def _check_recordable(model_dir: Path | None) -> None:
    """Fails before decoding when `record=True` could not write the model's evaluation."""
    if model_dir is None:
        raise ValueError(
            "Recording an evaluation (--record; record=True in Python) writes it into the "
            f"model's directory as {EVALUATION_FILE}, so it needs one model given by its path, "
            "not a Translator or an ensemble. Pass the model directory, or evaluate without "
            "recording."
        )
    target = model_dir / EVALUATION_FILE
    if not os.access(model_dir, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ValueError(
            f"Cannot record the evaluation in {target}: the model directory is read-only. "
            "Evaluate without --record (record=False in Python), or copy the model to a "
            "writable directory."
        )


def recorded_evaluation_path(report: dict[str, Any]) -> Path | None:
    """Where `evaluate(..., record=True)` wrote a report: the model's `evaluation.json`.

    Args:
        report: dict returned by `evaluate`.

    Returns:
        The Path, or None for a report of a `Translator` (nothing is recorded for one).

    Example:
    >>> recorded_evaluation_path({"model": "runs/dates"})
    PosixPath('runs/dates/evaluation.json')
    """
    model = report.get("model")
    return None if model is None else Path(model) / EVALUATION_FILE


def write_report(report: dict[str, Any], path: str | os.PathLike) -> Path:
    """Writes a report as indented JSON, without its per-example `examples` list.

    Args:
        report: dict returned by `evaluate`.
        path: str or Path. The JSON file (parent directories are created).

    Returns:
        The Path written.

    Example:
    >>> write_report({"bleu": 41.2, "examples": []}, "/tmp/report.json")  # doctest: +SKIP
    PosixPath('/tmp/report.json')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {key: value for key, value in report.items() if key != EXAMPLES_KEY}
    write_json(path, summary)
    return path


def _field(text: str) -> str:
    # A tab or line break inside a text would shift the TSV columns.
    return " ".join(text.replace("\t", " ").splitlines())


def write_hypotheses(report: dict[str, Any], path: str | os.PathLike) -> Path:
    """Writes one `source<TAB>reference<TAB>hypothesis` line per evaluated source.

    Several references are joined with `" | "`.

    Args:
        report: dict returned by `evaluate` (with its `examples`).
        path: str or Path. The TSV file (parent directories are created).

    Returns:
        The Path written.

    Raises:
        ValueError: the report has no `examples` (e.g. it was read back from JSON).

    Example:
    >>> write_hypotheses(report, "/tmp/hypotheses.tsv")  # doctest: +SKIP
    PosixPath('/tmp/hypotheses.tsv')
    """
    examples = report.get(EXAMPLES_KEY)
    if examples is None:
        raise ValueError(
            f"The report has no {EXAMPLES_KEY!r} list; write the hypotheses from the dict "
            "`evaluate` returns, not from a report read back from JSON."
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for example in examples:
        references = REFERENCE_SEPARATOR.join(_field(r) for r in example["references"])
        lines.append(
            f"{_field(example['source'])}\t{references}\t{_field(example['hypothesis'])}\n"
        )
    write_text(path, "".join(lines))
    return path


_TABLE_ROWS = (
    *((score.key, score.label) for score in SCORES),
    ("mean_source_tokens", "mean source tokens"),
    ("mean_hypothesis_tokens", "mean hypothesis tokens"),
    ("mean_reference_tokens", "mean reference tokens"),
    ("length_ratio", "length ratio (hyp/ref)"),
    ("empty_outputs", "empty outputs (%)"),
    ("refused", "refused by min_score or the output check (%)"),
    ("from_lexicon", "answered from the model's lexicon (%)"),
    ("sentences_per_second", "decode speed (sentences/s)"),
    ("decode_seconds", "decode time (s)"),
)


def format_report(report: dict[str, Any]) -> str:
    """Formats a report as a two-column text table (metrics first, then lengths and speed).

    Args:
        report: dict returned by `evaluate` (or read back from its JSON).

    Returns:
        str, without a trailing newline.

    Example:
    >>> print(format_report({"num_examples": 2, "exact_match": 50.0}))
    examples           2
    exact match (%)    50.00
    """
    rows: list[tuple[str, str]] = []
    if report.get("model"):
        rows.append(("model", str(report["model"])))
    if "num_examples" in report:
        count = str(report["num_examples"])
        if report.get("num_references", report["num_examples"]) != report["num_examples"]:
            count += f" ({report['num_references']} references)"
        rows.append(("examples", count))
    if "beam_width" in report:
        decoding = "greedy" if report["beam_width"] == 1 else f"beam {report['beam_width']}"
        if report["beam_width"] > 1:
            decoding += f", length penalty {report['length_penalty']:g}"
        rows.append(("decoding", decoding))
    for key, label in _TABLE_ROWS:
        if key not in report:
            continue
        if f"{key}_unit" in report:  # e.g. the token error rate's CER or WER/PER
            label = f"{label} [{report[f'{key}_unit']}]"
        rows.append((label, f"{report[key]:.2f}"))
        if f"{key}_signature" in report:
            rows.append(("", report[f"{key}_signature"]))
    for share, score in report.get("refusal_thresholds", {}).items():
        rows.append((f"min_score refusing {share} of correct outputs", f"{score:.4f}"))
    width = max(len(label) for label, _ in rows) + 4
    return "\n".join(f"{label:<{width}}{value}".rstrip() for label, value in rows)
