"""Text-level scores of decoded strings against one or several references.

Used by `keras-seq2seq evaluate` and by the decoded-metric training callback. Everything here
works on Python strings; TensorFlow is never imported.

Hypotheses are a list of strings. References are either a list of strings (one reference per
hypothesis) or a list of lists of strings (several references per hypothesis, e.g. the several
pronunciations of a word in G2P, or several human translations); `normalize_references` turns
both shapes into the second one.

Two metrics are called "WER" in the literature, and they are not the same thing:

- `token_error_rate` is the speech-recognition WER: total token edit distance divided by the
  total number of reference tokens (corpus level). Over words it is WER, over phones it is the
  PER of the G2P literature, over characters it is CER. It can exceed 1 (insertions).
- `sequence_error_rate` is the "WER" of the G2P literature (e.g. cmusphinx/g2p-seq2seq, where
  a "word" is a whole pronunciation): the fraction of items whose hypothesis matches none of
  the references. It equals `1 - exact_match`.

`exact_match`, `sequence_error_rate` and `token_error_rate` return fractions; `bleu`, `chrf`
and `rouge` use the 0–100 scale of sacrebleu; `score_texts` reports every rate in percent.

`METRICS` is the registry: each metric's name, the function that computes it, the scores it
reports (display name, unit, which way is better) and where it is computed by default.
Everything else that lists metrics (`--metrics` and `--monitor` choices, the evaluation table,
the model card, the training callback) derives its list from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _check_hypotheses(hypotheses: Any) -> list[str]:
    if not _is_sequence(hypotheses):
        raise ValueError(
            "`hypotheses` must be a list of strings. "
            f"Received: hypotheses of type {type(hypotheses).__name__}"
        )
    for index, hypothesis in enumerate(hypotheses):
        if not isinstance(hypothesis, str):
            hint = (
                " Decode bytes first with `.decode('utf-8')`."
                if isinstance(hypothesis, bytes)
                else ""
            )
            raise ValueError(
                f"`hypotheses` must be a list of strings. Received: hypotheses[{index}]="
                f"{hypothesis!r} of type {type(hypothesis).__name__}.{hint}"
            )
    if not hypotheses:
        raise ValueError("`hypotheses` is empty: there is nothing to score. Received: []")
    return list(hypotheses)


def _prepare(hypotheses: Any, references: Any) -> tuple[list[str], list[list[str]]]:
    hypotheses = _check_hypotheses(hypotheses)
    return hypotheses, normalize_references(references, len(hypotheses))


def normalize_references(references: Any, num_hypotheses: int) -> list[list[str]]:
    """Brings references to one shape: a list with a list of references per hypothesis.

    Args:
        references: list. One entry per hypothesis; each entry is either a string (a single
            reference) or a non-empty list of strings (several references). The two forms may
            be mixed.
        num_hypotheses: int. Number of hypotheses the references belong to.

    Returns:
        A new `list[list[str]]` of length `num_hypotheses`; every inner list is non-empty.

    Raises:
        ValueError: if `references` is not a list, its length differs from `num_hypotheses`,
            an entry is an empty list, or an entry is neither a string nor a list of strings.

    Example:
    >>> normalize_references(["a b", ["c", "d"]], 2)
    [['a b'], ['c', 'd']]
    """
    if isinstance(num_hypotheses, bool) or not isinstance(num_hypotheses, int):
        raise ValueError(
            f"`num_hypotheses` must be an integer. Received: num_hypotheses={num_hypotheses!r}"
        )
    if num_hypotheses < 0:
        raise ValueError(
            f"`num_hypotheses` must be non-negative. Received: num_hypotheses={num_hypotheses}"
        )
    if not _is_sequence(references):
        raise ValueError(
            "`references` must be a list with one entry per hypothesis (a string or a list of "
            f"strings). Received: references of type {type(references).__name__}"
        )
    if len(references) != num_hypotheses:
        raise ValueError(
            "`references` must have one entry per hypothesis. Received: "
            f"{num_hypotheses} hypotheses and {len(references)} references. For several "
            "references per hypothesis pass a list of lists, e.g. [['ref a', 'ref b'], ...]."
        )
    normalized = []
    for index, entry in enumerate(references):
        if isinstance(entry, str):
            normalized.append([entry])
            continue
        if not _is_sequence(entry):
            raise ValueError(
                f"Each entry of `references` must be a string or a list of strings. Received: "
                f"references[{index}]={entry!r} of type {type(entry).__name__}"
            )
        if not entry:
            raise ValueError(
                f"references[{index}] is an empty list: every hypothesis needs at least one "
                "reference. Drop that item or give it a reference."
            )
        for position, reference in enumerate(entry):
            if not isinstance(reference, str):
                raise ValueError(
                    "Each reference must be a string. Received: "
                    f"references[{index}][{position}]={reference!r} of type "
                    f"{type(reference).__name__}"
                )
        normalized.append(list(entry))
    return normalized


def exact_match(hypotheses: Sequence[str], references: Sequence[str | Sequence[str]]) -> float:
    """Fraction of hypotheses equal to at least one of their references.

    Strings are compared after stripping outer whitespace; inner whitespace and case must
    match exactly.

    Args:
        hypotheses: list of str. Decoded outputs.
        references: list of str, or list of lists of str for several references per item.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: if `hypotheses` is empty or not a list of strings, or `references` is
            malformed (see `normalize_references`).

    Example:
    >>> exact_match(["HH AH0 L OW1", "T AH0"], [["HH EH0 L OW1", "HH AH0 L OW1"], "T UW1"])
    0.5
    """
    hypotheses, references = _prepare(hypotheses, references)
    correct = sum(
        any(hypothesis.strip() == reference.strip() for reference in refs)
        for hypothesis, refs in zip(hypotheses, references, strict=True)
    )
    return correct / len(hypotheses)


def sequence_error_rate(
    hypotheses: Sequence[str], references: Sequence[str | Sequence[str]]
) -> float:
    """Fraction of hypotheses that match none of their references: `1 - exact_match`.

    This is the "WER" of the G2P literature (a word counts as wrong if any of its phones is
    wrong), not the token-level WER of speech recognition (see `token_error_rate`).

    Args:
        hypotheses: list of str. Decoded outputs.
        references: list of str, or list of lists of str for several references per item.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: as `exact_match`.

    Example:
    >>> sequence_error_rate(["HH AH0 L OW1", "T AH0"], ["HH AH0 L OW1", "T UW1"])
    0.5
    """
    return 1.0 - exact_match(hypotheses, references)


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance between two sequences of tokens (unit costs).

    Args:
        a: sequence. Tokens (a string compares characters).
        b: sequence. Tokens.

    Returns:
        The least number of insertions, deletions and substitutions turning `a` into `b`.

    Example:
    >>> edit_distance("kitten", "sitting")
    3
    >>> edit_distance(["HH", "AH0", "L", "OW1"], ["HH", "EH0", "L", "OW1"])
    1
    """
    if len(a) < len(b):
        a, b = b, a  # the rows are as long as the shorter sequence
    previous = list(range(len(b) + 1))
    for i, token_a in enumerate(a, start=1):
        current = [i]
        for j, token_b in enumerate(b, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (token_a != token_b),  # substitution or match
                )
            )
        previous = current
    return previous[-1]


def _closest_reference(
    hypothesis_tokens: Sequence, reference_tokens: Iterable[Sequence]
) -> tuple[int, int]:
    """(edit distance, reference length) of the closest reference; ties go to the shorter."""
    return min((edit_distance(hypothesis_tokens, ref), len(ref)) for ref in reference_tokens)


def _check_tokenize(tokenize: Any) -> None:
    if not callable(tokenize):
        raise ValueError(
            "`tokenize` must be a callable mapping a string to a list of tokens, e.g. "
            f"`str.split` or `list`. Received: tokenize={tokenize!r}"
        )


def token_error_rate(
    hypotheses: Sequence[str],
    references: Sequence[str | Sequence[str]],
    tokenize: Callable[[str], Sequence] = str.split,
) -> float:
    """Corpus-level token error rate: WER over words, PER over phones, CER over characters.

    For each item the closest reference is the one with the least edit distance to the
    hypothesis (the Sequitur convention); among equally close references the shorter one is
    taken (the more pessimistic rate), then the first listed. The rate is the sum of those
    edit distances divided by the sum of the closest references' lengths.

    Args:
        hypotheses: list of str. Decoded outputs.
        references: list of str, or list of lists of str for several references per item.
        tokenize: callable. Splits a string into tokens. Defaults to `str.split` (words, or
            space-separated phones); pass `list` for characters.

    Returns:
        A float >= 0 (above 1 when there are many insertions). When every closest reference
        is empty the rate is undefined: the result is `0.0` if there are no errors either and
        `math.inf` otherwise.

    Raises:
        ValueError: if `tokenize` is not callable, or on the input errors of `exact_match`.

    Example:
    >>> hypotheses = ["HH AH0 L OW1", "K AE1 T"]
    >>> token_error_rate(hypotheses, [["HH EH0 L OW1", "HH AH0 L OW1"], "K AA1 T S"])
    0.25
    """
    _check_tokenize(tokenize)
    hypotheses, references = _prepare(hypotheses, references)
    errors = 0
    length = 0
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        distance, reference_length = _closest_reference(
            tokenize(hypothesis), [tokenize(reference) for reference in refs]
        )
        errors += distance
        length += reference_length
    if length == 0:
        return 0.0 if errors == 0 else math.inf
    return errors / length


def _reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    # sacrebleu wants references transposed: stream k holds the k-th reference of every item.
    # Items with fewer references are padded with None, which sacrebleu drops per segment
    # (metrics/base.py `_cache_references`); an empty-string pad would instead count as a real,
    # empty reference and change BLEU's closest reference length.
    num_streams = max(len(refs) for refs in references)
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(num_streams)]


def bleu(
    hypotheses: Sequence[str],
    references: Sequence[str | Sequence[str]],
    tokenize: str | None = None,
) -> tuple[float, str]:
    """Corpus BLEU with sacrebleu's defaults, as the `sacrebleu` command line computes it.

    Several references per item may come in different numbers per item; the signature then
    says `nrefs:var`.

    Args:
        hypotheses: list of str. Detokenized decoded outputs.
        references: list of str, or list of lists of str for several references per item.
        tokenize: str or None. A sacrebleu BLEU tokenizer name (`"13a"`, `"char"`, `"zh"`,
            `"intl"`, `"none"`, ...). `None` uses sacrebleu's default (`"13a"`). Defaults to
            `None`.

    Returns:
        `(score, signature)`: BLEU on a 0–100 scale and sacrebleu's signature string (quote it
        with the score so that it can be reproduced).

    Raises:
        ValueError: on the input errors of `exact_match`, or an unknown `tokenize` name.

    Example:
    >>> score, signature = bleu(["the cat sat on the mat"], [["the cat sat on the mat"]])
    >>> round(score, 1), signature.split("|")[0]
    (100.0, 'nrefs:1')
    """
    from sacrebleu.metrics import BLEU

    hypotheses, references = _prepare(hypotheses, references)
    if tokenize is not None and tokenize not in BLEU.TOKENIZERS:
        raise ValueError(
            f"`tokenize` must be one of {list(BLEU.TOKENIZERS)} or None. "
            f"Received: tokenize={tokenize!r}"
        )
    metric = BLEU(tokenize=tokenize)
    score = metric.corpus_score(hypotheses, _reference_streams(references))
    return float(score.score), str(metric.get_signature())


def chrf(
    hypotheses: Sequence[str],
    references: Sequence[str | Sequence[str]],
    word_order: int = 0,
) -> tuple[float, str]:
    """Corpus chrF (or chrF++) with sacrebleu's defaults, as its command line computes it.

    Args:
        hypotheses: list of str. Decoded outputs.
        references: list of str, or list of lists of str for several references per item
            (any number per item; sacrebleu scores each item against its best reference).
        word_order: int. Word n-gram order; `2` gives chrF++. Defaults to `0` (chrF).

    Returns:
        `(score, signature)`: chrF on a 0–100 scale and sacrebleu's signature string.

    Raises:
        ValueError: on the input errors of `exact_match`, or a negative `word_order`.

    Example:
    >>> score, signature = chrf(["hello world"], ["hello world"])
    >>> round(score, 1)
    100.0
    """
    from sacrebleu.metrics import CHRF

    if isinstance(word_order, bool) or not isinstance(word_order, int) or word_order < 0:
        raise ValueError(
            f"`word_order` must be a non-negative integer. Received: word_order={word_order!r}"
        )
    hypotheses, references = _prepare(hypotheses, references)
    metric = CHRF(word_order=word_order)
    score = metric.corpus_score(hypotheses, _reference_streams(references))
    return float(score.score), str(metric.get_signature())


class _CallableTokenizer:
    """Adapts a plain `str -> list[str]` callable to rouge-score's `tokenize()` interface."""

    def __init__(self, function: Callable[[str], Sequence[str]]):
        self._function = function

    def tokenize(self, text: str) -> list[str]:
        return list(self._function(text))


def rouge(
    hypotheses: Sequence[str],
    references: Sequence[str | Sequence[str]],
    use_stemmer: bool = True,
    tokenizer: Any = None,
) -> dict[str, float]:
    """Mean ROUGE-1, ROUGE-2 and ROUGE-L F1 (×100) with `rouge_score.RougeScorer`.

    Each item is scored against each of its references and the best F1 is kept per ROUGE type
    (`RougeScorer.score_multi`); the result is the mean over items, without bootstrap.

    rouge-score's default tokenizer lower-cases and keeps only `[a-z0-9]` runs, so text in
    other scripts (accented letters, Cyrillic, Chinese, IPA ...) is dropped and scores 0. Pass
    a `tokenizer` for such text, e.g. `tokenizer=str.split`.

    Args:
        hypotheses: list of str. Decoded outputs.
        references: list of str, or list of lists of str for several references per item.
        use_stemmer: bool. Porter-stem words longer than 3 characters in the default
            tokenizer; ignored when `tokenizer` is given. Defaults to `True`.
        tokenizer: None, an object with a `tokenize(text) -> list[str]` method (a
            `rouge_score.tokenizers.Tokenizer`), or a plain callable `str -> list[str]`.
            Defaults to `None` (rouge-score's default tokenizer).

    Returns:
        `{"rouge1": float, "rouge2": float, "rougeL": float}` on a 0–100 scale.

    Raises:
        ValueError: on the input errors of `exact_match`, or an unusable `tokenizer`.

    Example:
    >>> scores = rouge(["the cat sat"], [["a dog ran", "the cat sat"]])
    >>> round(scores["rouge1"], 1), round(scores["rougeL"], 1)
    (100.0, 100.0)
    """
    # rouge-score pulls in nltk and absl; import it only when ROUGE is asked for.
    from rouge_score import rouge_scorer

    if tokenizer is not None and not hasattr(tokenizer, "tokenize"):
        if not callable(tokenizer):
            raise ValueError(
                "`tokenizer` must be None, an object with a `tokenize(text)` method, or a "
                f"callable `str -> list[str]` such as `str.split`. Received: {tokenizer!r}"
            )
        tokenizer = _CallableTokenizer(tokenizer)
    hypotheses, references = _prepare(hypotheses, references)
    scorer = rouge_scorer.RougeScorer(
        list(ROUGE_TYPES), use_stemmer=use_stemmer, tokenizer=tokenizer
    )
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        scores = scorer.score_multi(refs, hypothesis)
        for rouge_type in ROUGE_TYPES:
            totals[rouge_type] += scores[rouge_type].fmeasure
    return {name: 100.0 * total / len(hypotheses) for name, total in totals.items()}


class Score(NamedTuple):
    """One number a metric adds to a report (and a callback logs as `val_<key>`).

    Attributes:
        key: str. The report key.
        display: str. What the evaluation table and the model card call it.
        higher_is_better: bool. Which way is better (the mode of a checkpoint watching it).
        percent: bool. A rate in percent (`True`) or a score on sacrebleu's 0–100 scale.
        headline: bool. A number that sums a model up on its own: `--monitor` may watch it
            and the model card shows it. Defaults to `True`.
        note: str. Said after the display name in the evaluation table. Defaults to `""`.
    """

    key: str
    display: str
    higher_is_better: bool
    percent: bool
    headline: bool = True
    note: str = ""

    @property
    def label(self) -> str:
        """The evaluation table's row label, e.g. `"exact match (%)"`."""
        label = f"{self.display} (%)" if self.percent else self.display
        return f"{label} {self.note}" if self.note else label

    @property
    def mode(self) -> str:
        """`"max"` or `"min"`, as Keras callbacks take it."""
        return "max" if self.higher_is_better else "min"


class Metric(NamedTuple):
    """A metric `score_texts`, `evaluate` and the decoded-metric callback may be asked for.

    Attributes:
        name: str. The name users pass (`--metrics NAME`, `metrics=[NAME]`).
        compute: callable `(hypotheses, references) -> dict`. The report entries it adds:
            its scores plus any companion (a sacrebleu signature, the other of a pair of rates).
        scores: tuple of Score. The numbers it logs, in report order.
        defaults: frozenset of str. Where it is computed when no metrics are named:
            `"char"` (evaluating a character-level target), `"word"` (any other target),
            `"training"` (the decoded-metric callback of `train`), `"texts"` (`score_texts`).
    """

    name: str
    compute: Callable[[list[str], list[list[str]]], dict[str, Any]]
    scores: tuple[Score, ...]
    defaults: frozenset[str]

    @property
    def keys(self) -> tuple[str, ...]:
        """The report keys of its scores."""
        return tuple(score.key for score in self.scores)


def _bleu_entries(hypotheses: list[str], references: list[list[str]]) -> dict[str, Any]:
    score, signature = bleu(hypotheses, references)
    return {"bleu": score, "bleu_signature": signature}


def _chrf_entries(hypotheses: list[str], references: list[list[str]]) -> dict[str, Any]:
    score, signature = chrf(hypotheses, references)
    return {"chrf": score, "chrf_signature": signature}


def _match_entries(hypotheses: list[str], references: list[list[str]]) -> dict[str, Any]:
    # One comparison gives both rates; asking for either reports the two.
    match = exact_match(hypotheses, references)
    return {"exact_match": 100.0 * match, "sequence_error_rate": 100.0 * (1.0 - match)}


def _token_error_entries(hypotheses: list[str], references: list[list[str]]) -> dict[str, Any]:
    return {"token_error_rate": 100.0 * token_error_rate(hypotheses, references)}


_EVALUATED = frozenset({"char", "word"})
METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("bleu", _bleu_entries, (Score("bleu", "BLEU", True, False),),
               frozenset({"word", "training", "texts"})),
        Metric("chrf", _chrf_entries, (Score("chrf", "chrF", True, False),),
               _EVALUATED | {"texts"}),
        Metric("rouge", rouge, tuple(
            Score(name, f"ROUGE-{name[5:]} F1", True, False, headline=False)
            for name in ROUGE_TYPES
        ), frozenset({"texts"})),
        Metric("exact_match", _match_entries, (Score("exact_match", "exact match", True, True),),
               _EVALUATED | {"training", "texts"}),
        Metric("sequence_error_rate", _match_entries, (
            Score("sequence_error_rate", "sequence error rate", False, True,
                  note="[G2P 'WER']"),
        ), frozenset()),
        Metric("token_error_rate", _token_error_entries,
               (Score("token_error_rate", "token error rate", False, True),),
               _EVALUATED | {"training", "texts"}),
    )
}  # fmt: skip
"""The metric registry: every metric name, what computes it and what it reports, once.

Its order is the order of a report's entries and of `METRIC_NAMES`."""

METRIC_NAMES = tuple(METRICS)
SCORES: tuple[Score, ...] = tuple(
    sorted(
        (score for metric in METRICS.values() for score in metric.scores),
        key=lambda score: not score.percent,
    )
)
"""Every score in display order: the rates in percent first, then the 0–100 scores."""
HEADLINE_SCORES = tuple(score for score in SCORES if score.headline)
"""The scores `--monitor` may watch and the model card shows, in display order."""


def default_metric_names(use: str) -> tuple[str, ...]:
    """The metrics computed for a use when none are named, in display order.

    Args:
        use: str. `"char"` or `"word"` (evaluating a target of that kind), `"training"`
            (the decoded-metric callback of `train`) or `"texts"` (`score_texts`).

    Returns:
        tuple of metric names.

    Raises:
        ValueError: an unknown use.

    Example:
    >>> default_metric_names("char")
    ('exact_match', 'token_error_rate', 'chrf')
    """
    uses = ("char", "word", "training", "texts")
    if use not in uses:
        raise ValueError(f"`use` must be one of {list(uses)}. Received: use={use!r}")
    order = [score.key for score in SCORES]
    chosen = [metric for metric in METRICS.values() if use in metric.defaults]
    return tuple(
        metric.name for metric in sorted(chosen, key=lambda m: order.index(m.scores[0].key))
    )


DEFAULT_METRICS = default_metric_names("texts")


def score_texts(
    hypotheses: Sequence[str],
    references: Sequence[str | Sequence[str]],
    metrics: Sequence[str] | str = DEFAULT_METRICS,
) -> dict[str, Any]:
    """Scores hypotheses with several metrics into one JSON-serializable dict.

    Always present: `num_examples`, `mean_hypothesis_tokens` and `mean_reference_tokens`
    (whitespace tokens; for an item with several references, the mean of their lengths).
    Per metric name:

    - `"bleu"`: `bleu`, `bleu_signature`.
    - `"chrf"`: `chrf`, `chrf_signature`.
    - `"rouge"`: `rouge1`, `rouge2`, `rougeL` (F1 ×100, default rouge-score tokenizer).
    - `"exact_match"` or `"sequence_error_rate"`: both `exact_match` and
      `sequence_error_rate`, in percent.
    - `"token_error_rate"`: `token_error_rate` in percent, over whitespace tokens (may be
      `inf`, which `json.dumps` writes as `Infinity`, when every closest reference is empty).

    Args:
        hypotheses: list of str. Decoded outputs.
        references: list of str, or list of lists of str for several references per item.
        metrics: sequence of str, or one name. Which metrics to compute, from `METRIC_NAMES`.
            Defaults to `DEFAULT_METRICS`: every metric but `"sequence_error_rate"` (which
            `"exact_match"` reports anyway).

    Returns:
        A dict from the keys above to floats, ints and strings.

    Raises:
        ValueError: on an unknown metric name, or the input errors of `exact_match`.

    Example:
    >>> report = score_texts(["a b c", "d e"], ["a b c", "d f"], metrics=["exact_match"])
    >>> report["exact_match"], report["sequence_error_rate"], report["num_examples"]
    (50.0, 50.0, 2)
    """
    names = [metrics] if isinstance(metrics, str) else metrics
    if not _is_sequence(names):
        raise ValueError(
            f"`metrics` must be a list of metric names from {list(METRIC_NAMES)}. "
            f"Received: metrics={metrics!r}"
        )
    unknown = [name for name in names if name not in METRIC_NAMES]
    if unknown:
        raise ValueError(f"Unknown metric name(s) {unknown}. Valid names: {list(METRIC_NAMES)}.")
    hypotheses, references = _prepare(hypotheses, references)
    count = len(hypotheses)
    report: dict[str, Any] = {
        "num_examples": count,
        "mean_hypothesis_tokens": sum(len(h.split()) for h in hypotheses) / count,
        "mean_reference_tokens": sum(
            sum(len(r.split()) for r in refs) / len(refs) for refs in references
        )
        / count,
    }
    for metric in METRICS.values():
        if metric.name in names and not all(key in report for key in metric.keys):
            report.update(metric.compute(hypotheses, references))
    return report


def group_references(
    pairs: Iterable[tuple[str, str]],
) -> tuple[list[str], list[list[str]]]:
    """Groups `(source, target)` pairs by source, for sources with several references.

    A G2P dictionary lists a word once per pronunciation; scoring wants each word once with
    all of its pronunciations as references. Sources keep their first-seen order, targets
    their order within a source; a target repeated for the same source is kept once.

    Args:
        pairs: iterable of `(source, target)` string pairs.

    Returns:
        `(sources, references)`: the unique sources, and for each a list of its targets.
        Feed `sources` to the model and score its outputs against `references`.

    Raises:
        ValueError: if a pair is not two strings.

    Example:
    >>> group_references([("read", "R IY1 D"), ("cat", "K AE1 T"), ("read", "R EH1 D")])
    (['read', 'cat'], [['R IY1 D', 'R EH1 D'], ['K AE1 T']])
    """
    grouped: dict[str, list[str]] = {}
    for index, pair in enumerate(pairs):
        if (
            not _is_sequence(pair)
            or len(pair) != 2
            or not all(isinstance(item, str) for item in pair)
        ):
            raise ValueError(
                f"Each pair must be a (source, target) tuple of two strings. "
                f"Received: pairs[{index}]={pair!r}"
            )
        source, target = pair
        targets = grouped.setdefault(source, [])
        if target not in targets:
            targets.append(target)
    return list(grouped), list(grouped.values())
