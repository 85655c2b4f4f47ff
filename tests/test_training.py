import io
import json
import sys

import keras
import numpy as np
import pytest

from keras_seq2seq.config import TrainConfig
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.training.fit import _checked_verbosity, default_verbosity, train
from keras_seq2seq.training.run_dir import resolve_run_dir
from tests.conftest import reverse_pairs

pytestmark = pytest.mark.slow


def test_learns_to_reverse_strings(reverse_run):
    translator = load(reverse_run.run_dir)
    test = reverse_pairs(300, seed=99)
    outputs = translator.translate([source for source, _ in test])
    accuracy = np.mean([out == ref for out, (_, ref) in zip(outputs, test, strict=True)])
    assert accuracy >= 0.95, f"exact match {accuracy:.3f}"


def test_run_directory_contents(reverse_run):
    names = {path.name for path in reverse_run.run_dir.iterdir()}
    assert {"config.json", "source_vocab.txt", "target_vocab.txt", "model.keras"} <= names
    assert {"history.json", "logs"} <= names
    assert "backup" not in names  # BackupAndRestore cleans up after a finished run
    history = json.loads((reverse_run.run_dir / "history.json").read_text())
    assert len(history["loss"]) == 10 and history["loss"][-1] < history["loss"][0]
    assert "val_masked_accuracy" in history


def test_save_load_gives_identical_translations(reverse_run, tmp_path):
    first = load(reverse_run.run_dir)
    texts = [source for source, _ in reverse_pairs(50, seed=5)] + ["", "zzz", "a" * 40]
    expected = first.translate(texts)
    # Reload the .keras file on its own: no custom objects needed, safe mode on.
    model = keras.saving.load_model(reverse_run.run_dir / "model.keras", safe_mode=True)
    assert model.name == "seq2seq"
    assert load(reverse_run.run_dir).translate(texts) == expected
    assert len(expected) == len(texts)


def test_beam_search_and_n_best(reverse_run):
    translator = load(reverse_run.run_dir)
    hyps = translator.translate(["abcd", ""], beam_width=4, n_best=3)
    assert [len(h) for h in hyps] == [3, 3]
    assert hyps[0][0].text == "dcba"
    scores = [h.normalized_score for h in hyps[0]]
    assert scores == sorted(scores, reverse=True)
    assert translator.translate("abcd", beam_width=4) == "dcba"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"beam_width": 0}, r"`beam_width` must be a positive integer. Received: beam_width=0"),
        ({"beam_width": 2, "n_best": 3}, r"`n_best` must be at most 2"),
        ({"max_length": -1}, r"`max_length` must be a positive integer"),
        ({"length_penalty": -0.5}, r"`length_penalty` must be a non-negative finite number"),
        ({"batch_size": 0}, r"`batch_size` must be a positive integer"),
    ],
)
def test_translate_option_errors(reverse_run, options, match):
    with pytest.raises(ValueError, match=match):
        load(reverse_run.run_dir).translate(["abc"], **options)


def test_translate_type_error(reverse_run):
    with pytest.raises(TypeError, match=r"Item 1 is int"):
        load(reverse_run.run_dir).translate(["abc", 3])


def test_load_errors(tmp_path, reverse_run):
    with pytest.raises(FileNotFoundError, match=r"Model path not found"):
        load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"missing config.json, source_vocab.txt"):
        load(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in reverse_run.run_dir.iterdir():
        if path.is_file():
            (broken / path.name).write_bytes(path.read_bytes())
    (broken / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"model.keras is corrupt: it is not a valid Keras"):
        load(broken)


def test_resolve_newest_version(tmp_path, reverse_run):
    for version in ("1", "2", "10"):
        target = tmp_path / "base" / version
        target.mkdir(parents=True)
        for path in reverse_run.run_dir.iterdir():
            if path.is_file():
                (target / path.name).write_bytes(path.read_bytes())
    assert resolve_run_dir(tmp_path / "base").name == "10"


def test_train_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"dataset is empty"):
        train([], tmp_path / "run")
    with pytest.raises(ValueError, match=r"`source_vocabulary_size` is set from the data"):
        train([("a", "b")], tmp_path / "run", model_options={"source_vocabulary_size": 9})
    with pytest.raises(ValueError, match=r"`units` must be a positive integer"):
        train(
            [("ab", "ba")] * 4,
            tmp_path / "run",
            model_options={"units": 0},
            train_config=TrainConfig(epochs=1),
            verbose=0,
        )


def test_beam_width_one_equals_greedy_on_trained_model(reverse_run):
    import tensorflow as tf

    from keras_seq2seq.decoding import beam_search, greedy_search
    from keras_seq2seq.models.protocol import SourceBatch
    from keras_seq2seq.text.vocabulary import END_ID, START_ID

    translator = load(reverse_run.run_dir)
    texts = [source for source, _ in reverse_pairs(64, seed=11, max_len=12)] + [""]
    source_ids = translator.encode_source(tf.constant(texts))
    state, context = translator.model.encode(SourceBatch(source_ids, 20))
    step = translator.step_function(context)
    common = {"start_id": START_ID, "end_id": END_ID, "max_length": 20}
    greedy = greedy_search(step, state, **common)
    beam = beam_search(step, state, beam_width=1, reorder_fn=translator.model.reorder, **common)
    np.testing.assert_array_equal(beam.ids[:, 0].numpy(), greedy.ids.numpy())
    np.testing.assert_array_equal(beam.scores[:, 0].numpy(), greedy.scores.numpy())
    np.testing.assert_array_equal(beam.lengths[:, 0].numpy(), greedy.lengths.numpy())


@pytest.mark.parametrize("beam_width", [1, 3])
def test_mixed_length_batch_equals_one_at_a_time(reverse_run, beam_width):
    translator = load(reverse_run.run_dir)
    texts = ["a", "hgfedcba", "", "abcabcabcabc", "cd"]
    n_best = min(2, beam_width)
    batched = translator.translate(texts, beam_width=beam_width, n_best=n_best)
    for text, hyps in zip(texts, batched, strict=True):
        alone = translator.translate([text], beam_width=beam_width, n_best=n_best)[0]
        if n_best == 1:
            assert alone == hyps
            continue
        assert [h.text for h in alone] == [h.text for h in hyps]
        np.testing.assert_allclose([h.score for h in alone], [h.score for h in hyps], atol=1e-4)


def test_relative_max_length_caps_each_output(reverse_run):
    translator = load(reverse_run.run_dir)
    texts = ["abcdef", "ab"]
    full = translator.decode(texts)[0]
    capped = translator.decode(texts, max_length_ratio=0.5)[0]
    # ceil(0.5 * 6) + 1 = 4 and ceil(0.5 * 2) + 1 = 2 tokens, [END] included.
    assert (full.ids[:, 0] != 0).sum(axis=1).tolist() == [7, 3]
    assert (capped.ids[:, 0] != 0).sum(axis=1).tolist() == [4, 2]
    assert [t.decode() for t in capped.outputs[:, 0]] == ["fedc", "ba"]


def test_sampling_is_seeded_and_low_temperature_is_greedy(reverse_run):
    translator = load(reverse_run.run_dir)
    texts = [source for source, _ in reverse_pairs(40, seed=21)]
    greedy = translator.translate(texts)
    assert translator.translate(texts, temperature=1e-3) == greedy
    assert translator.translate(texts, temperature=1.0, top_k=1) == greedy
    hot = translator.translate(texts, temperature=3.0, seed=7)
    assert hot == translator.translate(texts, temperature=3.0, seed=7)
    assert hot != greedy
    with pytest.raises(ValueError, match=r"use beam_width=1"):
        translator.translate(texts, temperature=1.0, beam_width=2)
    with pytest.raises(ValueError, match=r"`temperature` must be a positive finite number"):
        translator.translate(texts, temperature=0.0)
    with pytest.raises(ValueError, match=r"also pass `temperature`"):
        translator.translate(texts, top_k=3)
    ratio_error = (
        r"`max_length_ratio` must be a positive finite number\. Received: max_length_ratio=-1\."
    )
    with pytest.raises(ValueError, match=ratio_error):
        translator.translate(texts, max_length_ratio=-1)


def test_min_score_refuses_low_scores_and_evaluate_suggests_one(reverse_run):
    import warnings

    from keras_seq2seq.errors import RefusalWarning
    from keras_seq2seq.evaluation.evaluate import evaluate

    translator = load(reverse_run.run_dir)
    texts = [source for source, _ in reverse_pairs(60, seed=31)] + ["zzzzqqqqzzzz"]
    (decoded,) = translator.decode(texts)
    assert decoded.accepted.all()
    scores = decoded.normalized_scores[:, 0]
    threshold = float(np.median(scores))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refused = translator.translate(texts, min_score=threshold)
    below = scores < threshold
    empty = [o == b"" for o in decoded.outputs[:, 0]]
    assert [out == "" for out in refused] == [
        bool(b) or e for b, e in zip(below, empty, strict=True)
    ]
    counted = [w.message for w in caught if isinstance(w.message, RefusalWarning)]
    assert len(counted) == 1 and counted[0].count == int(below.sum())
    hypotheses = translator.translate(texts[:3], beam_width=3, n_best=2, min_score=0.0)
    assert all(not h.accepted and h.text == "" for row in hypotheses for h in row)
    report = evaluate(translator, reverse_pairs(200, seed=32), progress=False)
    thresholds = report["refusal_thresholds"]
    assert list(thresholds) == ["0.1%", "0.5%", "1%", "2%", "5%"]
    assert thresholds["0.1%"] <= thresholds["1%"] <= thresholds["5%"] <= 0.0
    strict = evaluate(translator, reverse_pairs(200, seed=32), progress=False,
                      min_score=thresholds["5%"])  # fmt: skip
    assert strict["refused"] > 0 and strict["exact_match"] >= report["exact_match"] - 6.0


def test_best_epoch_and_early_stopping_on_a_decoded_metric(tmp_path):
    result = train(
        reverse_pairs(400, seed=5),
        tmp_path / "run",
        validation_pairs=reverse_pairs(40, seed=6),
        model_options={"units": 8, "embedding_dim": 4},
        train_config=TrainConfig(epochs=2, batch_size=32, monitor="val_sequence_error_rate"),
        verbose=0,
    )
    history = result.history
    assert len(history["val_sequence_error_rate"]) == 2 and "val_exact_match" in history
    with pytest.raises(ValueError, match=r"`monitor` must be one of"):
        TrainConfig(monitor="val_wer")
    with pytest.raises(ValueError, match=r"decodes the validation pairs, and there are none"):
        config = TrainConfig(epochs=1, monitor="val_bleu", validation_fraction=0.0)
        train(reverse_pairs(40, seed=5), tmp_path / "none", verbose=0, train_config=config)


class _Stream(io.StringIO):
    """A stdout that is a terminal or not."""

    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_bar_only_on_a_terminal(tmp_path, monkeypatch, terminal):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    stdout = _Stream(terminal)
    monkeypatch.setattr(sys, "stdout", stdout)
    train(
        reverse_pairs(40, seed=3),
        tmp_path / "run",
        model_options={"units": 8, "embedding_dim": 8},
        train_config=TrainConfig(epochs=2, batch_size=8, patience=0),
    )
    output = stdout.getvalue()
    assert "Epoch 1/2" in output and "Epoch 2/2" in output
    bar_codes = ("\x08", "\r", "\x1b")
    if terminal:
        assert all(code in output for code in bar_codes)
    else:  # redirected: one plain line per epoch
        assert not any(code in output for code in bar_codes)
        assert len([line for line in output.splitlines() if " - loss: " in line]) == 2


def test_default_verbosity_and_explicit_verbose(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setattr(sys, "stdout", _Stream(terminal=False))
    assert default_verbosity() == 2
    assert [_checked_verbosity(v) for v in ("auto", 0, 1, 2)] == [2, 0, 1, 2]  # explicit wins
    monkeypatch.setattr(sys, "stdout", _Stream(terminal=True))
    assert default_verbosity() == 1
    monkeypatch.setattr(sys, "stdout", None)  # e.g. pythonw
    assert default_verbosity() == 2
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # a Jupyter kernel shows the bar
    assert default_verbosity() == 1


@pytest.mark.parametrize("verbose", [3, -1, "yes", 1.0, None])
def test_train_rejects_a_bad_verbose(tmp_path, verbose):
    with pytest.raises(ValueError, match=r"`verbose` must be 0 \(silent\), 1 \(progress bar\), "):
        train([("ab", "ba")] * 4, tmp_path / "run", verbose=verbose)
    assert not (tmp_path / "run").exists()
