"""Ensembles, checkpoint averaging and scoring (models.ensemble, averaging, scoring)."""

import json

import keras
import numpy as np
import pytest

from keras_seq2seq.cli import main
from keras_seq2seq.config import TrainConfig
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.evaluation.scoring import score_pairs
from keras_seq2seq.models import Ensemble
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.training.averaging import average_checkpoints, checkpoint_files
from keras_seq2seq.training.fit import train
from tests.conftest import reverse_pairs
from tests.test_export import _b64, _decoded, serve_in_fresh_process

pytestmark = pytest.mark.slow
TEXTS = [source for source, _ in reverse_pairs(200, seed=41)]


@pytest.fixture(scope="module")
def second_run(tmp_path_factory):
    """Another model on the same pairs (so the same vocabularies), checkpoints kept."""
    return train(
        reverse_pairs(3000, seed=0),
        tmp_path_factory.mktemp("second"),
        validation_pairs=reverse_pairs(200, seed=1),
        model_options={"units": 24, "embedding_dim": 8, "cell": "gru"},
        train_config=TrainConfig(epochs=4, batch_size=32, patience=0, seed=3, keep_checkpoints=3),
        verbose=0,
    )


def test_an_ensemble_of_one_model_twice_is_that_model(reverse_run):
    single = load(reverse_run.run_dir)
    twice = load([reverse_run.run_dir, reverse_run.run_dir])
    assert isinstance(twice.model, Ensemble)
    assert twice.translate(TEXTS[:50]) == single.translate(TEXTS[:50])
    beam_single = single.translate(TEXTS[:10], beam_width=3, n_best=2)
    beam_twice = twice.translate(TEXTS[:10], beam_width=3, n_best=2)
    assert [[h.text for h in r] for r in beam_twice] == [[h.text for h in r] for r in beam_single]
    np.testing.assert_allclose([[h.score for h in r] for r in beam_twice],
                               [[h.score for h in r] for r in beam_single], atol=1e-4)  # fmt: skip


def test_ensemble_of_two_architectures_decodes_every_way(reverse_run, second_run):
    ensemble = load([reverse_run.run_dir, second_run.run_dir])
    greedy = ensemble.translate(TEXTS)
    accuracy = np.mean([o == t[::-1] for o, t in zip(greedy, TEXTS, strict=True)])
    assert accuracy > 0.8
    assert ensemble.translate(TEXTS[:20], beam_width=1) == greedy[:20]
    assert len(ensemble.translate(TEXTS[:5], beam_width=4, n_best=3)[0]) == 3
    sampled = ensemble.translate(TEXTS[:20], temperature=0.5, seed=1)
    assert sampled == ensemble.translate(TEXTS[:20], temperature=0.5, seed=1)


def test_ensemble_members_must_share_vocabularies(reverse_run):
    with pytest.raises(ValueError, match=r"must share their source tokenizer.*vocabulary of"):
        load([reverse_run.run_dir, "saved_models/dates"])


def test_exported_ensemble_is_one_saved_model(reverse_run, second_run, tmp_path):
    members = [reverse_run.run_dir, second_run.run_dir]
    version = export_model(members, tmp_path / "saved" / "ensemble")
    members_file = json.loads((version / "ensemble.json").read_text())
    assert members_file == {"members": ["members/0", "members/1"]}
    assert isinstance(load(version).model, Ensemble)
    calls = [
        {"signature": "serving_default", "texts": _b64(TEXTS)},
        {"signature": "beam_search", "texts": _b64(TEXTS), "beam_width": 4, "n_best": 1},
    ]
    greedy, beam = serve_in_fresh_process(version, calls, _b64(TEXTS[:5]), tmp_path)["results"]
    ensemble = load(members)
    assert [t.decode() for t in _decoded(greedy["outputs"])] == ensemble.translate(TEXTS)
    assert [t.decode() for t in _decoded(beam["outputs"])] == ensemble.translate(
        TEXTS, beam_width=4
    )


def test_score_agrees_with_the_beam_search_score(reverse_run, second_run):
    for translator in (load(reverse_run.run_dir), load([reverse_run.run_dir, second_run.run_dir])):
        beams = translator.translate(TEXTS[:30], beam_width=4, n_best=3)
        pairs = [(text, h.text) for text, row in zip(TEXTS[:30], beams, strict=True) for h in row]
        scores = score_pairs(translator, pairs, batch_size=16)
        expected = [h.score for row in beams for h in row]
        np.testing.assert_allclose([s.score for s in scores], expected, atol=2e-3)
        assert all(s.tokens == len(text) + 1 for s, (_, text) in zip(scores, pairs, strict=True))
    with pytest.raises(TypeError, match=r"Pair 1 must be two strings"):
        score_pairs(translator, [("a", "b"), ("a",)])


def test_score_command_prints_one_line_per_pair(reverse_run, tmp_path, capsys):
    data = tmp_path / "pairs.tsv"
    data.write_text("abc\tcba\nabc\tabc\n", encoding="utf-8")
    assert main(["score", "--model", str(reverse_run.run_dir), "--data", str(data)]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and float(lines[0][0]) > float(lines[1][0])  # the reversal is likelier


def test_checkpoint_averaging(second_run, tmp_path, capsys):
    kept = checkpoint_files(second_run.run_dir / "checkpoints")
    assert [p.name for p in kept] == ["epoch-002.weights.h5", "epoch-003.weights.h5",
                                      "epoch-004.weights.h5"]  # fmt: skip
    output = average_checkpoints(second_run.run_dir, tmp_path / "avg", last=2)
    averaged = keras.saving.load_model(output / "model.keras", compile=False)
    model = load(second_run.run_dir).model.training
    expected = []
    for path in kept[-2:]:
        model.load_weights(path)
        expected.append(model.get_weights())
    for got, first, last in zip(averaged.get_weights(), *expected, strict=True):
        np.testing.assert_allclose(got, (first + last) / 2, rtol=1e-6, atol=1e-7)
    assert load(output).translate(TEXTS[:5])
    assert json.loads((output / "training.json").read_text())["averaged_checkpoints"] == [
        "epoch-003.weights.h5", "epoch-004.weights.h5"]  # fmt: skip
    with pytest.raises(FileExistsError, match=r"already holds a model"):
        average_checkpoints(second_run.run_dir, output)
    assert main(["average", "--model", str(tmp_path / "avg"), "--output", str(tmp_path / "x")]) == 2
    assert "has no kept checkpoints" in capsys.readouterr().err
