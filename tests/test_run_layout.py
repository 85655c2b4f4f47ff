"""Tests for keras_seq2seq.run_layout: every run-directory name, named once."""

import pytest

from keras_seq2seq import run_layout
from keras_seq2seq.run_layout import (
    RUN_LAYOUT,
    asset_file,
    checkpoint_file,
    checkpoint_files,
    member_dir,
    vocabulary_file,
)


def test_every_name_of_the_module_is_described_once():
    names = {
        value
        for attribute, value in vars(run_layout).items()
        if attribute.endswith(("_FILE", "_DIR")) and isinstance(value, str)
    }
    assert names == set(RUN_LAYOUT)
    assert len(names) == len([a for a in vars(run_layout) if a.endswith(("_FILE", "_DIR"))])
    assert set(run_layout.RUN_FILES) <= names and set(run_layout.RECORD_FILES) <= names


def test_side_names():
    assert vocabulary_file("source") == "source_vocab.txt"
    assert asset_file("target", "spm.model") == "target_spm.model"
    assert member_dir(2) == "members/2"
    with pytest.raises(ValueError, match=r'`side` must be "source" or "target"\. Received: '):
        asset_file("both", "spm.model")


def test_checkpoints_are_found_in_epoch_order(tmp_path):
    assert checkpoint_files(tmp_path / "missing") == []
    for epoch in (10, 2, 1000):
        (tmp_path / checkpoint_file(epoch)).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    (tmp_path / "epoch-x.weights.h5").write_bytes(b"")
    assert [p.name for p in checkpoint_files(tmp_path)] == [
        "epoch-002.weights.h5",
        "epoch-010.weights.h5",
        "epoch-1000.weights.h5",
    ]


@pytest.mark.slow
def test_a_trained_run_holds_only_names_of_the_layout(tiny_run):
    from keras_seq2seq.config import RunConfig
    from keras_seq2seq.training.run_dir import model_files

    config = RunConfig.load(tiny_run / run_layout.CONFIG_FILE)
    expected = set(RUN_LAYOUT) | set(model_files(config))
    found = {path.name for path in tiny_run.iterdir()}
    assert found <= expected, found - expected
    assert set(model_files(config)) | {run_layout.HISTORY_FILE, run_layout.TRAINING_FILE} <= found
