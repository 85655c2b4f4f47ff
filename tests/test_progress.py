"""Tests for keras_seq2seq.progress: in place on a terminal, a line every ~10 % elsewhere."""

import io

from keras_seq2seq.progress import Counter, is_terminal


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_is_terminal():
    assert not is_terminal(io.StringIO())
    assert is_terminal(_Terminal())


def test_counter_rewrites_its_line_on_a_terminal():
    stream = _Terminal()
    counter = Counter(2, "sentences", "Translating", stream=stream)
    counter.update(1)
    counter.update(2)
    text = stream.getvalue()
    assert text.startswith("\r\x1b[KTranslating: 1/2 sentences (")
    assert "\r\x1b[KTranslating: 2/2 sentences (" in text and text.endswith(")\n")


def test_counter_prints_lines_into_a_file():
    stream = io.StringIO()
    counter = Counter(20, "sentences", "Decoding", stream=stream)
    for done in range(1, 21):
        counter.update(done)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 10 and lines[-1].startswith("Decoding: 20/20 sentences (")


def test_disabled_counter_prints_nothing():
    stream = _Terminal()
    counter = Counter(2, "sentences", "Decoding", enabled=False, stream=stream)
    counter.update(2)
    counter.close()
    assert stream.getvalue() == ""
