"""Tests for keras_seq2seq.evaluation.names: hand-worked identifier counts and scores."""

from __future__ import annotations

import math

import pytest

from keras_seq2seq.evaluation.names import (
    looks_like_identifier,
    names_exact,
    occurrences,
    source_names,
    tokens,
)


def test_tokens_strip_outer_punctuation_only():
    assert tokens('See "ABySS", (abc2midi) - x.abc. e.g. C++ «gtk-3»') == [
        "See", "ABySS", "abc2midi", "x.abc", "e.g", "C++", "gtk-3",
    ]  # fmt: skip
    assert tokens("  -- ... ") == []


@pytest.mark.parametrize(
    "token, expected",
    [
        ("ABySS", True),  # inner capitals
        ("GNOME", True),
        ("abc2midi", True),  # digit
        ("3", True),
        ("snake_case", True),
        ("D-Bus", True),  # hyphen, with a capital
        ("x.abc", True),
        ("Python", False),  # only a leading capital
        ("tools", False),
        ("e.g", False),  # abbreviation
        ("z.B", False),
        ("command-line", False),  # lower-case English compound
        ("libfoo-dev", False),  # same form: a name only when the reference has it
    ],
)
def test_identifier_form(token, expected):
    assert looks_like_identifier(token) is expected


def test_occurrences_need_non_word_neighbours():
    assert occurrences("GNOME", "GNOME-Desktop und GNOME.") == 2
    assert occurrences("ABySS", "ABySSS") == 0
    assert occurrences("abc2midi", "abc2Midi") == 0
    assert occurrences("3", "Python-3-Modul, 33") == 1
    assert occurrences("C++", "C++-Bibliothek") == 1
    assert occurrences("snake", "snake_case") == 0


def test_source_names_by_hand():
    source = "Use vim and vim with GNOME in Python and e.g. command-line"
    reference = "Nutzen Sie vim und vim mit GNOME in Python, z.B. auf der Kommandozeile"
    # GNOME by form; vim x2 and Python by the reference; `in` is a common word; `and`,
    # `command-line`, `e.g` neither look like names nor occur in the reference.
    assert source_names(source, reference) == {"vim": 2, "GNOME": 1, "Python": 1}
    # A token that is a name only through the reference counts as often as it occurs there.
    assert source_names("vim vim vim", ["vim", "vim vim"]) == {"vim": 2}
    assert source_names("in ABySS", "in ABySS", ignore=frozenset()) == {"in": 1, "ABySS": 1}


def test_names_exact_by_hand():
    sources = [
        "ABySS assembles reads with ABySS-pe",  # ABySS, ABySS-pe
        "abc2midi converts abc2midi files",  # abc2midi x2
        "de novo assembly",  # `de`, `novo` via the reference
        "A simple tool",  # no names
    ]
    references = [
        "ABySS setzt Reads mit ABySS-pe zusammen",
        "abc2midi wandelt abc2midi-Dateien um",
        ["de novo Assemblierung", "Assemblierung de novo"],
        "Ein einfaches Werkzeug",
    ]
    hypotheses = [
        "ABySSS setzt Reads mit ABySS-pe zusammen",  # 1 of 2
        "abc2Midi wandelt abc2midi-Dateien um",  # 1 of 2
        "devon Assemblierung",  # 0 of 2
        "Ein Werkzeug",
    ]
    result = names_exact(sources, hypotheses, references)
    assert result == {"names_exact": pytest.approx(100 * 2 / 6), "names": 6,
                      "names_reproduced": 2}  # fmt: skip
    assert names_exact(sources, [s if isinstance(s, str) else s[0] for s in references],
                       references)["names_exact"] == 100.0  # fmt: skip
    nothing = names_exact(["A simple tool"], ["Ein Werkzeug"], ["Ein Werkzeug"])
    assert math.isnan(nothing["names_exact"]) and nothing["names"] == 0


def test_names_exact_counts_each_occurrence_once():
    # Two `libfoo2` in the source, three in the hypothesis: 2 of 2, not 3 of 2.
    result = names_exact(["libfoo2 and libfoo2"], ["libfoo2 libfoo2 libfoo2"], ["x"])
    assert (result["names"], result["names_reproduced"]) == (2, 2)
    result = names_exact(["libfoo2 and libfoo2"], ["libfoo2"], ["x"])
    assert result["names_exact"] == 50.0


def test_names_exact_bad_inputs():
    with pytest.raises(ValueError, match="2 sources, 1 hypotheses and 2 references"):
        names_exact(["a", "b"], ["a"], ["a", "b"])
    with pytest.raises(TypeError, match="`hypotheses` must be a list"):
        names_exact(["a"], "a", ["a"])


def test_one_hypothesis_stretch_reproduces_one_name():
    # `ABySS-pe` is matched first and used up: it does not also reproduce `ABySS`.
    result = names_exact(["ABySS and ABySS-pe"], ["ABySSS und ABySS-pe"], ["x"])
    assert (result["names"], result["names_reproduced"]) == (2, 1)
    result = names_exact(["ABySS and ABySS-pe"], ["ABySS und ABySS-pe"], ["x"])
    assert (result["names"], result["names_reproduced"]) == (2, 2)
