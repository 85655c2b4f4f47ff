"""Tests for keras_seq2seq.evaluation.scoring: what each score means, in Python, CLI and export."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.cli import main
from keras_seq2seq.decoding.beam import length_penalty_factor
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.evaluation.scoring import PairScore, score_pairs
from keras_seq2seq.serving.export import build_serving_module
from keras_seq2seq.text.vocabulary import END_ID

SOURCES = ["abc", "hgfe", "a", "bbac"]


@pytest.fixture(scope="module")
def translator(tiny_run):
    return load(tiny_run)


def test_pair_score_fields_and_deprecated_name():
    result = PairScore(-3.0, -1.5, 2)
    assert PairScore._fields == ("score", "mean_log_prob", "tokens")
    with pytest.warns(DeprecationWarning, match=r"renamed mean_log_prob"):
        assert result.normalized_score == -1.5


def test_mean_log_prob_is_the_score_per_token(translator):
    pairs = [(source, source[::-1]) for source in SOURCES] + [("abc", "")]
    results = score_pairs(translator, pairs, batch_size=2)
    assert [r.tokens for r in results] == [4, 5, 2, 5, 1]  # characters and [END]
    for result in results:
        assert result.score < 0
        assert result.mean_log_prob == pytest.approx(result.score / result.tokens, rel=1e-6)


@pytest.mark.parametrize(
    ("options", "alpha"),
    [({}, 0.0), ({"beam_width": 3}, 0.0), ({"beam_width": 3, "length_penalty": 1.0}, 1.0)],
)
def test_normalized_score_is_the_gnmt_normalized_total(translator, options, alpha):
    # One meaning of "normalized score": the total log-probability (what score_pairs calls
    # `score`) over the GNMT length penalty; without a penalty it is the total itself.
    decoded = translator.decode(SOURCES, max_length=8, **options)[0]
    ended = (decoded.ids[:, 0] == END_ID).any(axis=1)
    outputs = [text.decode("utf-8") for text in decoded.outputs[:, 0]]
    scores = score_pairs(translator, list(zip(SOURCES, outputs, strict=True)))
    totals = np.array([s.score for s in scores])
    tokens = np.array([s.tokens for s in scores])
    penalty = length_penalty_factor(tf.constant(tokens), alpha).numpy()
    assert ended.any()
    np.testing.assert_allclose(decoded.scores[ended, 0], totals[ended], atol=1e-4)
    np.testing.assert_allclose(
        decoded.normalized_scores[ended, 0], (totals / penalty)[ended], atol=1e-4
    )
    if alpha == 0.0:
        np.testing.assert_array_equal(decoded.normalized_scores, decoded.scores)


def test_score_command_prints_score_mean_and_tokens(tiny_run, tmp_path, capsys):
    data = tmp_path / "pairs.tsv"
    data.write_text("abc\tcba\nabc\t\n", encoding="utf-8")
    argv = ["score", "--model", str(tiny_run), "--data", str(data)]
    assert main(argv) == 2
    assert "--allow-empty-targets" in capsys.readouterr().err
    assert main([*argv, "--allow-empty-targets"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [tokens for _, _, tokens in lines] == ["4", "1"]
    for score, mean, tokens in lines:
        assert float(mean) == pytest.approx(float(score) / int(tokens), abs=1e-4)


def test_score_signature_outputs_total_and_mean(translator):
    _, signatures = build_serving_module(translator)
    out = signatures["score"](tf.constant(["abc", "hgfe"]), tf.constant(["cba", "efgh"]))
    assert sorted(out) == ["mean_log_probs", "scores"]
    expected = score_pairs(translator, [("abc", "cba"), ("hgfe", "efgh")])
    np.testing.assert_allclose(out["scores"], [r.score for r in expected], rtol=1e-5)
    np.testing.assert_allclose(
        out["mean_log_probs"], [r.mean_log_prob for r in expected], rtol=1e-5
    )
