import json

import pytest

from keras_seq2seq.config import ModelConfig, RunConfig, TextConfig, TrainConfig


def test_run_config_json_round_trip(tmp_path):
    config = RunConfig(
        ModelConfig(40, 15, units=32, bidirectional=True, attention="additive", cell="gru"),
        TextConfig(tokenizer="char"),
        TextConfig(tokenizer="word", lowercase=True, max_length=20),
        TrainConfig(epochs=3, label_smoothing=0.1),
    )
    assert RunConfig.from_json(config.to_json()) == config
    config.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == config


def test_configs_are_frozen():
    config = TrainConfig()
    with pytest.raises(AttributeError):
        config.epochs = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"units": 0}, ValueError, r"`units` must be a positive integer. Received: units=0"),
        ({"units": 8.0}, TypeError, r"`units` must be a positive integer.*of type float"),
        ({"dropout": 1.0}, ValueError, r"`dropout` must be a number in \[0, 1\)"),
        ({"source_vocabulary_size": 3}, ValueError, r"an integer >= 5"),
        ({"architecture": ""}, TypeError, r"`architecture` must be the name"),
        ({"options": ["a"]}, TypeError, r"`options` must be a dict"),
        ({"attention": ["dot"]}, TypeError, r"Model option 'attention' must be a str"),
    ],
)
def test_model_config_validation(kwargs, error, match):
    base = {"source_vocabulary_size": 40, "target_vocabulary_size": 15}
    with pytest.raises(error, match=match):
        ModelConfig(**{**base, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"attention": "luong"}, ValueError, r"`attention` must be one of \['dot', 'additive'"),
        ({"cell": "rnn"}, ValueError, r"`cell` must be one of"),
        ({"bidirectional": 1}, TypeError, r"`bidirectional` must be True or False"),
        ({"bidirectional": True, "units": 7}, ValueError, r"`units` must be even"),
        ({"heads": 4}, ValueError, r"Unknown option\(s\) \['heads'\] for architecture 'rnn'"),
    ],
)
def test_architecture_options_are_checked(kwargs, error, match):
    from keras_seq2seq.models import build_model, get_architecture

    config = ModelConfig(40, 15, **kwargs)
    with pytest.raises(error, match=match):
        get_architecture("rnn").parse_options(config)
    with pytest.raises(error, match=match):
        build_model(config)


def test_unknown_architecture_lists_the_registered_ones():
    from keras_seq2seq.models import build_model

    with pytest.raises(ValueError, match=r"Unknown architecture 'nope'. Registered .*rnn"):
        build_model(ModelConfig(40, 15, architecture="nope"))


def test_model_config_keeps_options_apart_and_reads_flat_configs():
    config = ModelConfig(40, 15, units=32, options={"cell": "gru"}, attention="none")
    assert config.options == {"attention": "none", "cell": "gru"}
    assert config.replace(units=16, attention="dot").options == {"attention": "dot", "cell": "gru"}
    assert config.replace(units=16).units == 16
    # The flat layout of earlier config.json files (no "architecture", no "options").
    flat = {"source_vocabulary_size": 40, "target_vocabulary_size": 15, "units": 32,
            "num_layers": 1, "dropout": 0.0, "cell": "gru", "attention": "none"}  # fmt: skip
    assert ModelConfig.from_dict(flat) == config
    assert ModelConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, r"`epochs` must be a positive integer. Received: epochs=0"),
        ({"batch_size": 0}, r"`batch_size` must be a positive integer"),
        ({"batch_size": -1}, r"`batch_size`"),
        ({"learning_rate": 0}, r"`learning_rate` must be a positive number"),
        ({"label_smoothing": 1.5}, r"`label_smoothing`"),
        ({"patience": -1}, r"`patience`"),
        ({"seed": -2}, r"`seed`"),
    ],
)
def test_train_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": True}, r"`epochs` must be a positive integer. Received: epochs=True of type"),
        ({"learning_rate": "0.1"}, r"`learning_rate` must be a positive number"),
        ({"bucket": 1}, r"`bucket` must be True or False"),
        ({"seed": 1.0}, r"`seed` must be an integer >= 0"),
    ],
)
def test_train_config_type_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        TrainConfig(**kwargs)


def test_text_config_validation():
    with pytest.raises(ValueError, match=r"`tokenizer` must be one of"):
        TextConfig(tokenizer="bpe")
    with pytest.raises(ValueError, match=r"`max_length` must be a positive integer"):
        TextConfig(max_length=0)


def test_unknown_field_and_bad_json(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown TrainConfig field\(s\) \['epoch'\]"):
        TrainConfig.from_dict({"epoch": 3})
    path = tmp_path / "config.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"config.json is not a valid JSON configuration"):
        RunConfig.load(path)
    path.write_text(json.dumps({"model": {}}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"missing section"):
        RunConfig.load(path)
    with pytest.raises(FileNotFoundError, match=r"Run configuration not found"):
        RunConfig.load(tmp_path / "nope.json")
