import json
import subprocess
import sys

import pytest

from keras_seq2seq.cli import build_parser, main

pytestmark = pytest.mark.slow


def _run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "keras_seq2seq.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
    )


def test_help_documents_every_option():
    train_help = build_parser().parse_args(["train", "--dataset", "x", "--output", "y"])
    assert train_help.command == "train"
    result = _run("train", "--help")
    text = result.stdout.decode()
    for option in (
        "--dataset", "--output", "--epochs", "--batch-size", "--units", "--embedding-dim",
        "--layers", "--attention", "--tokenizer", "--max-examples", "--seed",
    ):  # fmt: skip
        assert option in text
    text = _run("translate", "--help").stdout.decode()
    for option in ("--model", "--beam-width", "--n-best", "--length-penalty", "--max-length"):
        assert option in text


def test_translate_args_and_stdin(reverse_run):
    model = str(reverse_run.run_dir)
    result = _run("translate", "--model", model, "abc", "hgf")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().splitlines() == ["cba", "fgh"]
    lines = "abc\n\nde\r\n" + "x\xff".encode("latin-1").decode("latin-1") + "\n"
    result = _run("translate", "--model", model, stdin=lines.encode("latin-1"))
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode().splitlines()
    assert len(out) == 4 and out[0] == "cba" and out[2] == "ed"


def test_translate_n_best_format(reverse_run):
    result = _run(
        "translate", "--model", str(reverse_run.run_dir), "--beam-width", "3", "--n-best", "2",
        "abc",
    )  # fmt: skip
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2
    rank, score, text = lines[0].split("\t")
    assert rank == "1" and text == "cba" and float(score) <= 0


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["translate", "--model", str(tmp_path / "missing"), "x"]) == 2
    assert "Model path not found" in capsys.readouterr().err
    assert main(["train", "--dataset", "nope", "--output", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "Unknown dataset 'nope'" in err and "dates, cmudict, pinyin" in err
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nno tab here\n", encoding="utf-8")
    assert main(["train", "--dataset", str(bad), "--output", str(tmp_path / "r")]) == 2
    assert "bad.tsv:2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["translate", "--model", "m", "--beam-width", "0", "x"])


def _reversal_tsv(tmp_path):
    data = tmp_path / "pairs.tsv"
    data.write_text("".join(f"{w}\t{w[::-1]}\n" for w in ["ab", "abc", "ba", "cab"] * 30))
    return data


def test_train_from_tsv_end_to_end(tmp_path):
    data = _reversal_tsv(tmp_path)
    run = tmp_path / "run"
    result = _run(
        "train", "--dataset", str(data), "--output", str(run), "--epochs", "1",
        "--units", "8", "--embedding-dim", "4", "--tokenizer", "char",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert (run / "model.keras").is_file()
    assert "Trained on" in result.stdout.decode()


def test_train_speed_and_precision_options_reach_the_run_config(tmp_path):
    data = _reversal_tsv(tmp_path)
    run = tmp_path / "run"
    result = _run(
        "train", "--dataset", str(data), "--output", str(run), "--epochs", "1",
        "--units", "8", "--embedding-dim", "4", "--tokenizer", "char",
        "--mixed-precision", "--jit-compile", "--intra-op-threads", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    train_config = json.loads((run / "config.json").read_text())["train"]
    assert train_config["mixed_precision"] is True and train_config["jit_compile"] is True
    bad = _run("train", "--dataset", str(data), "--output", str(run), "--intra-op-threads", "-1")
    assert bad.returncode == 2 and "expected an integer >= 0" in bad.stderr.decode()


def test_mixed_precision_flag_takes_an_optional_dtype():
    parser = build_parser()
    base = ["train", "--dataset", "dates", "--output", "out"]
    assert parser.parse_args(base).mixed_precision is False
    assert parser.parse_args([*base, "--mixed-precision"]).mixed_precision is True
    chosen = parser.parse_args([*base, "--mixed-precision", "bfloat16"]).mixed_precision
    assert chosen == "bfloat16"
    with pytest.raises(SystemExit):
        parser.parse_args([*base, "--mixed-precision", "float8"])


def test_translate_input_file_to_output_file(reverse_run, tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes(b"abc\n\nhgf\nx\xff\nde")
    out = tmp_path / "out.txt"
    result = _run(
        "translate", "--model", str(reverse_run.run_dir), "--input", str(source),
        "--output", str(out), "--chunk-size", "2", "--beam-width", "2", "--no-repeat-ngram", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    lines = out.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 6 and lines[-1] == ""  # five outputs, each ended
    assert lines[0] == "cba" and lines[2] == "fgh" and lines[4] == "ed"
    assert b"Translating" not in result.stderr  # no progress line when stderr is not a terminal
    both = _run("translate", "--model", str(reverse_run.run_dir), "--input", str(source), "x")
    assert both.returncode == 2 and b"not both" in both.stderr


def test_shipped_model_translates_with_nothing_on_stderr():
    result = _run("translate", "--model", "saved_models/dates", "March 3, 2021")
    assert result.returncode == 0
    assert result.stdout.decode() == "2021-03-03\n"
    assert result.stderr == b""
    missing = _run("translate", "--model", "no/such/model", "x")
    assert missing.returncode == 2
    assert missing.stderr.decode().splitlines() == [
        "keras-seq2seq translate: error: Model path not found: no/such/model"
    ]
    verbose = _run("translate", "--model", "saved_models/dates", "March 3, 2021", "--verbose")
    assert verbose.returncode == 0 and verbose.stdout.decode() == "2021-03-03\n"
