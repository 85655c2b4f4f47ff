"""Model constraints: the output pattern, the calendar check and the input pattern, in process
and in an export."""

import calendar
import datetime
import json
import re
import shutil
import warnings

import pytest
import tensorflow as tf

from keras_seq2seq.cli import main
from keras_seq2seq.config import RunConfig, TextConfig
from keras_seq2seq.decoding.input_check import passes_input_pattern
from keras_seq2seq.decoding.output_check import (
    calendar_dates,
    check_output_pattern,
    describe_output_check,
    passes_output_check,
)
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.errors import RefusalWarning
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.training.recipes import resolve_settings
from tests.conftest import reverse_pairs

PATTERN = "[a-d]*"
INPUT_PATTERN = "[a-d]+"
TEXTS = sorted({source for source, _ in reverse_pairs(60, seed=11)})


def _is_date(text):
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None


# -- the checks by hand -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2024-02-29", True),  # divisible by 4
        ("2023-02-29", False),
        ("2000-02-29", True),  # divisible by 400
        ("1900-02-29", False),  # divisible by 100, not 400
        ("2024-02-30", False),
        ("2021-04-30", True),
        ("2021-04-31", False),
        ("2021-12-31", True),
        ("2021-12-32", False),
        ("2021-13-01", False),
        ("2021-00-10", False),
        ("2021-01-00", False),
        ("0000-00-00", False),
        ("0000-01-01", False),
        ("0001-01-01", True),
        ("2021-1-01", False),
        ("2021-01-01x", False),
        (" 2021-01-01", False),
        ("2021/01/01", False),
        ("abcd-ef-gh", False),
        ("", False),
    ],
)
def test_calendar_dates_by_hand(text, valid):
    assert bool(calendar_dates(tf.constant([text])).numpy()[0]) is valid


def test_calendar_dates_agree_with_python_on_every_day_of_leap_and_common_years():
    texts = [
        f"{year:04d}-{month:02d}-{day:02d}"
        for year in (1900, 2000, 2023, 2024)
        for month in range(0, 14)
        for day in range(0, 33)
    ]
    found = calendar_dates(tf.constant(texts)).numpy()
    assert [bool(v) for v in found] == [_is_date(text) for text in texts]
    assert int(found.sum()) == 3 * 365 + 366 + 1  # 2000 and 2024 leap, 1900 and 2023 not


def test_passes_output_check_keeps_empty_outputs_and_shapes():
    outputs = tf.constant([["2021-02-28", "2021-02-29"], ["", "12-12-2021"]])
    text = TextConfig(output_pattern=r"\d{4}-\d{2}-\d{2}", output_check="calendar")
    passes = passes_output_check(outputs, text).numpy()
    assert passes.tolist() == [[True, False], [True, False]]
    only_pattern = passes_output_check(outputs, TextConfig(output_pattern=r"\d{2}-.*")).numpy()
    assert only_pattern.tolist() == [[False, False], [True, True]]
    assert passes_output_check(outputs, TextConfig()) is None
    assert describe_output_check(TextConfig()) is None
    assert "calendar date" in describe_output_check(text)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(unclosed", r"not a valid regular expression"),
        ("a(?=b)", r"lookaround"),
        (r"(a)\1", r"backreferences"),
        ("a*+", r"possessive"),
        (r"a\Z", r"\\Z"),
        ("", r"must not be empty"),
    ],
)
def test_bad_patterns_are_rejected(pattern, message):
    with pytest.raises(ValueError, match=message):
        check_output_pattern(pattern)
    with pytest.raises(ValueError, match=message):
        TextConfig(output_pattern=pattern)


def test_config_checks_and_round_trip():
    with pytest.raises(TypeError, match=r"`output_pattern` must be a regular expression"):
        TextConfig(output_pattern=3)
    with pytest.raises(ValueError, match=r"`output_check` must be one of \['calendar'\]"):
        TextConfig(output_check="iso")
    settings = resolve_settings("dates")
    assert settings.target_text.output_check == "calendar"
    assert re.fullmatch(settings.target_text.output_pattern, "2021-03-04")
    assert settings.source_text.output_pattern is None
    from keras_seq2seq.config import ModelConfig, TrainConfig

    config = RunConfig(ModelConfig(20, 20), TextConfig(), settings.target_text, TrainConfig())
    assert RunConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match=r"set it on the target side"):
        RunConfig(ModelConfig(20, 20), settings.target_text, TextConfig(), TrainConfig())


# -- a model that carries a pattern --------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny model trained with `train --output-pattern`, and copies with other checks."""
    root = tmp_path_factory.mktemp("output_check")
    data = root / "pairs.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in reverse_pairs(300, seed=0)))
    constrained = root / "constrained"
    code = main([
        "train", "--dataset", str(data), "--output", str(constrained), "--output-pattern",
        PATTERN, "--epochs", "3", "--units", "16", "--embedding-dim", "8", "--patience", "0",
        "--batch-size", "16", "--learning-rate", "0.01",
    ])  # fmt: skip
    assert code == 0
    paths = {"constrained": constrained}
    for name, changes in (
        ("plain", {"output_pattern": None}),
        ("calendar", {"output_pattern": None, "output_check": "calendar"}),
    ):
        paths[name] = root / name
        shutil.copytree(constrained, paths[name])
        config = RunConfig.load(paths[name] / "config.json")
        target = config.target_text.replace(**changes)
        RunConfig(config.model, config.source_text, target, config.train).save(
            paths[name] / "config.json"
        )
    paths["readable"] = root / "readable"
    shutil.copytree(paths["plain"], paths["readable"])
    config = RunConfig.load(paths["readable"] / "config.json")
    source = config.source_text.replace(input_pattern=INPUT_PATTERN)
    RunConfig(config.model, source, config.target_text, config.train).save(
        paths["readable"] / "config.json"
    )
    return paths


@pytest.mark.slow
def test_train_flag_is_saved_and_shown_by_info(runs, capsys):
    saved = json.loads((runs["constrained"] / "config.json").read_text())
    assert saved["target_text"]["output_pattern"] == PATTERN
    assert saved["source_text"]["output_pattern"] is None
    assert main(["info", str(runs["constrained"])]) == 0
    assert f"must match {PATTERN}, or be empty" in capsys.readouterr().out
    assert main(["info", str(runs["plain"])]) == 0
    assert "not constrained" in capsys.readouterr().out


def test_bad_pattern_flag_is_one_error_naming_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--dataset", "dates", "--output", str(tmp_path / "r"),
              "--output-pattern", "(?<=x)y"])  # fmt: skip
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--output-pattern" in error and "lookaround" in error
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_translate_refuses_what_the_pattern_rejects(runs):
    plain = load(runs["plain"]).translate(TEXTS)
    expected = [o if re.fullmatch(PATTERN, o) else "" for o in plain]
    assert expected != plain  # the pattern bites on this model's outputs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        constrained = load(runs["constrained"]).translate(TEXTS)
    assert constrained == expected
    refusals = [w.message for w in caught if isinstance(w.message, RefusalWarning)]
    assert len(refusals) == 1
    assert refusals[0].count == sum(a != b for a, b in zip(plain, expected, strict=True))
    assert f"must match {PATTERN}" in str(refusals[0])
    [batch] = load(runs["constrained"]).decode(TEXTS, beam_width=3, n_best=2)
    for row_outputs, row_accepted in zip(batch.outputs, batch.accepted, strict=True):
        for output, accepted in zip(row_outputs, row_accepted, strict=True):
            assert re.fullmatch(PATTERN if accepted else "", output.decode())
    assert not batch.accepted.all()


@pytest.mark.slow
def test_calendar_check_refuses_every_non_date(runs):
    plain = load(runs["plain"]).translate(TEXTS, min_score=-1000.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checked = load(runs["calendar"]).translate(TEXTS, min_score=-1000.0)
    assert checked == [o if _is_date(o) else "" for o in plain]
    assert sum(map(bool, plain)) > 0 and not any(checked)
    [refusal] = [w.message for w in caught if isinstance(w.message, RefusalWarning)]
    assert "scored below min_score=-1000.0 or failed the model's output check" in str(refusal)


@pytest.mark.slow
def test_export_carries_the_pattern(runs, tmp_path):
    version = export_model(runs["constrained"], tmp_path / "m")  # op check included
    translator = load(runs["constrained"])
    expected = translator.decode(TEXTS, beam_width=4, n_best=2)[0]
    served = tf.saved_model.load(str(version))
    inputs = tf.constant(TEXTS)
    greedy = served.signatures["serving_default"](inputs=inputs)
    [greedy_expected] = translator.decode(TEXTS)
    assert greedy["outputs"].numpy().tolist() == greedy_expected.outputs[:, 0].tolist()
    assert greedy["accepted"].numpy().tolist() == greedy_expected.accepted[:, 0].tolist()
    assert not greedy["accepted"].numpy().all()
    beam = served.signatures["beam_search"](
        inputs=inputs, beam_width=tf.constant(4), n_best=tf.constant(2)
    )
    assert beam["outputs"].numpy().tolist() == expected.outputs.tolist()
    assert beam["accepted"].numpy().tolist() == expected.accepted.tolist()
    for output, accepted in zip(
        beam["outputs"].numpy().ravel(), beam["accepted"].numpy().ravel(), strict=True
    ):
        assert (output == b"") or accepted


# -- the input pattern ------------------------------------------------------------------------


def test_input_pattern_matches_the_input_as_the_tokenizer_normalizes_it():
    texts = tf.constant(["Hello", " it's ", "r2d2", "", "\uff28\uff29", "two words"])
    lowered = TextConfig(input_pattern="[a-z']+", lowercase=True)
    assert passes_input_pattern(texts, lowered).numpy().tolist() == [
        True, True, False, False, True, False  # fullwidth "HI" is NFKC "HI", lower-cased
    ]  # fmt: skip
    cased = TextConfig(input_pattern="[a-z']+")
    assert passes_input_pattern(texts, cased).numpy().tolist()[:2] == [False, True]
    assert passes_input_pattern(texts, TextConfig()) is None


def test_input_pattern_config_checks():
    with pytest.raises(ValueError, match=r"`input_pattern` uses lookaround"):
        TextConfig(input_pattern="(?=a)b")
    with pytest.raises(TypeError, match=r"`input_pattern` must be a regular expression"):
        TextConfig(input_pattern=["a"])
    from keras_seq2seq.config import ModelConfig, TrainConfig

    source = TextConfig(input_pattern="[a-z]+")
    config = RunConfig(ModelConfig(20, 20), source, TextConfig(), TrainConfig())
    assert RunConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match=r"set it on the source side"):
        RunConfig(ModelConfig(20, 20), TextConfig(), source, TrainConfig())
    cmudict = resolve_settings("cmudict").source_text
    assert cmudict.lowercase and re.fullmatch(cmudict.input_pattern, "don't")
    assert not any(re.fullmatch(cmudict.input_pattern, t) for t in ("'", "r2d2", "a b", "x-ray"))


def test_bad_input_pattern_flag_is_one_error_naming_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--dataset", "dates", "--output", str(tmp_path / "r"),
              "--input-pattern", "a\\1"])  # fmt: skip
    assert exit_info.value.code == 2
    assert "--input-pattern" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_inputs_outside_the_input_pattern_are_not_answered(runs, capsys):
    plain = load(runs["plain"]).translate(TEXTS)
    readable_texts = [bool(re.fullmatch(INPUT_PATTERN, t)) for t in TEXTS]
    expected = [o if ok else "" for ok, o in zip(readable_texts, plain, strict=True)]
    assert 0 < sum(a != b for a, b in zip(plain, expected, strict=True)) < len(TEXTS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        readable = load(runs["readable"]).translate(TEXTS)
    assert readable == expected
    [refusal] = [w.message for w in caught if isinstance(w.message, RefusalWarning)]
    assert refusal.count == readable_texts.count(False)
    assert f"inputs must match {INPUT_PATTERN}" in str(refusal)
    assert main(["info", str(runs["readable"])]) == 0
    assert f"must match {INPUT_PATTERN}, or are not answered" in capsys.readouterr().out
    version = export_model(runs["readable"], runs["readable"].parent / "readable-export")
    served = tf.saved_model.load(str(version)).signatures["beam_search"](
        inputs=tf.constant(TEXTS), beam_width=tf.constant(3), n_best=tf.constant(1)
    )
    assert served["accepted"].numpy()[:, 0].tolist() == readable_texts
    outputs = served["outputs"].numpy()[:, 0].tolist()
    with pytest.warns(RefusalWarning):
        in_process = load(runs["readable"]).translate(TEXTS, beam_width=3)
    assert [o.decode() for o in outputs] == in_process


def test_month_lengths_table_matches_the_calendar_module():
    from keras_seq2seq.decoding import output_check

    assert list(output_check._DAYS_IN_MONTH) == [
        calendar.monthrange(2023, month)[1] for month in range(1, 13)
    ]
