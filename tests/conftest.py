"""Shared fixtures: quiet TensorFlow, tiny trained model reused across tests."""

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

LETTERS = "abcdefgh"


def reverse_pairs(count: int, seed: int, max_len: int = 6) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        text = "".join(rng.choice(LETTERS) for _ in range(rng.randint(1, max_len)))
        pairs.append((text, text[::-1]))
    return pairs


@pytest.fixture(scope="session")
def reverse_run(tmp_path_factory):
    """A small char model trained to reverse strings (shared by the slow tests)."""
    from keras_seq2seq.config import TrainConfig
    from keras_seq2seq.training.fit import train

    run_dir = tmp_path_factory.mktemp("reverse")
    result = train(
        reverse_pairs(3000, seed=0),
        run_dir,
        validation_pairs=reverse_pairs(200, seed=1),
        model_options={"units": 32, "embedding_dim": 16},
        train_config=TrainConfig(epochs=10, batch_size=32, patience=0),
        verbose=0,
    )
    return result


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run directory of a tiny, barely trained char model (one epoch): for loading and I/O."""
    from keras_seq2seq.config import TrainConfig
    from keras_seq2seq.training.fit import train

    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    train(
        reverse_pairs(64, seed=5),
        run_dir,
        validation_pairs=reverse_pairs(8, seed=6),
        model_options={"units": 8, "embedding_dim": 4},
        train_config=TrainConfig(epochs=1, batch_size=32, patience=0),
        verbose=0,
    )
    return run_dir
