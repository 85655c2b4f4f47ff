"""Tests for keras_seq2seq.versions: version directories ordered by number."""

from keras_seq2seq.serving.export import existing_versions, next_version
from keras_seq2seq.versions import newest_version_dir, version_dirs


def test_versions_are_numbered_directories_in_numeric_order(tmp_path):
    for name in ("1", "10", "9", "draft", "007"):
        (tmp_path / name).mkdir()
    (tmp_path / "11").write_text("a file, not a version")
    assert [p.name for p in version_dirs(tmp_path)] == ["1", "007", "9", "10"]
    assert newest_version_dir(tmp_path) == tmp_path / "10"
    assert existing_versions(tmp_path) == [1, 7, 9, 10]
    assert next_version(tmp_path) == 11


def test_a_missing_or_empty_base_has_no_versions(tmp_path):
    assert version_dirs(tmp_path / "missing") == []
    assert newest_version_dir(tmp_path) is None
    assert next_version(tmp_path / "missing") == 1
