"""tf.distribute: strategy names, chief/worker paths, mirrored on CPU, 2 workers on localhost.

The multi-worker test starts 2 worker processes, and beside them a one-machine reference run
and a 2-replica mirrored run (2 logical CPUs), from this same file:
`python tests/test_distribute.py RUN_DIR OUTPUT.npz STRATEGY`.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
WORKER_TIMEOUT_S = 240  # a hung collective must fail the test, not the CI job
# The same training for the 2-worker and the one-machine run: global batch 32 (16 examples
# on each worker), bucketed by length, so the end of each epoch has short, odd-sized batches.
NUM_PAIRS = 256
GLOBAL_BATCH = 32
EPOCHS = 2


def _run_worker(run_dir: str, output: str, strategy: str) -> None:
    """Trains the tiny reverse-string model; saves its history, step losses and weights."""
    started = time.monotonic()
    # Only imports before `train`: it creates the multi-worker strategy before TF runs.
    import keras
    import tensorflow as tf

    if strategy == "mirrored-2":  # 2 replicas on one machine, as with 2 GPUs
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    from keras_seq2seq.config import TrainConfig
    from keras_seq2seq.training.fit import train
    from tests.conftest import reverse_pairs

    step_losses: list[float] = []
    weights: list[np.ndarray] = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            step_losses.append(float(logs["loss"]))

        def on_train_end(self, logs=None):
            weights.extend(self.model.get_weights())

    result = train(
        reverse_pairs(NUM_PAIRS, seed=0),
        run_dir,
        validation_pairs=reverse_pairs(32, seed=1),
        model_options={"units": 8, "embedding_dim": 8},
        train_config=TrainConfig(epochs=EPOCHS, batch_size=GLOBAL_BATCH, patience=0),
        verbose=0,
        callbacks=[Record()],
        strategy=strategy,
    )
    print(f"done in {time.monotonic() - started:.1f}s", flush=True)
    np.savez(
        output,
        loss=np.array(result.history["loss"]),
        val_loss=np.array(result.history["val_loss"]),
        step_loss=np.array(step_losses),
        **{f"w{i}": w for i, w in enumerate(weights)},
    )


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start(run_dir: Path, output: Path, strategy: str, tf_config: dict | None, log: Path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(
        CUDA_VISIBLE_DEVICES="-1",  # the same kernels (CPU) in every run
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    )
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    command = [sys.executable, __file__, str(run_dir), str(output), strategy]
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_all(processes, logs: list[Path], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    try:
        for process, log in zip(processes, logs, strict=True):
            try:
                code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"{log.name}: no result after {timeout_s}s:\n{log.read_text()[-3000:]}")
            if code != 0:
                pytest.fail(f"{log.name} exited with {code}:\n{log.read_text()[-3000:]}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.slow
def test_two_workers_train_like_one_machine(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    run_dir = tmp_path / "run"  # shared by both workers, as on a shared file system
    # Worker 1 finds a stale backup one epoch ahead of the chief's (none): it must follow the
    # chief, or the two would run different numbers of steps and hang.
    stale = run_dir / ".worker-1" / "backup"
    stale.mkdir(parents=True)
    (stale / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    runs = {
        "worker0": ("multi-worker", {"cluster": cluster, "task": {"type": "worker", "index": 0}}),
        "worker1": ("multi-worker", {"cluster": cluster, "task": {"type": "worker", "index": 1}}),
        "single": ("default", None),
        "mirrored": ("mirrored-2", None),
    }
    processes, logs = [], []
    for name, (strategy, tf_config) in runs.items():
        directory = run_dir if name.startswith("worker") else tmp_path / f"{name}-run"
        logs.append(tmp_path / f"{name}.log")
        processes.append(_start(directory, tmp_path / f"{name}.npz", strategy, tf_config, logs[-1]))
    _wait_all(processes, logs, WORKER_TIMEOUT_S)
    worker0, worker1, single, mirrored = (np.load(tmp_path / f"{name}.npz") for name in runs)
    weights = [key for key in worker0.files if key.startswith("w")]
    assert len(weights) > 4

    # Synchronous training: both workers end with the same weights and logs, bit for bit.
    for key in weights:
        np.testing.assert_array_equal(worker0[key], worker1[key], err_msg=key)
    for key in ("loss", "val_loss", "step_loss"):
        np.testing.assert_array_equal(worker0[key], worker1[key], err_msg=key)
    assert len(worker0["loss"]) == EPOCHS
    assert worker0["loss"][-1] < worker0["loss"][0]
    assert worker0["val_loss"][-1] < worker0["val_loss"][0]

    # Against one machine at the same global batch: same initial weights, same batches in the
    # same order (DATA sharding), and the loss of each step is the mean over the global
    # batch's tokens on both. So every step is the same up to float rounding: weights agree to
    # 1e-6 after all steps (measured: 6e-8) and so does the validation loss after each epoch
    # (measured: equal). The logged *training* loss is a running mean that Keras weights by
    # each worker's share of a batch, which differs from the one-machine weighting on the
    # odd-sized batches at the end of each epoch: 1% (measured: 0.3%).
    for key in weights:
        np.testing.assert_allclose(worker0[key], single[key], atol=1e-6, err_msg=key)
    np.testing.assert_allclose(worker0["val_loss"], single["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(worker0["loss"], single["loss"], rtol=1e-2)
    np.testing.assert_allclose(worker0["step_loss"], single["step_loss"], rtol=1e-2)
    # The same holds for 2 replicas of one machine (Keras' own build at the start of `fit`
    # would advance the seeded reshuffle: 4e-2 apart after 2 epochs).
    for key in weights:
        np.testing.assert_allclose(mirrored[key], single[key], atol=1e-6, err_msg=key)
    np.testing.assert_allclose(mirrored["val_loss"], single["val_loss"], rtol=1e-5)

    # The chief wrote the run directory; worker 1 removed its copy (backup included).
    for name in ("config.json", "source_vocab.txt", "target_vocab.txt", "model.keras"):
        assert (run_dir / name).is_file(), name
    assert len(json.loads((run_dir / "history.json").read_text())["loss"]) == EPOCHS
    assert sorted(p.name for p in run_dir.iterdir()) == [
        ".lock",  # the training lock (released by the OS; see run_dir.training_lock)
        "config.json",
        "history.json",
        "logs",
        "model.keras",
        "source_vocab.txt",
        "target_vocab.txt",
        "training.json",
    ]
    for name in ("source_vocab.txt", "target_vocab.txt", "config.json"):
        assert (run_dir / name).read_text() == (tmp_path / "single-run" / name).read_text()


@pytest.mark.slow
def test_mirrored_strategy_trains_like_no_strategy(tmp_path):
    import keras

    from keras_seq2seq.config import TrainConfig
    from keras_seq2seq.training.fit import train
    from tests.conftest import reverse_pairs

    class Record(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            self.weights = self.model.get_weights()

    results, weights = {}, {}
    for strategy in ("default", "mirrored"):  # mirrored: the GPUs, or here the CPU
        record = Record()
        results[strategy] = train(
            reverse_pairs(64, seed=0),
            tmp_path / strategy,
            validation_pairs=reverse_pairs(8, seed=1),
            model_options={"units": 8, "embedding_dim": 8},
            train_config=TrainConfig(epochs=1, batch_size=16, patience=0),
            verbose=0,
            callbacks=[record],
            strategy=strategy,
        )
        weights[strategy] = record.weights
    assert (tmp_path / "mirrored" / "model.keras").is_file()
    for default, mirrored in zip(weights["default"], weights["mirrored"], strict=True):
        np.testing.assert_allclose(mirrored, default, atol=1e-5)
    np.testing.assert_allclose(
        results["mirrored"].history["val_loss"], results["default"].history["val_loss"], rtol=1e-5
    )


def test_batch_must_cover_every_replica(tmp_path, monkeypatch):
    import tensorflow as tf

    from keras_seq2seq.config import TrainConfig
    from keras_seq2seq.training.fit import train

    strategy = tf.distribute.get_strategy()
    monkeypatch.setattr(type(strategy), "num_replicas_in_sync", property(lambda self: 4))
    with pytest.raises(ValueError, match=r"global batch, split over 4 replicas.*batch_size=2"):
        train(
            [("ab", "ba")] * 8, tmp_path, train_config=TrainConfig(batch_size=2), strategy=strategy
        )


def test_get_strategy_names():
    import tensorflow as tf

    from keras_seq2seq.training.distribute import get_strategy

    default = tf.distribute.get_strategy()
    assert get_strategy() is default
    assert get_strategy("default") is default
    assert get_strategy(default) is default
    with pytest.raises(ValueError, match=r"'default', 'mirrored', 'multi-worker'.*'tpu'"):
        get_strategy("tpu")
    with pytest.raises(TypeError, match=r"tf\.distribute\.Strategy\. Received: int"):
        get_strategy(2)


@pytest.mark.parametrize(
    ("tf_config", "match"),
    [
        (None, 'needs the TF_CONFIG environment variable.*"index": 1 on the second'),
        ("{not json", "TF_CONFIG is not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', 'no "cluster"'),
        ('{"cluster": {"worker": ["h:1", "h:2"]}}', 'no "task"'),
        (
            '{"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 2}}',
            "not in its cluster",
        ),
    ],
)
def test_multi_worker_needs_tf_config(monkeypatch, tf_config, match):
    from keras_seq2seq.training import distribute

    monkeypatch.setattr(distribute, "_multi_worker_strategy", None)
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=match):
        distribute.get_strategy("multi-worker")


def _fake_strategy(cluster: dict, task_type: str, task_id: int, reduce=None):
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id
    )
    return SimpleNamespace(cluster_resolver=resolver, reduce=reduce)


def test_chief_and_worker_dirs():
    import tensorflow as tf

    from keras_seq2seq.training.distribute import is_chief, num_workers, worker_dir

    workers = {"worker": ["h:1", "h:2"]}
    with_chief = {"chief": ["h:0"], "worker": ["h:1", "h:2"]}
    assert is_chief(tf.distribute.get_strategy())
    assert num_workers(tf.distribute.get_strategy()) == 1
    assert is_chief(_fake_strategy(workers, "worker", 0))
    assert not is_chief(_fake_strategy(workers, "worker", 1))
    assert not is_chief(_fake_strategy(with_chief, "worker", 0))
    assert is_chief(_fake_strategy(with_chief, "chief", 0))
    assert num_workers(_fake_strategy(with_chief, "chief", 0)) == 3
    assert worker_dir("runs/x", _fake_strategy(workers, "worker", 0)) == Path("runs/x")
    assert worker_dir("runs/x", _fake_strategy(workers, "worker", 1)) == Path("runs/x/.worker-1")
    assert worker_dir("runs/x", _fake_strategy(with_chief, "worker", 0)) == Path("runs/x/.worker-0")


def test_vocabularies_do_not_depend_on_data_order():
    from keras_seq2seq.config import TextConfig
    from keras_seq2seq.text.tokenizers import fit_tokenizer
    from keras_seq2seq.training.distribute import data_fingerprint
    from tests.conftest import reverse_pairs

    pairs = reverse_pairs(200, seed=0)
    shuffled = random.Random(1).sample(pairs, len(pairs))
    for config in (TextConfig(), TextConfig(tokenizer="word")):
        for side in (0, 1):
            first = fit_tokenizer(config, [p[side] for p in pairs]).vocabulary
            second = fit_tokenizer(config, [p[side] for p in shuffled]).vocabulary
            assert first == second
    vocab = fit_tokenizer(TextConfig(), [p[0] for p in pairs]).vocabulary
    assert data_fingerprint(pairs, [vocab]) == data_fingerprint(list(pairs), [list(vocab)])
    assert data_fingerprint(pairs, [vocab]) != data_fingerprint(pairs[1:], [vocab])
    assert data_fingerprint(pairs, [vocab]) != data_fingerprint(pairs, [vocab[:-1]])


def test_workers_with_different_data_are_refused():
    import tensorflow as tf

    from keras_seq2seq.training.distribute import check_same_data

    def reduce(op, value, axis):  # as if the other worker's hash were 1 higher
        return value + 1 if op == tf.distribute.ReduceOp.MEAN else value

    workers = {"worker": ["h:1", "h:2"]}
    check_same_data(tf.distribute.get_strategy(), "ab" * 32)  # one worker: nothing to check
    with pytest.raises(ValueError, match="same training data and vocabularies"):
        check_same_data(_fake_strategy(workers, "worker", 1, reduce), "ab" * 32)


if __name__ == "__main__":
    _run_worker(*sys.argv[1:4])


def test_private_keras_hooks_still_exist():
    """The private Keras APIs `distribute` relies on: fails loudly when Keras changes them."""
    import inspect

    import keras
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    # TrainingModel.build_for_distribution calls `_symbolic_build(data_batch=...)` and skips
    # `fit`'s `_maybe_symbolic_build(iterator=...)`.
    assert "data_batch" in inspect.signature(keras.Model._symbolic_build).parameters
    assert set(inspect.signature(TensorFlowTrainer._maybe_symbolic_build).parameters) >= {
        "iterator",
        "data_batch",
    }
    assert "_maybe_symbolic_build(iterator=" in inspect.getsource(TensorFlowTrainer.fit)
    # SyncWithChief reads and writes `_initial_epoch`, which BackupAndRestore sets and `fit`
    # resumes from.
    assert "self._initial_epoch" in inspect.getsource(TensorFlowTrainer.fit)
    source = inspect.getsource(keras.callbacks.BackupAndRestore)
    assert "self.model._initial_epoch" in source


def test_training_model_saves_and_builds_for_distribution(tmp_path):
    import keras
    import tensorflow as tf

    from keras_seq2seq.training.distribute import TrainingModel, prepare_model

    inputs = keras.Input((3,))
    model = TrainingModel(inputs, keras.layers.Dense(2)(inputs), name="m")
    model.compile(optimizer="adam", loss="mse")
    data = tf.data.Dataset.from_tensor_slices((np.ones((8, 3)), np.ones((8, 2)))).batch(4)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    prepare_model(model, tf.distribute.get_strategy(), data)  # default strategy: nothing
    assert not model._built_for_distribution
    with strategy.scope():
        distributed = TrainingModel(inputs, keras.layers.Dense(2)(inputs))
        distributed.compile(optimizer="adam", loss="mse")
    prepare_model(distributed, strategy, data)
    assert distributed.optimizer.built
    distributed.fit(data, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded) is TrainingModel
    np.testing.assert_allclose(loaded(np.ones((1, 3))), model(np.ones((1, 3))))
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(TypeError, match=r"needs the architecture's training model"):
        prepare_model(plain, strategy, data)
