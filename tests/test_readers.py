import gzip
import re
import warnings

import pytest

from keras_seq2seq.data.readers import (
    DataFormatError,
    SkippedLinesWarning,
    read_pairs,
    write_pairs,
)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_reads_tsv(tmp_path):
    path = _write(tmp_path / "pairs.tsv", b"hello\tbonjour\nthank you\tmerci\n")
    assert read_pairs(path) == [("hello", "bonjour"), ("thank you", "merci")]


def test_accepts_str_path_and_missing_final_newline(tmp_path):
    path = _write(tmp_path / "pairs.tsv", b"a\tb")
    assert read_pairs(str(path)) == [("a", "b")]


def test_skips_blank_lines_and_strips_sides(tmp_path):
    path = _write(tmp_path / "pairs.tsv", b"\n a \t b \n   \n\t\nc\td\n\n")
    # A line holding only a tab is blank too: it has no text at all.
    assert read_pairs(path) == [("a", "b"), ("c", "d")]


def test_accepts_crlf_and_strips_bom(tmp_path):
    data = "\ufeffhello\tbonjour\r\nété\tsummer\r\n".encode()
    path = _write(tmp_path / "pairs.tsv", data)
    assert read_pairs(path) == [("hello", "bonjour"), ("été", "summer")]


def test_reads_gzip_tsv(tmp_path):
    path = _write(tmp_path / "pairs.tsv.gz", gzip.compress("中国\tzhong1 guo2\n".encode()))
    assert read_pairs(path) == [("中国", "zhong1 guo2")]


def test_detects_gzip_from_content(tmp_path):
    path = _write(tmp_path / "pairs.tsv", gzip.compress(b"a\tb\n"))
    assert read_pairs(path) == [("a", "b")]


def test_reads_jsonl_and_ignores_extra_keys(tmp_path):
    data = (
        b'{"source": "hello", "target": "bonjour", "id": 1}\n'
        b"\n"
        b'{"target": "tab\\tinside", "source": " x "}\r\n'
    )
    path = _write(tmp_path / "pairs.jsonl", data)
    assert read_pairs(path) == [("hello", "bonjour"), ("x", "tab\tinside")]


def test_reads_gzip_jsonl(tmp_path):
    path = _write(tmp_path / "pairs.jsonl.gz", gzip.compress(b'{"source": "a", "target": "b"}'))
    assert read_pairs(path) == [("a", "b")]


def test_latin1_encoding(tmp_path):
    path = _write(tmp_path / "pairs.tsv", "été\tsummer\n".encode("latin-1"))
    assert read_pairs(path, encoding="latin-1") == [("été", "summer")]


def test_utf8_sig_encoding(tmp_path):
    path = _write(tmp_path / "pairs.tsv", "\ufeffété\tsummer\nb\tc\n".encode())
    assert read_pairs(path, encoding="utf-8-sig") == [("été", "summer"), ("b", "c")]


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("p.tsv", b"ok\tfine\nno tab here\n", r"p\.tsv:2: .*found no tab.*'no tab here'.*one tab"),
        ("p.tsv", b"a\tb\tc\n", r"p\.tsv:1: expected 2 .*found 3 .*cut -f1,2"),
        ("p.tsv", b"a\tb\n\n \tb\n", r"p\.tsv:3: the source side is empty.*delete the line"),
        ("p.tsv", b"a\t  \n", r"p\.tsv:1: the target side is empty"),
        ("p.tsv", b"a\tb\nab\xffc\td\n", r"p\.tsv:2: invalid utf-8 at byte offset 2 .*xff.*iconv"),
        ("p.tsv", b"a\t  \n", r"p\.tsv:1: .*--skip-bad-lines.*--allow-empty-targets"),
        ("p.jsonl", b'{"source": "a"', r"p\.jsonl:1: invalid JSON .*one JSON object"),
        ("p.jsonl", b'["a", "b"]', r"p\.jsonl:1: expected a JSON object .*JSON array: '\["),
        ("p.jsonl", b'{"source": "a"}', r"p\.jsonl:1: .*no 'target' key .*\['source'\]"),
        (
            "p.jsonl",
            b'{"source": 3, "target": "b"}',
            r"p\.jsonl:1: 'source' must be.* number: 3\. Write",
        ),
        ("p.jsonl", b'{"source": "a", "target": ""}', r"p\.jsonl:1: the target side is empty"),
    ],
)
def test_bad_lines_raise_with_location(tmp_path, name, data, match):
    path = _write(tmp_path / name, data)
    with pytest.raises(DataFormatError, match=match) as info:
        read_pairs(path)
    assert info.value.path == str(path)
    assert info.value.line == int(re.search(r":(\d+):", str(info.value)).group(1))


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("p.tsv", b"a\tb\nc\x00d\te\n", r"p\.tsv:2: control character U\+0000 \(NUL\) at column 2 "
         r"in 'c\\x00d\\te'\..*tr -d .*UTF-16.*iconv -f utf-16.*--skip-bad-lines"),
        ("p.tsv", b"a\x1b[31m\tb\n", r"p\.tsv:1: control character U\+001B \(ESC\) at column 2"),
        ("p.tsv", b"a\tb\rc\td\r\n", r"p\.tsv:1: .*U\+000D \(CR\) at column 4.*old Mac .*tr '\\r'"),
        # Python's str.strip() counts U+001C as a space: the line must not pass as blank.
        ("p.tsv", b"a\tb\n\x1c\n", r"p\.tsv:2: control character U\+001C at column 1"),
        ("p.tsv", "a\tb\u0085c\n".encode(), r"p\.tsv:1: control character U\+0085 \(NEL\)"),
        ("p.tsv", b"a\x7f\tb\n", r"p\.tsv:1: control character U\+007F \(DEL\)"),
        ("p.jsonl", b'{"source": "a\\u0000", "target": "b"}',
         r"p\.jsonl:1: control character U\+0000 \(NUL\) at position 2 of the 'source' value"),
        ("p.jsonl", b'{"source": "a", "target": "b\\u0007"}',
         r"p\.jsonl:1: control character U\+0007 \(BEL\) at position 2 of the 'target' value"),
        ("p.jsonl", b'{"source": "a",\x00 "target": "b"}',
         r"p\.jsonl:1: control character U\+0000"),
    ],
)  # fmt: skip
def test_control_characters_are_rejected_with_location(tmp_path, name, data, match):
    path = _write(tmp_path / name, data)
    with pytest.raises(DataFormatError, match=match) as info:
        read_pairs(path)
    assert info.value.line == int(re.search(r":(\d+):", str(info.value)).group(1))


def test_control_characters_are_skipped_and_counted(tmp_path):
    path = _write(tmp_path / "p.tsv", b"a\tb\nc\x00\td\ne\tf\x01\ng\th\n")
    with pytest.warns(SkippedLinesWarning, match=r"skipped 2 malformed line\(s\) \(lines 2, 3\)"):
        assert read_pairs(path, skip_bad_lines=True) == [("a", "b"), ("g", "h")]


def test_jsonl_values_may_hold_whitespace_escapes(tmp_path):
    path = _write(tmp_path / "p.jsonl", b'{"source": "a\\tb\\nc", "target": "d\\re"}\n')
    assert read_pairs(path) == [("a\tb\nc", "d\re")]


def test_empty_targets_are_refusal_examples_when_allowed(tmp_path):
    path = _write(tmp_path / "p.tsv", b"a\tb\nthe 45th of Smarch\t\nc\t  \n")
    with pytest.raises(
        DataFormatError,
        match=r"p\.tsv:2: the target side is empty in 'the 45th of Smarch\\t'\..*"
        r"--skip-bad-lines.*refusal example.*--allow-empty-targets "
        r"\(allow_empty_targets=True in Python\)",
    ):
        read_pairs(path)
    assert read_pairs(path, allow_empty_targets=True) == [
        ("a", "b"),
        ("the 45th of Smarch", ""),
        ("c", ""),
    ]
    jsonl = _write(tmp_path / "p.jsonl", b'{"source": "x", "target": ""}\n')
    assert read_pairs(jsonl, allow_empty_targets=True) == [("x", "")]
    # The source side is never optional.
    empty_source = _write(tmp_path / "q.tsv", b"\tb\n")
    with pytest.raises(DataFormatError, match=r"q\.tsv:1: the source side is empty"):
        read_pairs(empty_source, allow_empty_targets=True)


def test_write_pairs_writes_refusal_examples_when_allowed(tmp_path):
    pairs = [("a", "b"), ("not a date", "")]
    with pytest.raises(ValueError, match=r"target of pair 1 is empty.*allow_empty_targets=True"):
        write_pairs(tmp_path / "out.tsv", pairs)
    write_pairs(tmp_path / "out.tsv", pairs, allow_empty_targets=True)
    assert (tmp_path / "out.tsv").read_bytes() == b"a\tb\nnot a date\t\n"
    assert read_pairs(tmp_path / "out.tsv", allow_empty_targets=True) == pairs


def test_invalid_utf8_offset_counts_bom(tmp_path):
    path = _write(tmp_path / "p.tsv", b"\xef\xbb\xbfa\x80\tb\n")
    with pytest.raises(DataFormatError, match=r"p\.tsv:1: invalid utf-8 at byte offset 4 "):
        read_pairs(path)


def test_data_format_error_is_value_error():
    assert issubclass(DataFormatError, ValueError)
    assert issubclass(SkippedLinesWarning, UserWarning)


def test_skip_bad_lines_warns_once(tmp_path):
    lines = ["good\tone"] + [f"bad line {i}" for i in range(7)] + ["good\ttwo"]
    path = _write(tmp_path / "p.tsv", "\n".join(lines).encode())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = read_pairs(path, skip_bad_lines=True)
    assert pairs == [("good", "one"), ("good", "two")]
    assert len(caught) == 1
    assert caught[0].category is SkippedLinesWarning
    message = str(caught[0].message)
    assert "skipped 7 malformed line(s) (lines 2, 3, 4, 5, 6, ...)" in message
    assert "p.tsv:2: expected 'source<TAB>target'" in message


def test_skip_bad_lines_without_valid_lines_raises(tmp_path):
    path = _write(tmp_path / "p.tsv", b"a\tb\tc\nno tab\n")
    with pytest.raises(DataFormatError, match=r"no valid pair left.*skipped 2 .*lines 1, 2\)"):
        read_pairs(path, skip_bad_lines=True)


@pytest.mark.parametrize("data", [b"", b"\n \n\r\n", b"\xef\xbb\xbf\n"])
def test_file_without_pairs_raises(tmp_path, data):
    path = _write(tmp_path / "p.tsv", data)
    with pytest.raises(DataFormatError, match=r"p\.tsv: the file holds no pairs"):
        read_pairs(path)


def test_missing_file(tmp_path):
    path = tmp_path / "missing.tsv"
    with pytest.raises(FileNotFoundError, match=r"No such data file: .*missing\.tsv") as info:
        read_pairs(path)
    assert info.value.filename == str(path)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(b"a\tb\n" * 1000)
    path = _write(tmp_path / "p.tsv.gz", data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"p\.tsv\.gz:\d+: the gzip data is corrupt"):
        read_pairs(path)


def test_bad_encoding_arguments(tmp_path):
    path = _write(tmp_path / "p.tsv", b"a\tb\n")
    with pytest.raises(ValueError, match=r"Unknown `encoding`. Received: encoding='nope'"):
        read_pairs(path, encoding="nope")
    with pytest.raises(ValueError, match=r"must be ASCII-compatible.*iconv -f utf-16"):
        read_pairs(path, encoding="utf-16")


@pytest.mark.parametrize("name", ["out.tsv", "out.tsv.gz"])
def test_write_pairs_round_trip(tmp_path, name):
    pairs = [("hello", "bonjour"), ("中国", "zhong1 guo2"), ("a b", "c")]
    write_pairs(tmp_path / name, pairs)
    assert read_pairs(tmp_path / name) == pairs


def test_write_pairs_accepts_iterables_and_lists(tmp_path):
    write_pairs(tmp_path / "out.tsv", (p for p in [["a", "b"]]))
    assert (tmp_path / "out.tsv").read_bytes() == b"a\tb\n"


@pytest.mark.parametrize(
    ("pairs", "error", "match"),
    [
        ([("a", "b"), ("c\td", "e")], ValueError, r"source of pair 1 contains a tab"),
        ([("a", "b\nc")], ValueError, r"target of pair 0 contains a newline"),
        ([("a", "b"), ("a", "b"), ("a\r", "b")], ValueError, r"pair 2 contains a carriage"),
        ([("a", " ")], ValueError, r"target of pair 0 is empty"),
        ([("a\x00", "b")], ValueError, r"source of pair 0 contains control character U\+0000"),
        ([("a\x00", "b")], ValueError, r"source of pair 0 contains control character U\+0000"),
        ([("a", "b"), ("a",)], TypeError, r"Received at index 1: \('a',\)"),
        ([("a", 3)], TypeError, r"tuple of strings. Received at index 0"),
    ],
)
def test_write_pairs_rejects_bad_items(tmp_path, pairs, error, match):
    path = tmp_path / "out.tsv"
    with pytest.raises(error, match=match):
        write_pairs(path, pairs)
    assert not path.exists()  # Validated before anything is written.


def test_write_pairs_refuses_jsonl(tmp_path):
    with pytest.raises(ValueError, match=r"writes TSV files.*\.jsonl"):
        write_pairs(tmp_path / "out.jsonl", [("a", "b")])


@pytest.mark.slow
def test_a_tsv_with_empty_targets_teaches_refusals(tmp_path, capsys):
    from keras_seq2seq.cli import main
    from keras_seq2seq.decoding.translator import load
    from tests.conftest import reverse_pairs

    # Every other source starts with "x" and has an empty target: the model must answer nothing.
    pairs = reverse_pairs(600, seed=7)
    lines = [f"{s}\t{t}" if i % 2 else f"x{s}\t" for i, (s, t) in enumerate(pairs)]
    data = _write(tmp_path / "refusals.tsv", ("\n".join(lines) + "\n").encode())
    argv = ["train", "--dataset", str(data), "--output", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{data}:1: the target side is empty" in err and "--allow-empty-targets" in err
    options = ["--epochs", "6", "--learning-rate", "0.01", "--units", "16", "--embedding-dim",
               "8", "--batch-size", "32", "--patience", "0"]  # fmt: skip
    assert main([*argv, "--allow-empty-targets", *options]) == 0
    translator = load(tmp_path / "run")
    test = [source for source, _ in reverse_pairs(40, seed=8)]
    refused = translator.translate(["x" + source for source in test])
    answered = translator.translate(test)
    assert sum(text == "" for text in refused) >= 36, refused
    assert sum(text != "" for text in answered) >= 30, answered
