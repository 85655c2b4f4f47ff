"""Tests for keras_seq2seq.decoding.streaming: bounded-memory file translation in input order."""

import io

import pytest

from keras_seq2seq.decoding.options import DecodeOptions, Hypothesis
from keras_seq2seq.decoding.streaming import count_lines, translate_file, translate_lines


class FakeTranslator:
    """Reverses each text; records the batches it was given."""

    def __init__(self):
        self.calls = []

    def translate(self, texts, options=None, *, batch_size=256):
        self.calls.append(list(texts))
        options = DecodeOptions.coerce(options)
        if options.n_best == 1:
            return [text[::-1] for text in texts]
        return [
            [Hypothesis(text[::-1] + "!" * k, -1.0 - k, -0.5 - k) for k in range(options.n_best)]
            for text in texts
        ]


def test_outputs_come_back_in_input_order_chunk_by_chunk():
    # Chunks go to `translate` as they come: ordering by length is the translator's job
    # (`keras_seq2seq.decoding.ordering`), done once.
    translator = FakeTranslator()
    lines = ["ccc", "a", "bbbb", "dd", "", "eeeee", "f"]
    assert list(translate_lines(translator, lines, chunk_size=3)) == [t[::-1] for t in lines]
    assert translator.calls == [["ccc", "a", "bbbb"], ["dd", "", "eeeee"], ["f"]]


def test_n_best_lines_and_no_line_breaks_in_outputs():
    translator = FakeTranslator()
    out = list(translate_lines(translator, ["ab"], DecodeOptions(beam_width=2, n_best=2)))
    assert out == ["1\t-0.5000\tba", "2\t-1.5000\tba!"]
    assert list(translate_lines(translator, ["x\ny"])) == ["y x"]


def test_lines_are_read_lazily():
    translator = FakeTranslator()
    consumed = []

    def source():
        for i in range(10):
            consumed.append(i)
            yield str(i)

    outputs = translate_lines(translator, source(), chunk_size=4)
    assert next(outputs) == "0"
    assert consumed == [0, 1, 2, 3]  # only the first chunk has been read


def test_translate_file_keeps_the_line_count(tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes(b"abc\n\nx\xffy\r\nlast line without end")
    out = tmp_path / "sub" / "out.txt"
    assert count_lines(source) == 4
    assert translate_file(FakeTranslator(), source, out, chunk_size=2, progress=False) == 4
    assert out.read_text(encoding="utf-8").split("\n") == [
        "cba",
        "",
        "y\ufffdx",
        "dne tuohtiw enil tsal",
        "",
    ]
    stream = io.StringIO()
    translate_file(FakeTranslator(), source, stream, progress=False)
    assert stream.getvalue().count("\n") == 4


def test_progress_goes_to_stderr_only_when_asked(tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("a\nb\n", encoding="utf-8")
    translate_file(FakeTranslator(), source, tmp_path / "o.txt", progress=True)
    err = capsys.readouterr().err
    assert "Translating: 2/2 sentences" in err
    translate_file(FakeTranslator(), source, tmp_path / "o.txt", progress=None)  # not a tty
    assert capsys.readouterr().err == ""


def test_missing_input_and_bad_sizes():
    with pytest.raises(FileNotFoundError, match=r"--input nope.txt: no such file"):
        translate_file(FakeTranslator(), "nope.txt")
    with pytest.raises(ValueError, match=r"`chunk_size` must be a positive integer"):
        list(translate_lines(FakeTranslator(), ["a"], chunk_size=0))
