"""TensorFlow CPU thread settings for training recurrent models.

An LSTM train step on CPU is thousands of small ops (one set per time step). TensorFlow's
default gives every op a share of an intra-op thread pool, and for matrices this small the
hand-off costs more than it saves. One thread per op (`intra_op=1`) with as many ops running
side by side as there are cores (`inter_op`) is faster: independent ops (the layers' input
projections, the weight gradients of one layer while the next layer's backward pass runs,
the encoder's last layer while the decoder's first runs) use the cores instead.
`benchmarks/train_speed.py` measures both settings.

Thread pools are fixed once TensorFlow runs its first op, so call `configure_cpu_threads`
(or `configure_for_cpu_training`, which leaves machines with a GPU alone) first thing in a
program; `keras-seq2seq train` does, unless `--intra-op-threads 0` is given.

Example:
>>> import keras_seq2seq.cpu
>>> keras_seq2seq.cpu.configure_cpu_threads()  # doctest: +SKIP
"""

from __future__ import annotations

import os

import tensorflow as tf


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_cpu_threads(intra_op: int = 1, inter_op: int | None = None) -> None:
    """Sets TensorFlow's thread pools; call it before TensorFlow runs anything.

    Args:
        intra_op: int. Threads one op may use; `0` keeps TensorFlow's default (all cores).
            Defaults to `1`.
        inter_op: int or None. Ops run side by side; `None` means one per available core,
            `0` keeps TensorFlow's default. Defaults to `None`.

    Raises:
        ValueError: a negative thread count.
        RuntimeError: TensorFlow has already run an op in this process, so its thread pools
            can no longer change (call this first thing in the program).

    Example:
    >>> configure_cpu_threads(intra_op=1)  # doctest: +SKIP
    """
    if inter_op is None:
        inter_op = available_cores()
    for name, value in (("intra_op", intra_op), ("inter_op", inter_op)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"`{name}` must be an integer >= 0. Received: {name}={value!r}")
    current = (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )
    if current == (intra_op, inter_op):
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as error:
        raise RuntimeError(
            "TensorFlow's thread pools are fixed once it has run an op; call "
            "configure_cpu_threads() first thing in the program, before any TensorFlow or "
            f"Keras work. ({error})"
        ) from error


def configure_for_cpu_training(intra_op: int = 1) -> bool:
    """`configure_cpu_threads(intra_op)` on a machine without GPU; nothing where there is one.

    With a GPU the recurrent layers run on it (cuDNN) and TensorFlow's default pools suit
    the host-side work.

    Args:
        intra_op: int. Threads one op may use. Defaults to `1`.

    Returns:
        bool. Whether the thread pools were set.

    Raises:
        ValueError, RuntimeError: as `configure_cpu_threads`.

    Example:
    >>> configure_for_cpu_training()  # doctest: +SKIP
    True
    """
    if tf.config.list_physical_devices("GPU"):
        return False
    configure_cpu_threads(intra_op=intra_op)
    return True
