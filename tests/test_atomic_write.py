"""Tests for keras_seq2seq.atomic_write: a reader sees the old file or the new one."""

import json

import pytest

from keras_seq2seq import atomic_write
from keras_seq2seq.atomic_write import write_bytes, write_json, write_text


def test_write_json_replaces_the_file_and_leaves_no_partial(tmp_path):
    path = tmp_path / "card.json"
    write_json(path, {"a": 1})
    write_json(path, {"name": "grüß", "values": [1.5, 2]})
    assert json.loads(path.read_text(encoding="utf-8")) == {"name": "grüß", "values": [1.5, 2]}
    assert "grüß" in path.read_text(encoding="utf-8")  # not \\u escapes
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_unserializable_data_keeps_the_old_file(tmp_path):
    path = tmp_path / "history.json"
    write_json(path, {"loss": [1.0]})
    with pytest.raises(TypeError):
        write_json(path, {"loss": object()})
    assert json.loads(path.read_text(encoding="utf-8")) == {"loss": [1.0]}
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_a_failed_rename_removes_the_partial_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "notes.txt"
    write_text(path, "old\n")

    def refuse(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(atomic_write.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_bytes(path, b"new\n")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_text(tmp_path / "missing" / "file.txt", "x")
