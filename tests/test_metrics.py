"""Tests for keras_seq2seq.evaluation.metrics: hand-computed cases, sacrebleu, rouge-score."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from keras_seq2seq.evaluation import metrics
from keras_seq2seq.evaluation.metrics import (
    bleu,
    chrf,
    edit_distance,
    exact_match,
    group_references,
    normalize_references,
    rouge,
    score_texts,
    sequence_error_rate,
    token_error_rate,
)

SACREBLEU = Path(sys.executable).parent / "sacrebleu"

HYPOTHESES = [
    "the cat sat on the mat today",
    "dog",
    "A quick brown fox jumps over the lazy dog.",
    "I have been running all day long",
    "Das ist ein kleines Haus am See.",
    "we will meet again tomorrow morning",
]
REFERENCES_A = [
    "the cat sat on a mat today",
    "a big dog",
    "The quick brown fox jumped over the lazy dog.",
    "I ran all day",
    "Das ist ein kleines Häuschen am See.",
    "we meet again tomorrow",
]
REFERENCES_B = [
    "the cat is on the mat",
    "a dog",
    "A fast brown fox leaps over a lazy dog.",
    "I've been running the whole day",
    "Es ist ein kleines Haus am See.",
    "see you tomorrow morning",
]


def run_sacrebleu(tmp_path, hypotheses, reference_streams, *args):
    """Runs the sacrebleu console script on files and returns its JSON report."""
    hypothesis_file = tmp_path / "hyp.txt"
    hypothesis_file.write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
    reference_files = []
    for k, stream in enumerate(reference_streams):
        path = tmp_path / f"ref{k}.txt"
        path.write_text("\n".join(stream) + "\n", encoding="utf-8")
        reference_files.append(str(path))
    result = subprocess.run(
        [str(SACREBLEU), *reference_files, "-i", str(hypothesis_file), "-w", "4", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def without_nrefs(signature):
    return [field for field in signature.split("|") if not field.startswith("nrefs:")]


# normalize_references


def test_normalize_references_mixed_shapes():
    assert normalize_references(["a", ["b", "c"], ("d",)], 3) == [["a"], ["b", "c"], ["d"]]
    assert normalize_references([], 0) == []


def test_normalize_references_returns_new_lists():
    references = [["a", "b"]]
    normalized = normalize_references(references, 1)
    normalized[0].append("c")
    assert references == [["a", "b"]]


def test_normalize_references_length_mismatch():
    with pytest.raises(
        ValueError, match=r"one entry per hypothesis\. Received: 3 hypotheses and 2"
    ):
        normalize_references(["a", "b"], 3)


def test_normalize_references_empty_reference_list():
    with pytest.raises(ValueError, match=r"references\[1\] is an empty list"):
        normalize_references(["a", []], 2)


@pytest.mark.parametrize(
    ("references", "message"),
    [
        ("a b", "must be a list with one entry per hypothesis"),
        ([3], r"string or a list of strings. Received: references\[0\]=3"),
        ([["a", None]], r"Each reference must be a string. Received: references\[0\]\[1\]=None"),
        ([b"a"], r"references\[0\]=b'a' of type bytes"),
    ],
)
def test_normalize_references_wrong_types(references, message):
    with pytest.raises(ValueError, match=message):
        normalize_references(references, 1)


@pytest.mark.parametrize("num_hypotheses", [-1, 1.0, True])
def test_normalize_references_bad_num_hypotheses(num_hypotheses):
    with pytest.raises(ValueError, match="`num_hypotheses` must be"):
        normalize_references(["a"], num_hypotheses)


# exact match / sequence error rate


def test_exact_match_single_reference():
    hypotheses = ["HH AH0 L OW1", " K AE1 T ", "D AO1 G", ""]
    references = ["HH AH0 L OW1", "K AE1 T", "D AA1 G", "S"]
    assert exact_match(hypotheses, references) == 0.5  # outer whitespace is ignored
    assert sequence_error_rate(hypotheses, references) == 0.5


def test_exact_match_second_reference_counts():
    hypotheses = ["R EH1 D", "R IY1 D"]
    references = [["R IY1 D", "R EH1 D"], ["R EH1 D"]]
    assert exact_match(hypotheses, references) == 0.5


def test_exact_match_is_case_and_inner_space_sensitive():
    assert exact_match(["a  b", "A"], ["a b", "a"]) == 0.0


def test_exact_match_empty_hypothesis_and_empty_reference():
    assert exact_match(["", ""], [[""], ["x"]]) == 0.5


def test_exact_match_errors():
    with pytest.raises(ValueError, match="`hypotheses` is empty"):
        exact_match([], [])
    with pytest.raises(ValueError, match=r"must be a list of strings\. Received: hypotheses of"):
        exact_match("abc", ["abc"])
    with pytest.raises(ValueError, match=r"hypotheses\[1\]=b'x'.*decode\('utf-8'\)"):
        exact_match(["x", b"x"], ["x", "x"])
    with pytest.raises(ValueError, match=r"references\[0\] is an empty list"):
        exact_match(["x"], [[]])
    with pytest.raises(ValueError, match="Received: 1 hypotheses and 2 references"):
        sequence_error_rate(["x"], ["x", "y"])


# edit distance


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "ab", 2),
        ("abc", "abc", 0),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("ab", "ba", 2),  # no transpositions in Levenshtein
        ("intention", "execution", 5),
        (["HH", "AH0", "L", "OW1"], ["HH", "EH0", "L", "OW1"], 1),
        (["a", "b", "c", "d"], ["b", "c"], 2),
        (("x",), ["x", "x", "x"], 2),
    ],
)
def test_edit_distance(a, b, expected):
    assert edit_distance(a, b) == expected
    assert edit_distance(b, a) == expected


# token error rate (WER / PER)


def test_token_error_rate_words():
    # 1 substitution + 1 deletion over 6 reference words, then 1 insertion over 2.
    hypotheses = ["the cat sat on mat", "hello big world"]
    references = ["the cat sat on the rug", "hello world"]
    assert token_error_rate(hypotheses, references) == pytest.approx(3 / 8)


def test_token_error_rate_uses_closest_reference():
    hypotheses = ["R EH1 D", "T AH0 M EY1 T OW2"]
    references = [
        ["R IY1 D", "R EH1 D"],  # 0 errors against the second
        ["T AH0 M AA1 T OW2 Z", "T AH0 M EY1 T OW2 Z Z Z"],  # 2 vs 3: the first, length 7
    ]
    assert token_error_rate(hypotheses, references) == pytest.approx(2 / (3 + 7))


def test_token_error_rate_tie_takes_the_shorter_reference():
    # Both references are 1 edit away; the shorter (length 2) is the denominator.
    assert token_error_rate(["a b c"], [["a b c d", "a b"]]) == pytest.approx(1 / 2)
    assert token_error_rate(["a b c"], [["a b", "a b c d"]]) == pytest.approx(1 / 2)


def test_token_error_rate_empty_hypothesis_counts_deletions():
    assert token_error_rate(["", "a b"], ["x y z", "a b"]) == pytest.approx(3 / 5)


def test_token_error_rate_characters():
    assert token_error_rate(["kitten"], ["sitting"], tokenize=list) == pytest.approx(3 / 7)


def test_token_error_rate_can_exceed_one():
    assert token_error_rate(["a b c d"], ["x"]) == pytest.approx(4.0)


def test_token_error_rate_zero_denominator():
    assert token_error_rate([""], [""]) == 0.0
    assert token_error_rate(["a", ""], ["", ""]) == math.inf


def test_token_error_rate_bad_tokenize():
    with pytest.raises(ValueError, match="`tokenize` must be a callable"):
        token_error_rate(["a"], ["a"], tokenize="split")


# BLEU / chrF against the sacrebleu command line


@pytest.mark.slow
def test_bleu_matches_command_line_one_reference(tmp_path):
    score, signature = bleu(HYPOTHESES, REFERENCES_A)
    expected = run_sacrebleu(tmp_path, HYPOTHESES, [REFERENCES_A])
    assert round(score, 2) == round(expected["score"], 2)
    assert signature == expected["signature"]
    assert signature.startswith("nrefs:1|")


@pytest.mark.slow
def test_bleu_matches_command_line_two_references(tmp_path):
    references = [[a, b] for a, b in zip(REFERENCES_A, REFERENCES_B, strict=True)]
    score, signature = bleu(HYPOTHESES, references)
    expected = run_sacrebleu(tmp_path, HYPOTHESES, [REFERENCES_A, REFERENCES_B])
    assert round(score, 2) == round(expected["score"], 2)
    assert signature == expected["signature"]


@pytest.mark.slow
def test_bleu_matches_command_line_char_tokenizer(tmp_path):
    score, signature = bleu(HYPOTHESES, REFERENCES_A, tokenize="char")
    expected = run_sacrebleu(tmp_path, HYPOTHESES, [REFERENCES_A], "-tok", "char")
    assert round(score, 2) == round(expected["score"], 2)
    assert signature == expected["signature"]


@pytest.mark.slow
def test_bleu_variable_number_of_references(tmp_path):
    # Items 1 and 3 have one reference, the others two. Repeating an item's reference changes
    # neither its clipped n-gram counts nor its closest reference length, so the command line
    # on reference files padded that way must agree.
    references = [[a, b] for a, b in zip(REFERENCES_A, REFERENCES_B, strict=True)]
    references[1] = [REFERENCES_A[1]]
    references[3] = [REFERENCES_A[3]]
    padded_b = [refs[-1] for refs in references]
    score, signature = bleu(HYPOTHESES, references)
    expected = run_sacrebleu(tmp_path, HYPOTHESES, [REFERENCES_A, padded_b])
    assert round(score, 2) == round(expected["score"], 2)
    assert signature.startswith("nrefs:var|")
    assert without_nrefs(signature) == without_nrefs(expected["signature"])


@pytest.mark.slow
def test_bleu_variable_references_are_not_padded_with_empty_strings(tmp_path):
    # "dog" is closer in length to an empty reference than to "a big dog": an empty-string
    # pad would shrink the corpus reference length and lift the brevity penalty.
    hypotheses = ["the cat sat on the mat today", "dog"]
    references = [["the cat sat on a mat today", "the cat is on the mat"], ["a big dog"]]
    score, _ = bleu(hypotheses, references)
    streams = [[refs[0] for refs in references], [references[0][1], "a big dog"]]
    assert round(score, 2) == round(run_sacrebleu(tmp_path, hypotheses, streams)["score"], 2)
    streams[1][1] = ""
    assert run_sacrebleu(tmp_path, hypotheses, streams)["score"] > score + 10


@pytest.mark.slow
def test_chrf_matches_command_line(tmp_path):
    score, signature = chrf(HYPOTHESES, REFERENCES_A)
    expected = run_sacrebleu(tmp_path, HYPOTHESES, [REFERENCES_A], "-m", "chrf")
    assert round(score, 2) == round(expected["score"], 2)
    assert signature == expected["signature"]


@pytest.mark.slow
def test_chrf_plus_plus_matches_command_line_two_references(tmp_path):
    references = [[a, b] for a, b in zip(REFERENCES_A, REFERENCES_B, strict=True)]
    score, signature = chrf(HYPOTHESES, references, word_order=2)
    expected = run_sacrebleu(
        tmp_path,
        HYPOTHESES,
        [REFERENCES_A, REFERENCES_B],
        "-m",
        "chrf",
        "--chrf-word-order",
        "2",
    )
    assert round(score, 2) == round(expected["score"], 2)
    assert signature == expected["signature"]


@pytest.mark.slow
def test_chrf_variable_number_of_references(tmp_path):
    references = [[a, b] for a, b in zip(REFERENCES_A, REFERENCES_B, strict=True)]
    references[0] = [REFERENCES_A[0]]
    padded_b = [refs[-1] for refs in references]
    score, signature = chrf(HYPOTHESES, references)
    expected = run_sacrebleu(tmp_path, HYPOTHESES, [REFERENCES_A, padded_b], "-m", "chrf")
    assert round(score, 2) == round(expected["score"], 2)
    assert signature.startswith("nrefs:var|")


def test_bleu_and_chrf_perfect_match():
    assert bleu(["a b c d e"], ["a b c d e"])[0] == pytest.approx(100.0)
    assert chrf(["a b c d e"], [["x", "a b c d e"]])[0] == pytest.approx(100.0)


def test_bleu_and_chrf_errors():
    with pytest.raises(ValueError, match="`tokenize` must be one of"):
        bleu(["a"], ["a"], tokenize="moses")
    with pytest.raises(ValueError, match="`word_order` must be a non-negative integer"):
        chrf(["a"], ["a"], word_order=-1)
    with pytest.raises(ValueError, match="`hypotheses` is empty"):
        bleu([], [])
    with pytest.raises(ValueError, match="one entry per hypothesis"):
        chrf(["a"], [])


# ROUGE against rouge-score used directly


def test_rouge_matches_rouge_score_one_reference():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    expected = dict.fromkeys(["rouge1", "rouge2", "rougeL"], 0.0)
    for hypothesis, reference in zip(HYPOTHESES, REFERENCES_A, strict=True):
        scores = scorer.score(reference, hypothesis)
        for name in expected:
            expected[name] += 100 * scores[name].fmeasure / len(HYPOTHESES)
    result = rouge(HYPOTHESES, REFERENCES_A)
    assert result.keys() == expected.keys()
    for name, value in expected.items():
        assert result[name] == pytest.approx(value)


def test_rouge_several_references_takes_best_per_item():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    references = [[a, b] for a, b in zip(REFERENCES_A, REFERENCES_B, strict=True)]
    result = rouge(HYPOTHESES, references, use_stemmer=False)
    for name in ("rouge1", "rouge2", "rougeL"):
        best = [
            max(scorer.score(reference, hypothesis)[name].fmeasure for reference in refs)
            for hypothesis, refs in zip(HYPOTHESES, references, strict=True)
        ]
        assert result[name] == pytest.approx(100 * sum(best) / len(best))
    one = rouge(HYPOTHESES, REFERENCES_A, use_stemmer=False)
    assert all(result[name] >= one[name] for name in one)


def test_rouge_hand_case():
    # Unigrams: 2 of 3 match both ways; bigrams: 1 of 2; LCS "the cat" = 2.
    result = rouge(["the cat ran"], ["the cat sat"], use_stemmer=False)
    assert result["rouge1"] == pytest.approx(100 * 2 / 3)
    assert result["rouge2"] == pytest.approx(50.0)
    assert result["rougeL"] == pytest.approx(100 * 2 / 3)


def test_rouge_default_tokenizer_drops_non_ascii_and_custom_tokenizer_keeps_it():
    hypotheses = ["привет мир"]
    assert rouge(hypotheses, hypotheses)["rouge1"] == 0.0
    assert rouge(hypotheses, hypotheses, tokenizer=str.split)["rouge1"] == pytest.approx(100.0)

    from rouge_score import tokenizers

    class SplitTokenizer(tokenizers.Tokenizer):
        def tokenize(self, text):
            return text.split()

    scores = rouge(hypotheses, ["привет всем"], tokenizer=SplitTokenizer())
    assert scores["rouge1"] == pytest.approx(50.0)


def test_rouge_bad_tokenizer():
    with pytest.raises(ValueError, match="`tokenizer` must be None, an object with"):
        rouge(["a"], ["a"], tokenizer=3)


# score_texts


def test_score_texts_keys_and_values():
    hypotheses = ["R EH1 D", "K AE1 T", "D AO1 G Z"]
    references = [["R IY1 D", "R EH1 D"], "K AE1 T", ["D AO1 G"]]
    report = score_texts(hypotheses, references)
    assert set(report) == {
        "num_examples",
        "mean_hypothesis_tokens",
        "mean_reference_tokens",
        "bleu",
        "bleu_signature",
        "chrf",
        "chrf_signature",
        "rouge1",
        "rouge2",
        "rougeL",
        "exact_match",
        "sequence_error_rate",
        "token_error_rate",
    }
    assert report["num_examples"] == 3
    assert report["mean_hypothesis_tokens"] == pytest.approx(10 / 3)
    assert report["mean_reference_tokens"] == pytest.approx(3.0)
    assert report["exact_match"] == pytest.approx(100 * 2 / 3)
    assert report["sequence_error_rate"] == pytest.approx(100 / 3)
    assert report["token_error_rate"] == pytest.approx(100 * 1 / 9)
    assert (report["bleu"], report["bleu_signature"]) == bleu(hypotheses, references)
    assert (report["chrf"], report["chrf_signature"]) == chrf(hypotheses, references)
    assert report["bleu_signature"].startswith("nrefs:var|")
    for name, value in rouge(hypotheses, references).items():
        assert report[name] == value
    assert json.loads(json.dumps(report)) == report


def test_score_texts_subset_of_metrics():
    report = score_texts(["a b", "c"], ["a b", "d"], metrics=["token_error_rate"])
    assert report == {
        "num_examples": 2,
        "mean_hypothesis_tokens": 1.5,
        "mean_reference_tokens": 1.5,
        "token_error_rate": pytest.approx(100 / 3),
    }
    assert set(score_texts(["a"], ["a"], metrics="sequence_error_rate")) == {
        "num_examples",
        "mean_hypothesis_tokens",
        "mean_reference_tokens",
        "exact_match",
        "sequence_error_rate",
    }
    assert set(score_texts(["a"], ["a"], metrics="rouge")) >= set(metrics.ROUGE_TYPES)


def test_score_texts_errors():
    with pytest.raises(ValueError, match=r"Unknown metric name\(s\) \['wer'\]. Valid names: "):
        score_texts(["a"], ["a"], metrics=["bleu", "wer"])
    with pytest.raises(ValueError, match="`metrics` must be a list of metric names"):
        score_texts(["a"], ["a"], metrics=3)
    with pytest.raises(ValueError, match="`hypotheses` is empty"):
        score_texts([], [])
    with pytest.raises(ValueError, match=r"references\[0\] is an empty list"):
        score_texts(["a"], [[]])


# group_references


def test_group_references():
    pairs = [
        ("read", "R IY1 D"),
        ("cat", "K AE1 T"),
        ("read", "R EH1 D"),
        ("read", "R IY1 D"),  # a duplicated line adds no reference
        ("live", "L IH1 V"),
        ("live", "L AY1 V"),
    ]
    sources, references = group_references(pairs)
    assert sources == ["read", "cat", "live"]
    assert references == [["R IY1 D", "R EH1 D"], ["K AE1 T"], ["L IH1 V", "L AY1 V"]]
    assert exact_match(["R EH1 D", "K AE1 T", "L IH1 V"], references) == 1.0


def test_group_references_accepts_any_iterable_and_empty():
    assert group_references(iter([["a", "x"]])) == (["a"], [["x"]])
    assert group_references([]) == ([], [])


@pytest.mark.parametrize("pair", [("a",), ("a", "b", "c"), ("a", 1), "ab"])
def test_group_references_bad_pair(pair):
    with pytest.raises(ValueError, match=r"Each pair must be a \(source, target\) tuple"):
        group_references([("ok", "ok"), pair])


# the metric registry


def test_every_registered_metric_reports_its_scores():
    hypotheses, references = ["a b c", "d e"], [["a b c"], ["d f"]]
    for name, metric in metrics.METRICS.items():
        assert metric.name == name
        entries = metric.compute(hypotheses, [list(refs) for refs in references])
        assert set(metric.keys) <= set(entries), name
        report = score_texts(hypotheses, references, metrics=[name])
        assert {key: report[key] for key in metric.keys} == {k: entries[k] for k in metric.keys}
    assert tuple(metrics.METRICS) == metrics.METRIC_NAMES
    match = metrics.METRICS["sequence_error_rate"].compute(hypotheses, references)
    assert match == {"exact_match": 50.0, "sequence_error_rate": 50.0}


def test_scores_are_listed_rates_first_with_their_labels_and_direction():
    keys = [score.key for score in metrics.SCORES]
    assert keys == ["exact_match", "sequence_error_rate", "token_error_rate", "bleu", "chrf",
                    "rouge1", "rouge2", "rougeL"]  # fmt: skip
    labels = {score.key: score.label for score in metrics.SCORES}
    assert labels["exact_match"] == "exact match (%)"
    assert labels["sequence_error_rate"] == "sequence error rate (%) [G2P 'WER']"
    assert labels["rougeL"] == "ROUGE-L F1"
    modes = {score.key: score.mode for score in metrics.SCORES}
    assert modes["token_error_rate"] == "min" and modes["chrf"] == "max"
    assert [s.key for s in metrics.HEADLINE_SCORES] == keys[:5]


def test_monitors_come_from_the_registry():
    from keras_seq2seq.config import MONITORS

    expected = {"val_loss": "min"}
    for score in metrics.HEADLINE_SCORES:
        expected[f"val_{score.key}"] = "max" if score.higher_is_better else "min"
    assert expected == MONITORS
    assert MONITORS["val_sequence_error_rate"] == "min" and MONITORS["val_bleu"] == "max"


def test_default_metric_names_per_use():
    assert metrics.default_metric_names("char") == ("exact_match", "token_error_rate", "chrf")
    assert metrics.default_metric_names("training") == ("exact_match", "token_error_rate", "bleu")
    assert set(metrics.DEFAULT_METRICS) == set(metrics.METRIC_NAMES) - {"sequence_error_rate"}
    with pytest.raises(ValueError, match=r"`use` must be one of \['char', 'word'"):
        metrics.default_metric_names("summaries")
