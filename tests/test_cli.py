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


def _terminal_stderr(*args, timeout=300):
    """Runs the command with stderr on a pseudo-terminal: (status, stdout, what it received)."""
    import os
    import pty
    import select

    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_seq2seq.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    received = b""
    try:
        while select.select([master], [], [], timeout)[0]:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the command closed the terminal
                break
            if not data:
                break
            received += data
        stdout = process.stdout.read()
        process.wait(timeout=timeout)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return process.returncode, stdout, received


def test_translate_input_shows_progress_on_a_terminal(tmp_path):
    source = tmp_path / "dates.txt"
    source.write_text("March 3, 2021\n3 mars 2021\n", encoding="utf-8")
    status, stdout, received = _terminal_stderr(
        "translate", "--model", "saved_models/dates", "--input", str(source), "--chunk-size", "1"
    )
    assert status == 0, received.decode(errors="replace")
    assert stdout.decode().splitlines() == ["2021-03-03", "2021-03-03"]
    # The line is rewritten in place, once per chunk, and ended when the total is reached.
    assert b"\r\x1b[KTranslating: 1/2 sentences" in received
    assert b"\r\x1b[KTranslating: 2/2 sentences" in received
    assert b"cuda" not in received and b"Traceback" not in received


BAD_PATHS = [
    ("translate", "--model", "M", "--input", "IN", "--output", "DIR"),
    ("translate", "--model", "M", "--input", "IN", "--output", "FILE/out.txt"),
    ("translate", "--model", "M", "x", "--output", "DIR"),
    ("translate", "--model", "M", "--input", "DIR"),
    ("translate", "--model", "M", "--input", "DIR/missing.txt"),
    ("train", "--dataset", "IN", "--output", "FILE"),
    ("train", "--dataset", "IN", "--output", "FILE/run"),
    ("train", "--dataset", "DIR", "--output", "DIR/run"),
    ("train", "--dataset", "IN", "--validation-data", "DIR/missing.tsv", "--output", "DIR/run"),
    ("plot-attention", "--model", "M", "--output", "DIR", "x"),
    ("export", "--model", "M", "--output", "FILE"),
    ("average", "--model", "M", "--output", "FILE"),
]


@pytest.mark.parametrize("case", BAD_PATHS, ids=" ".join)
def test_bad_paths_fail_in_one_line_before_any_work(tmp_path, case):
    (tmp_path / "afile").write_text("x\n")
    (tmp_path / "in.txt").write_text("March 3, 2021\t2021-03-03\n")
    places = {"M": "saved_models/dates", "IN": str(tmp_path / "in.txt")}
    args = [
        places.get(arg, arg.replace("DIR", str(tmp_path)).replace("FILE", str(tmp_path / "afile")))
        for arg in case
    ]
    result = _run(*args)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2, result.stderr.decode()
    assert len(lines) == 1 and lines[0].startswith(f"keras-seq2seq {case[0]}: error: --"), lines
    assert result.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "in.txt"]  # nothing written


def test_bad_data_paths_fail_in_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("x\n")
    data = tmp_path / "pairs.tsv"
    data.write_text("March 3, 2021\t2021-03-03\n", encoding="utf-8")
    latin = tmp_path / "latin.tsv"
    latin.write_bytes(b"caf\xe9\tx\n")
    model = "saved_models/dates"
    cases = {
        ("evaluate", "--model", model, "--data", str(data), "--output", str(tmp_path)): (
            "that is a directory"
        ),
        ("evaluate", "--model", model, "--data", str(data), "--hypotheses",
         str(tmp_path / "afile" / "h.tsv")): "is a file, not a directory",
        ("evaluate", "--model", model, "--data", str(tmp_path)): "that is a directory",
        ("score", "--model", model, "--data", str(tmp_path / "nope.tsv")): "no such file",
        ("score", "--model", model, "--data", str(latin)): "or skip such lines (--skip-bad-lines)",
        ("export", "--model", str(tmp_path / "nope"), "--output", str(tmp_path / "e")): (
            "Model path not found"
        ),
    }  # fmt: skip
    for argv, expected in cases.items():
        assert main(list(argv)) == 2, argv
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"keras-seq2seq {argv[0]}: error: ")
        assert expected in lines[0], lines
        assert "in Python" not in lines[0] and "skip_bad_lines" not in lines[0]


def test_usage_error_is_one_line_and_where_to_get_help():
    result = _run("translate", "--model", "saved_models/dates", "--beam-width", "0", "x")
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "keras-seq2seq translate: error: argument --beam-width: expected a positive integer, got 0",
        "see 'keras-seq2seq translate --help'",
    ]


START_UP = r"""
import contextlib, io, sys
from keras_seq2seq.cli import main
for argv in (["--help"], ["--version"], ["translate", "--help"], ["export", "--help"],
             ["translate", "--model", "m", "--beam-width", "0", "x"], ["nope"], []):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exit:
            assert exit.code in (0, 2), (argv, exit.code)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
"""


def test_help_version_and_usage_errors_do_not_import_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", START_UP], capture_output=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "[]"
    version = _run("--version")
    assert version.returncode == 0 and version.stdout.decode().startswith("keras-seq2seq 0.")


def test_help_names_its_placeholders_and_tells_true_defaults():
    import re

    from keras_seq2seq.serving.export import DEFAULT_BEAM_WIDTH

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, command in commands.items():
        text = command.format_help()
        placeholders = set(re.findall(r"--[a-z-]+ ([A-Z][A-Z_]*)\b", text))
        assert not {p for p in placeholders if "_" in p}, (name, placeholders)
    export_help = " ".join(commands["export"].format_help().split())
    assert f"--beam-width N beam width; 1 is greedy search (default {DEFAULT_BEAM_WIDTH})" in (
        export_help
    )
    translate_help = " ".join(commands["translate"].format_help().split())
    assert "--beam-width N beam width; 1 is greedy search (default 1)" in translate_help
    assert "--min-score S" in translate_help and "--input FILE" in translate_help
