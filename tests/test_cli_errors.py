"""Tests for keras_seq2seq.cli_errors: one-line errors, path checks, flags in messages."""

import os

import pytest

from keras_seq2seq.cli_errors import (
    ArgumentParser,
    check_input_file,
    check_output_directory,
    check_output_file,
    command_line_message,
    os_error_message,
)

FLAGS = {
    "skip_bad_lines": "--skip-bad-lines",
    "output_base": "--output",
    "force": "--force",
    "beam_width": "--beam-width",
    "n_best": "--n-best",
    "min_score": "--min-score",
    "keep_checkpoints": "--keep-checkpoints",
}


def test_usage_error_is_one_line_and_points_to_help(capsys):
    parser = ArgumentParser(prog="keras-seq2seq translate")
    parser.add_argument("--beam-width", type=int)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--beam-width", "x"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "keras-seq2seq translate: error: argument --beam-width: invalid int value: 'x'",
        "see 'keras-seq2seq translate --help'",
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "`output_base` /tmp/x is a file; pass a directory.",
            "--output /tmp/x is a file; pass a directory.",
        ),
        (
            "fill it in or delete the line (or pass skip_bad_lines=True).",
            "fill it in or delete the line (or pass --skip-bad-lines).",
        ),
        (
            "or skip such lines (--skip-bad-lines; skip_bad_lines=True in Python).",
            "or skip such lines (--skip-bad-lines).",
        ),
        (
            "Re-encode it (e.g. `iconv -f latin1 -t utf-8 FILE`; in Python, read_pairs(..., "
            "encoding=...) reads other encodings), or skip such lines.",
            "Re-encode it (e.g. `iconv -f latin1 -t utf-8 FILE`), or skip such lines.",
        ),
        (
            "omit it to write version 2, or pass --force (force=True) to replace it.",
            "omit it to write version 2, or pass --force to replace it.",
        ),
        (
            "train it with --keep-checkpoints N (TrainConfig(keep_checkpoints=N)) to average",
            "train it with --keep-checkpoints N to average",
        ),
        (
            "`n_best` must be at most 2. Received: n_best=3. Raise `beam_width`.",
            "--n-best must be at most 2. Received: --n-best 3. Raise --beam-width.",
        ),
        (
            "3 of 10 outputs scored below min_score=-1.5 and were refused.",
            "3 of 10 outputs scored below --min-score -1.5 and were refused.",
        ),
        # Names the command has no flag for stay as they are.
        (
            "had more than max_source_length=64 tokens",
            "had more than max_source_length=64 tokens",
        ),
    ],
)
def test_messages_name_flags(message, expected):
    assert command_line_message(message, FLAGS) == expected


def test_a_parameter_without_a_flag_in_the_command_is_kept():
    message = "`beam_width` must be a positive integer. Received: beam_width=0."
    assert command_line_message(message, {}) == message


def test_output_file_checks(tmp_path):
    check_output_file("--output", None)
    check_output_file("--output", "-")
    check_output_file("--output", str(tmp_path / "new" / "deeper" / "out.txt"))
    with pytest.raises(
        ValueError, match=r"^--output .*: that is a directory; give the path of a file\.$"
    ):
        check_output_file("--output", str(tmp_path))
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(
        ValueError, match=r"^--hypotheses .*afile/out.txt: .*afile is a file, not a"
    ):
        check_output_file("--hypotheses", str(blocker / "out.txt"))
    with pytest.raises(ValueError, match="is a file, not a directory"):
        check_output_file("--output", str(blocker / "sub" / "out.txt"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_file_in_a_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="no permission to write in"):
            check_output_file("--output", str(locked / "out.txt"))
    finally:
        locked.chmod(0o700)


def test_output_directory_checks(tmp_path):
    check_output_directory("--output", str(tmp_path))
    check_output_directory("--output", str(tmp_path / "new" / "run"))
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"^--output .*afile: that is a file, not a directory"):
        check_output_directory("--output", str(blocker))
    with pytest.raises(ValueError, match=r"^--output \S*afile/run: \S*afile is a file, not a"):
        check_output_directory("--output", str(blocker / "run"))


def test_input_file_checks(tmp_path):
    check_input_file("--input", None)
    check_input_file("--input", "-")
    data = tmp_path / "in.txt"
    data.write_text("x\n")
    check_input_file("--input", str(data))
    with pytest.raises(FileNotFoundError, match=r"^--input .*nope.txt: no such file\.$"):
        check_input_file("--input", str(tmp_path / "nope.txt"))
    with pytest.raises(ValueError, match=r"^--data .*: that is a directory; give a file\.$"):
        check_input_file("--data", str(tmp_path))


def test_os_error_message():
    assert os_error_message(IsADirectoryError(21, "Is a directory", "out")) == (
        "out: Is a directory"
    )
    assert os_error_message(OSError(18, "Invalid cross-device link", "a", None, "b")) == (
        "a -> b: Invalid cross-device link"
    )
    assert os_error_message(FileNotFoundError("--data x: no such file.")) == (
        "--data x: no such file."
    )
