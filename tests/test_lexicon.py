"""Tests for keras_seq2seq.decoding.lexicon: known inputs answered from a table, not decoded."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.cli import main
from keras_seq2seq.decoding.lexicon import Lexicon, read_lexicon
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.evaluation.evaluate import evaluate, format_report
from keras_seq2seq.serving.model_card import format_model_card, model_card
from tests.test_export import _b64, _decoded, serve_in_fresh_process

# The tiny model reverses strings of a-h; a lexicon answers three inputs otherwise.
ENTRIES = [("abc", "KNOWN ONE"), ("Hd", "KNOWN TWO"), ("abc", "second answer, ignored")]
INPUTS = ["abc", "ABC", "Hd", "gfe", "bad"]  # the source side is not lower-cased: ABC is unknown


def test_keys_are_normalized_and_a_repeated_source_keeps_its_first_answer():
    lexicon = Lexicon([("Hello ", "A"), ("hello", "B"), ("\uff37orld", "C")], lowercase=True)
    assert lexicon.entries == (("hello", "A"), ("world", "C"))  # NFKC: a full-width W
    answers, known = lexicon.lookup(tf.constant(["  HELLO", "hello!", "", "World"]))
    assert answers.numpy().tolist() == [b"A", b"", b"", b"C"]
    assert known.numpy().tolist() == [True, False, False, True]
    cased = Lexicon([("Hello", "A")])  # a side that keeps case compares with case
    assert cased.lookup(tf.constant(["Hello", "hello"]))[1].numpy().tolist() == [True, False]


@pytest.mark.parametrize(
    "entries, message",
    [
        ([], r"at least one"),
        ([("a", "")], r"entry 1 \('a' -> ''\) has an empty target"),
        ([("a", "x"), ("  ", "y")], r"entry 2 .* has an empty source"),
        ([("a\tb", "x")], r"entry 1: the source 'a\\tb' holds a tab"),
        ([("a", 3)], r"entry 1: the target must be a str, got int"),
    ],
)
def test_bad_entries_are_refused_by_number(entries, message):
    with pytest.raises(ValueError, match=message):
        Lexicon(entries)


def test_a_bad_lexicon_file_names_its_line(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("hello\tHH AH L OW\n\nworld WER L D\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"words.tsv:3: expected 'source<TAB>target'"):
        read_lexicon(path)
    path.write_text("hello\t\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"words.tsv:1: the target side is empty"):
        read_lexicon(path)
    path.write_text("hello\tHH AH L OW\n\nworld\tW ER L D\n", encoding="utf-8")
    assert read_lexicon(path) == [("hello", "HH AH L OW"), ("world", "W ER L D")]


def test_a_canonical_file_is_read_by_tensorflow_and_any_other_is_checked(tmp_path):
    written = Lexicon([("Hello ", "A"), ("hello", "B"), ("World", "C D")], lowercase=True)
    canonical = written.write(tmp_path / "lexicon.tsv")
    assert canonical.read_text(encoding="utf-8") == "hello\tA\nworld\tC D\n"
    fast = Lexicon.from_file(canonical, lowercase=True)
    assert fast.path == canonical and fast.size == 2  # a table over the file itself
    assert fast.entries == written.entries
    answers, known = fast.lookup(tf.constant(["HELLO", "world", "hello world"]))
    assert answers.numpy().tolist() == [b"A", b"C D", b""]
    assert known.numpy().tolist() == [True, True, False]
    # Keys that are not normalized, a repeated key or a blank line: read and checked by entry.
    raw = tmp_path / "words.tsv"
    for text in ("Hello\tA\n", "hello\tA\nhello\tB\n", "hello\tA\n\nworld\tC\n", "hello\tA"):
        raw.write_text(text, encoding="utf-8")
        checked = Lexicon.from_file(raw, lowercase=True)
        assert checked.path is None and checked.lookup(tf.constant(["HELLO"]))[0].numpy() == [b"A"]
    raw.write_text("hello\tA\nworld\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"words.tsv:2: expected 'source<TAB>target'"):
        Lexicon.from_file(raw)
    with pytest.raises(FileNotFoundError):
        Lexicon.from_file(tmp_path / "missing.tsv")


def _translator_with_lexicon(run_dir):
    translator = load(run_dir)
    translator.lexicon = Lexicon(ENTRIES, lowercase=translator.config.source_text.lowercase)
    return translator


@pytest.mark.slow
def test_known_inputs_get_the_lexicon_answer_and_the_others_are_decoded(tiny_run):
    plain = load(tiny_run)
    translator = _translator_with_lexicon(tiny_run)
    decoded = translator.decode(INPUTS, beam_width=3, n_best=2)[0]
    reference = plain.decode(INPUTS, beam_width=3, n_best=2)[0]
    known = np.array([True, False, True, False, False])
    assert decoded.from_lexicon.tolist() == known.tolist() and reference.from_lexicon is None
    assert decoded.outputs[known, 0].tolist() == [b"KNOWN ONE", b"KNOWN TWO"]
    assert (decoded.scores[known, 0] == 0).all() and decoded.accepted[known, 0].all()
    # Everything else is the model's own search: the unknown inputs and the other hypotheses.
    np.testing.assert_array_equal(decoded.outputs[~known], reference.outputs[~known])
    np.testing.assert_array_equal(decoded.scores[~known], reference.scores[~known])
    np.testing.assert_array_equal(decoded.outputs[:, 1], reference.outputs[:, 1])
    np.testing.assert_array_equal(decoded.ids, reference.ids)
    assert translator.translate(["gfe", "abc"]) == [plain.translate("gfe"), "KNOWN ONE"]
    translator.lexicon = None  # the traced functions follow the lexicon set
    assert translator.translate("abc") == plain.translate("abc")
    translator.lexicon = Lexicon(ENTRIES)
    assert translator.translate("abc") == "KNOWN ONE"
    with pytest.raises(TypeError, match=r"`lexicon` must be a .*Lexicon or None"):
        translator.lexicon = {"abc": "x"}
    report = evaluate(translator, [("abc", "KNOWN ONE"), ("gfe", "efg")], progress=False)
    assert report["from_lexicon"] == 50.0 and "from_lexicon" not in evaluate(
        plain, [("abc", "cba")], progress=False
    )
    assert re.search(r"answered from the model's lexicon \(%\) +50\.00", format_report(report))
    # A forced prefix asks for a decoded output: the lexicon stays out of it.
    prefixed = translator.translate(["abc", "Hd"], prefix=["c", ""])
    assert prefixed == [plain.translate("abc", prefix="c"), "KNOWN TWO"]


@pytest.mark.slow
def test_an_export_answers_from_its_lexicon_in_every_signature(tiny_run, tmp_path, capsys):
    lexicon_file = tmp_path / "words.tsv"
    lexicon_file.write_text("".join(f"{s}\t{t}\n" for s, t in ENTRIES), encoding="utf-8")
    base = tmp_path / "saved" / "reverse"
    assert main(["export", "--model", str(tiny_run), "--output", str(base),
                 "--lexicon", str(lexicon_file)]) == 0  # fmt: skip
    version = base / "1"
    assert (version / "assets" / "lexicon.tsv").read_text(encoding="utf-8") == (
        "abc\tKNOWN ONE\nHd\tKNOWN TWO\n"
    )
    # Stored once: the table reads the asset, the graph holds no copy of the answers.
    assert not (version / "lexicon.tsv").exists()
    assert b"KNOWN ONE" not in (version / "saved_model.pb").read_bytes()
    card = json.loads((version / "model_card.json").read_text(encoding="utf-8"))
    assert card["lexicon"] == 2 and model_card(version)["lexicon"] == 2
    assert "2 known inputs answered from it" in format_model_card(card)
    expected = load(base).translate(INPUTS)  # in process, from the export's files
    assert [expected[0], expected[2]] == ["KNOWN ONE", "KNOWN TWO"]
    calls = [
        {"signature": "serving_default", "texts": _b64(INPUTS)},
        {"signature": "beam_search", "texts": _b64(INPUTS), "beam_width": 4, "n_best": 2},
    ]
    served = serve_in_fresh_process(version, calls, _b64(INPUTS), tmp_path)
    greedy, beam = served["results"]
    assert [t.decode() for t in _decoded(greedy["outputs"])] == expected
    assert _decoded(greedy["scores"])[[0, 2]].tolist() == [0.0, 0.0]
    beam_outputs = _decoded(beam["outputs"]).reshape(len(INPUTS), 2)
    assert beam_outputs[[0, 2], 0].tolist() == [b"KNOWN ONE", b"KNOWN TWO"]
    session = _decoded(served["session"]["outputs"]).reshape(len(INPUTS), -1)
    assert session[[0, 2], 0].tolist() == [b"KNOWN ONE", b"KNOWN TWO"]
    # Exporting the export keeps its lexicon; a bad lexicon file stops with its line.
    assert main(["export", "--model", str(base), "--output", str(base)]) == 0
    assert load(base / "2").translate("Hd") == "KNOWN TWO"
    lexicon_file.write_text("abc KNOWN\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["export", "--model", str(tiny_run), "--output", str(base),
                 "--lexicon", str(lexicon_file)]) == 2  # fmt: skip
    assert "words.tsv:1: expected 'source<TAB>target'" in capsys.readouterr().err
    assert sorted(p.name for p in base.iterdir()) == ["1", "2"]  # nothing half-written
