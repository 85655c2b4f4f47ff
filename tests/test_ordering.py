"""Tests for keras_seq2seq.decoding.ordering and that every batching path uses it."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keras_seq2seq.decoding.ordering import in_input_order, length_order


@given(st.lists(st.text(max_size=12), max_size=40))
def test_ordering_round_trips_and_sorts_by_length(texts):
    order = length_order(texts)
    assert sorted(order) == list(range(len(texts)))
    lengths = [len(texts[i]) for i in order]
    assert lengths == sorted(lengths)
    # Stable: equal lengths keep their input order.
    for a, b in itertools.pairwise(order):
        if len(texts[a]) == len(texts[b]):
            assert a < b
    assert in_input_order(order, [texts[i] + "!" for i in order]) == [t + "!" for t in texts]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="2 results for 3 ordered texts"):
        in_input_order([0, 1, 2], ["a", "b"])


def test_rest_client_sends_requests_in_length_order(monkeypatch):
    from keras_seq2seq.serving import client

    sent = []

    def fake_batch(self, batch, options):
        sent.append(list(batch))
        return [text.upper() for text in batch]

    monkeypatch.setattr(client.RestTranslator, "_translate_batch", fake_batch)
    translator = client.RestTranslator.__new__(client.RestTranslator)
    texts = ["ccc", "a", "bb", "dddd", "e"]
    assert translator.translate(texts, batch_size=2) == [t.upper() for t in texts]
    assert sent == [["a", "e"], ["bb", "ccc"], ["dddd"]]
