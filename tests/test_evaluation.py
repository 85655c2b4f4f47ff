"""Tests for evaluation.evaluate, training.callbacks, evaluation.plotting and their CLI."""

import json
import os
from pathlib import Path

import keras
import pytest

from keras_seq2seq.cli import main
from keras_seq2seq.config import ModelConfig, RunConfig, TextConfig, TrainConfig
from keras_seq2seq.data.pipeline import encode_pairs, make_dataset
from keras_seq2seq.decoding.translator import Translator, load
from keras_seq2seq.evaluation.evaluate import (
    check_metrics,
    default_metrics,
    evaluate,
    format_report,
    recorded_evaluation_path,
    score_decoded,
    write_hypotheses,
    write_report,
)
from keras_seq2seq.evaluation.plotting import attention_tokens, plot_attention
from keras_seq2seq.models import build_seq2seq
from keras_seq2seq.text.tokenizers import fit_tokenizer
from keras_seq2seq.training.callbacks import DecodedMetricsCallback
from keras_seq2seq.training.fit import compile_model
from keras_seq2seq.training.recipes import load_pairs
from tests.conftest import reverse_pairs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _untrained(pairs, attention="dot"):
    """A Translator over a freshly built (untrained) tiny model, plus its parts."""
    source = fit_tokenizer(TextConfig(), [s for s, _ in pairs])
    target = fit_tokenizer(TextConfig(), [t for _, t in pairs])
    model_config = ModelConfig(
        source.vocabulary_size, target.vocabulary_size, units=8, embedding_dim=4,
        attention=attention,
    )  # fmt: skip
    text = TextConfig(max_length=12)
    config = RunConfig(model_config, text, text, TrainConfig(epochs=1, batch_size=16))
    models = build_seq2seq(model_config)
    return Translator(models, source, target, config), models, source, target, config


# -- scoring and report helpers (no model) --------------------------------------------------


def test_default_metrics_follow_the_target_tokenizer():
    assert default_metrics("char") == ("exact_match", "token_error_rate", "chrf")
    assert default_metrics("word") == ("exact_match", "token_error_rate", "bleu", "chrf")


def test_score_decoded_counts_token_errors_in_model_units():
    chars = score_decoded(["cba"], [["cbb"]], metrics=["token_error_rate"], target_tokenizer="char")
    assert chars["token_error_rate"] == pytest.approx(100 / 3)
    assert chars["token_error_rate_unit"] == "CER"
    words = score_decoded(
        ["K AE1 T"], [["K AA1 T S", "K AE1 T S"]], metrics=["token_error_rate", "exact_match"]
    )
    # Closest reference "K AE1 T S": one deletion over 4 phones; no exact match.
    assert words["token_error_rate"] == pytest.approx(25.0)
    assert words["token_error_rate_unit"] == "WER/PER"
    assert words["exact_match"] == 0.0 and words["sequence_error_rate"] == 100.0


@pytest.mark.parametrize(
    ("metrics", "match"),
    [
        (["bleu", "wer"], r"from \['bleu'.*Received: metrics=\['bleu', 'wer'\]"),
        ([], r"at least one metric"),
        ([3], r"must be a list of metric names"),
    ],
)
def test_check_metrics_errors(metrics, match):
    with pytest.raises(ValueError, match=match):
        check_metrics(metrics)


def test_report_writers(tmp_path):
    report = {
        "model": "runs/x",
        "num_examples": 2,
        "num_references": 3,
        "beam_width": 4,
        "length_penalty": 0.6,
        "exact_match": 50.0,
        "token_error_rate": 12.5,
        "token_error_rate_unit": "WER/PER",
        "bleu": 41.23,
        "bleu_signature": "nrefs:var|tok:13a",
        "examples": [
            {"source": "read", "references": ["R IY1 D", "R EH1 D"], "hypothesis": "R IY1 D"},
            {"source": "a\tb", "references": ["x\ny"], "hypothesis": "z"},
        ],
    }
    table = format_report(report)
    assert "examples" in table and "2 (3 references)" in table
    assert "beam 4, length penalty 0.6" in table
    assert "token error rate (%) [WER/PER]" in table and "12.50" in table
    assert "41.23" in table and "nrefs:var|tok:13a" in table
    path = write_report(report, tmp_path / "sub" / "report.json")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert "examples" not in saved and saved["bleu"] == 41.23
    lines = write_hypotheses(report, tmp_path / "h.tsv").read_text(encoding="utf-8").splitlines()
    assert lines == ["read\tR IY1 D | R EH1 D\tR IY1 D", "a b\tx y\tz"]
    with pytest.raises(ValueError, match=r"no 'examples' list"):
        write_hypotheses(saved, tmp_path / "again.tsv")


def test_evaluate_groups_references_on_an_untrained_model():
    pairs = [("ab", "ba"), ("ab", "bb"), ("c", "c")]
    translator, *_ = _untrained(pairs)
    report = evaluate(translator, pairs, metrics=["exact_match", "chrf"], progress=False)
    assert report["model"] is None
    assert (report["num_pairs"], report["num_examples"], report["num_references"]) == (3, 2, 3)
    assert [e["references"] for e in report["examples"]] == [["ba", "bb"], ["c"]]
    assert report["mean_source_tokens"] == 1.5 and report["mean_reference_tokens"] == 1.5
    assert report["target_tokenizer"] == "char" and "bleu" not in report
    assert report["sentences_per_second"] > 0 and report["decode_seconds"] > 0


def test_evaluate_errors():
    translator, *_ = _untrained([("ab", "ba")])
    with pytest.raises(TypeError, match=r"Translator or a model path.*Received: int"):
        evaluate(42, [("a", "b")])
    with pytest.raises(ValueError, match=r"`pairs` is empty"):
        evaluate(translator, [], progress=False)
    with pytest.raises(ValueError, match=r"Received: metrics=\['wer'\]"):
        evaluate(translator, [("ab", "ba")], metrics=["wer"], progress=False)
    with pytest.raises(ValueError, match=r"`beam_width` must be a positive integer"):
        evaluate(translator, [("ab", "ba")], beam_width=0, progress=False)
    with pytest.raises(FileNotFoundError, match=r"Model path not found"):
        evaluate("/nonexistent/model", [("ab", "ba")])


def test_plot_attention_needs_attention():
    translator, *_ = _untrained([("ab", "ba")], attention="none")
    with pytest.raises(ValueError, match=r"no attention weights to plot.*--attention none"):
        plot_attention(translator, "ab")
    translator, *_ = _untrained([("ab", "ba")])
    with pytest.raises(TypeError, match=r"`text` must be a str"):
        plot_attention(translator, ["ab"])


def test_callback_argument_errors():
    pairs = [("ab", "ba")]
    _, _, source, target, config = _untrained(pairs)
    parts = {"source_tokenizer": source, "target_tokenizer": target, "config": config}
    with pytest.raises(ValueError, match=r"`every` must be a positive integer. Received: every=0"):
        DecodedMetricsCallback(pairs, every=0, **parts)
    with pytest.raises(ValueError, match=r"Received: metrics=\['wer'\]"):
        DecodedMetricsCallback(pairs, metrics=["wer"], **parts)
    with pytest.raises(ValueError, match=r"`pairs` is empty"):
        DecodedMetricsCallback([], **parts)
    with pytest.raises(TypeError, match=r"`config` must be a RunConfig"):
        DecodedMetricsCallback(pairs, **dict(parts, config=config.model))


def test_cli_argument_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", "m"])
    assert "one of the arguments --data --dataset is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", "m", "--data", "a.tsv", "--dataset", "dates"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["evaluate", "--model", "m", "--dataset", "nope"]) == 2
    err = capsys.readouterr().err
    assert "evaluate: error: Unknown dataset 'nope'" in err and "dates, cmudict, pinyin" in err
    with pytest.raises(ValueError, match=r"Unknown dataset 'nope'"):
        load_pairs("nope", "test")
    assert main(["evaluate", "--model", "m", "--data", str(tmp_path / "x.tsv")]) == 2
    assert "x.tsv: no such file" in capsys.readouterr().err
    assert main(["plot-attention", "--model", str(tmp_path), "--output", "a.png", "x"]) == 2
    assert "is not a model directory" in capsys.readouterr().err


# -- with trained models --------------------------------------------------------------------


@pytest.mark.slow
def test_evaluate_cli_end_to_end(reverse_run, tmp_path, capsys):
    test = reverse_pairs(150, seed=42)
    # A second, wrong reference for the first source must not hurt its exact match.
    data = [*test, (test[0][0], "zzz")]
    tsv = tmp_path / "test.tsv"
    tsv.write_text("".join(f"{s}\t{t}\n" for s, t in data), encoding="utf-8")
    report_path = tmp_path / "out" / "report.json"
    argv = ["evaluate", "--model", str(reverse_run.run_dir), "--data", str(tsv)]
    assert main([*argv, "--output", str(report_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "exact match (%)" in out and "token error rate (%) [CER]" in out

    report = json.loads(report_path.read_text(encoding="utf-8"))
    sources = list(dict.fromkeys(s for s, _ in data))
    assert report["num_pairs"] == len(data) and report["num_examples"] == len(sources)
    assert report["exact_match"] >= 90.0, report
    assert report["token_error_rate"] < 5.0 and report["token_error_rate_unit"] == "CER"
    assert 0.9 < report["length_ratio"] < 1.1
    assert report["model"] == str(reverse_run.run_dir) and report["beam_width"] == 1
    for key in ("chrf", "chrf_signature", "sentences_per_second", "decode_seconds"):
        assert key in report

    lines = (tmp_path / "out" / "report.hypotheses.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(sources)
    source, references, hypothesis = lines[0].split("\t")
    assert source == sources[0] and references == f"{sources[0][::-1]} | zzz"
    assert hypothesis == sources[0][::-1]

    hypotheses = tmp_path / "beam.tsv"
    assert main([*argv, "--beam-width", "3", "--hypotheses", str(hypotheses), "--quiet"]) == 0
    assert "beam 3" in capsys.readouterr().out
    assert len(hypotheses.read_text(encoding="utf-8").splitlines()) == len(sources)


@pytest.mark.slow
def test_plot_attention_writes_png(reverse_run, tmp_path, capsys):
    output = tmp_path / "plots" / "attention.png"
    argv = ["plot-attention", "--model", str(reverse_run.run_dir), "--output", str(output)]
    assert main([*argv, "abcd"]) == 0
    assert "Attention plot written" in capsys.readouterr().err
    data = output.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000

    figure = plot_attention(str(reverse_run.run_dir), "abcd", beam_width=2)
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["a", "b", "c", "d", "[END]"]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["d", "c", "b", "a", "[END]"]
    source, output_tokens, weights = attention_tokens(load(reverse_run.run_dir), "ab cd")
    assert source == ["a", "b", " ", "c", "d", "[END]"]
    assert weights.shape == (len(output_tokens), len(source))
    assert abs(weights.sum(axis=1) - 1.0).max() < 1e-4  # softmax over the source


@pytest.mark.slow
def test_callback_logs_into_history_for_checkpoint(tmp_path):
    pairs = reverse_pairs(96, seed=3, max_len=4)
    _, models, source, target, config = _untrained(pairs)
    compile_model(models.training, config.train)
    encoded = encode_pairs(
        pairs, source, target, max_source_length=12, max_target_length=12, warn=False
    )
    data = make_dataset(encoded, batch_size=32, bucket=False)
    seen = []
    recorder = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(
            sorted(k for k in logs if k.startswith("val_"))
        )
    )
    callback = DecodedMetricsCallback(
        pairs, source_tokenizer=source, target_tokenizer=target, config=config,
        every=2, max_examples=20,
    )  # fmt: skip
    checkpoint = tmp_path / "best.keras"
    # Epoch 1 has no val_exact_match (every=2): ModelCheckpoint skips it with a warning.
    with pytest.warns(UserWarning, match=r"only with val_exact_match available"):
        history = models.training.fit(
            data,
            epochs=3,
            verbose=0,
            shuffle=False,
            callbacks=[
                callback,
                keras.callbacks.ModelCheckpoint(
                    str(checkpoint), monitor="val_exact_match", mode="max", save_best_only=True
                ),
                recorder,
            ],
        )
    logged = ["val_bleu", "val_exact_match", "val_token_error_rate"]
    # Decoded at epoch 2 (every=2) and at the last epoch, 3.
    assert seen == [[], logged, logged]
    assert len(history.history["val_bleu"]) == 2
    assert 0.0 <= history.history["val_exact_match"][-1] <= 100.0
    assert checkpoint.is_file()  # ModelCheckpoint saw val_exact_match


@pytest.mark.slow
def test_train_with_decoded_metrics_pairs(tmp_path):
    from keras_seq2seq.training.fit import train

    seen = {}
    recorder = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.update(logs))
    result = train(
        reverse_pairs(64, seed=4, max_len=4),
        tmp_path / "run",
        validation_pairs=reverse_pairs(16, seed=5, max_len=4),
        model_options={"units": 8, "embedding_dim": 4},
        train_config=TrainConfig(epochs=1, batch_size=32, patience=0),
        verbose=0,
        callbacks=[recorder],
        decoded_metrics_pairs=reverse_pairs(16, seed=5, max_len=4),
    )
    for key in ("val_exact_match", "val_token_error_rate", "val_bleu"):
        assert len(result.history[key]) == 1  # history.json, written after the callback
        assert key in seen  # user callbacks run after it too


def test_time_budget_stops_after_the_last_whole_epoch_that_fits(monkeypatch):
    import numpy as np

    from keras_seq2seq.training import callbacks as callbacks_module
    from keras_seq2seq.training.callbacks import TimeBudget

    clock = [0.0]
    monkeypatch.setattr(callbacks_module.time, "perf_counter", lambda: clock[0])

    class TenSecondEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            clock[0] += 10.0

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    budget = TimeBudget(35 / 60, whole_epochs=True)  # three 10 s epochs fit, a fourth not
    history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=10, verbose=0,
                        callbacks=[TenSecondEpochs(), budget])  # fmt: skip
    assert len(history.history["loss"]) == 3 and budget.stopped_epoch == 2
    # A resumed run (starting at epoch 20) gets the whole budget and times only its own epochs.
    resumed = TimeBudget(35 / 60, whole_epochs=True)
    history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=40, initial_epoch=20,
                        verbose=0, callbacks=[TenSecondEpochs(), resumed])  # fmt: skip
    assert len(history.history["loss"]) == 3 and resumed.stopped_epoch == 22
    with pytest.raises(ValueError, match=r"`minutes` must be a positive number"):
        TimeBudget(0)


def test_time_budget_cuts_the_last_epoch_short_and_still_validates_it(monkeypatch):
    import numpy as np

    from keras_seq2seq.training import callbacks as callbacks_module
    from keras_seq2seq.training.callbacks import TimeBudget

    clock = [0.0]
    monkeypatch.setattr(callbacks_module.time, "perf_counter", lambda: clock[0])

    class Clock(keras.callbacks.Callback):
        """Each batch takes 1 s; validation 3 s."""

        def on_train_batch_end(self, batch, logs=None):
            clock[0] += 1.0

        def on_test_end(self, logs=None):
            clock[0] += 3.0

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    data = (np.ones((40, 2)), np.ones((40, 1)))  # 10 batches of 4: 13 s an epoch
    budget = TimeBudget(35 / 60)
    history = model.fit(*data, batch_size=4, epochs=10, verbose=0, validation_data=data,
                        callbacks=[Clock(), budget])  # fmt: skip
    # Epochs 0 and 1 end at 13 s and 26 s. In epoch 2 the 6th batch ends at 32 s: one more
    # batch and the validation would end at 36 s, so training stops there, and the part-epoch
    # is validated like the others, by 35 s.
    assert len(history.history["val_loss"]) == 3 and budget.stopped_epoch == 2
    assert clock[0] == 35.0 and budget.epoch_end_seconds == 3.0
    # In the last epoch the budget still stops training, but leaves nothing to train on.
    last = TimeBudget(35 / 60)
    clock[0] = 0.0
    history = model.fit(*data, batch_size=4, epochs=3, verbose=0, validation_data=data,
                        callbacks=[Clock(), last])  # fmt: skip
    assert len(history.history["val_loss"]) == 3 and clock[0] == 35.0
    assert last.stopped_epoch is None


# -- recording an evaluation in the model directory -----------------------------------------


def _copy_model(run_dir, tmp_path):
    import shutil

    return Path(
        shutil.copytree(run_dir, tmp_path / "model", ignore=shutil.ignore_patterns(".lock"))
    )


def test_evaluate_keeps_the_recorded_evaluation_unless_asked(tiny_run, tmp_path, capsys):
    model = _copy_model(tiny_run, tmp_path)
    recorded = {"num_examples": 1000, "exact_match": 99.5}
    (model / "evaluation.json").write_text(json.dumps(recorded), encoding="utf-8")
    pairs = reverse_pairs(5, seed=40)
    data = tmp_path / "test.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    argv = ["evaluate", "--model", str(model), "--data", str(data), "--quiet"]

    report = evaluate(model, pairs, progress=False)
    assert main(argv) == 0
    assert json.loads((model / "evaluation.json").read_text(encoding="utf-8")) == recorded
    assert "recorded" not in capsys.readouterr().err

    assert main([*argv, "--record"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"Evaluation recorded in {model / 'evaluation.json'} (shown by `keras-seq2seq info`)"
    ]
    saved = json.loads((model / "evaluation.json").read_text(encoding="utf-8"))
    assert saved["num_examples"] == 5 and saved["exact_match"] == report["exact_match"]
    assert "examples" not in saved

    evaluate(model, pairs[:2], progress=False, record=True)
    saved = json.loads((model / "evaluation.json").read_text(encoding="utf-8"))
    assert saved["num_examples"] == 2 and saved["model"] == str(model)
    assert recorded_evaluation_path(report) == model / "evaluation.json"
    assert recorded_evaluation_path({"model": None}) is None


def test_record_is_checked_before_decoding(tiny_run, tmp_path, capsys, monkeypatch):
    translator, *_ = _untrained([("ab", "ba")])
    with pytest.raises(ValueError, match=r"--record; record=True in Python.*needs one model"):
        evaluate(translator, [("ab", "ba")], progress=False, record=True)
    model = str(tiny_run)
    data = tmp_path / "test.tsv"
    data.write_text("ab\tba\n", encoding="utf-8")
    argv = ["evaluate", "--model", model, "--model", model, "--data", str(data), "--record"]
    assert main(argv) == 2
    assert "--record writes the evaluation into one model's directory" in capsys.readouterr().err
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # a read-only directory
    with pytest.raises(ValueError, match=r"Cannot record .*evaluation\.json: .*read-only"):
        evaluate(model, [("ab", "ba")], progress=False, record=True)


def test_evaluate_reads_refusal_examples_when_allowed(tiny_run, tmp_path, capsys):
    data = tmp_path / "test.tsv"
    data.write_text("abc\tcba\nnot a word\t\n", encoding="utf-8")
    argv = ["evaluate", "--model", str(tiny_run), "--data", str(data), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{data}:2: the target side is empty" in err and "--allow-empty-targets" in err
    report = tmp_path / "report.json"
    assert main([*argv, "--allow-empty-targets", "--output", str(report)]) == 0
    assert json.loads(report.read_text(encoding="utf-8"))["num_pairs"] == 2
