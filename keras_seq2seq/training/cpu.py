"""TensorFlow CPU settings for training: thread pools and the memory allocator.

An LSTM train step on CPU is thousands of small ops (one set per time step). TensorFlow's
default gives every op a share of an intra-op thread pool, and for matrices this small the
hand-off costs more than it saves. One thread per op (`intra_op=1`) with as many ops running
side by side as there are cores (`inter_op`) is faster: independent ops (the layers' input
projections, the weight gradients of one layer while the next layer's backward pass runs,
the encoder's last layer while the decoder's first runs) use the cores instead.
`benchmarks/train_speed.py` measures both settings.

Memory: by default TensorFlow's CPU tensors come from the C library's `malloc`, and every
buffer above glibc's mmap threshold (at most 32 MiB by default) is a fresh `mmap` whose pages
the kernel zeroes on first touch and unmaps on free. With a large output vocabulary the
logits and their gradients are such buffers (64 rows x 24 steps x 8,000 pieces = 49 MB), and
a train step spends much of its time in page faults. `use_pooling_allocator` switches
TensorFlow to its own pooling (BFC) allocator for CPU memory, which keeps freed buffers for
reuse; `benchmarks/copy_speed.py` measures the difference.

Thread pools and the allocator are fixed once TensorFlow runs its first op, so call
`configure_cpu_threads`
(or `configure_for_cpu_training`, which leaves machines with a GPU alone) first thing in a
program; `keras-seq2seq train` does, unless `--intra-op-threads 0` is given.

Example:
>>> import keras_seq2seq.training.cpu
>>> keras_seq2seq.training.cpu.configure_cpu_threads()  # doctest: +SKIP
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


POOLING_ALLOCATOR_VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"
"""The environment variable TensorFlow reads when it creates its CPU allocator."""


def use_pooling_allocator() -> bool:
    """Makes TensorFlow pool its CPU memory (BFC allocator) instead of `malloc` per tensor.

    Sets `TF_CPU_ALLOCATOR_USE_BFC=1` unless the environment already sets it (an explicit
    `TF_CPU_ALLOCATOR_USE_BFC=0` wins). TensorFlow reads it when it creates its CPU
    allocator, at its first op: later calls change nothing. The pool keeps freed memory
    for reuse, so the process's memory stays near its peak use instead of shrinking.

    Returns:
        bool. Whether the pooling allocator is requested.

    Example:
    >>> use_pooling_allocator()  # doctest: +SKIP
    True
    """
    os.environ.setdefault(POOLING_ALLOCATOR_VARIABLE, "1")
    return os.environ[POOLING_ALLOCATOR_VARIABLE].strip().lower() in ("1", "true")


def configure_for_cpu_training(intra_op: int = 1) -> bool:
    """On a machine without GPU: `use_pooling_allocator()` and `configure_cpu_threads(intra_op)`.

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
    use_pooling_allocator()
    configure_cpu_threads(intra_op=intra_op)
    return True


class SpeedWarning(UserWarning):
    """A setting will make training slower on this machine than leaving it out."""


# Measured with `benchmarks/train_speed.py --rows bfloat16` (standard model, batch 64): mixed
# bfloat16 tokens/s over float32 tokens/s in the same run.
BFLOAT16_SPEED = {
    "amx": ("1.36x", "a CPU with AMX (Intel Sapphire Rapids class)"),
    "avx512_bf16": ("0.73x", "a CPU with AVX512-BF16 but no AMX"),
}


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of this machine (`/proc/cpuinfo`; empty where it is missing).

    Example:
    >>> "avx2" in cpu_flags()  # doctest: +SKIP
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def bfloat16_support(flags: frozenset[str] | None = None) -> str:
    """How this CPU does bfloat16 matrix products: `"amx"`, `"avx512_bf16"` or `"none"`."""
    flags = cpu_flags() if flags is None else flags
    if "amx_bf16" in flags:
        return "amx"
    return "avx512_bf16" if "avx512_bf16" in flags else "none"


def bfloat16_advice(flags: frozenset[str] | None = None) -> str | None:
    """Why mixed bfloat16 would slow training down on this CPU, or None where it pays.

    Mixed bfloat16 pays on CPUs with AMX; elsewhere (and with a GPU, where float16 is the
    mixed precision to use) this returns the reason, with what was detected and measured.

    Example:
    >>> bfloat16_advice(frozenset({"avx512f", "avx512_bf16"}))  # doctest: +ELLIPSIS
    'Mixed bfloat16 pays on CPUs with AMX; this CPU has AVX512-BF16 but no AMX ...'
    """
    if tf.config.list_physical_devices("GPU"):
        return (
            "Mixed bfloat16 is meant for CPUs with AMX; on a GPU use --mixed-precision float16 "
            "(tensor cores), or float32."
        )
    support = bfloat16_support(flags)
    if support == "amx":
        return None
    amx_ratio, amx_cpu = BFLOAT16_SPEED["amx"]
    if support == "avx512_bf16":
        ratio, cpu = BFLOAT16_SPEED["avx512_bf16"]
        detected = "AVX512-BF16 but no AMX"
        measured = f"on {cpu} it trained at {ratio} the float32 speed"
    else:
        detected = "neither AMX nor AVX512-BF16 (bfloat16 is emulated)"
        measured = "bfloat16 arithmetic is emulated in float32 there"
    return (
        f"Mixed bfloat16 pays on CPUs with AMX; this CPU has {detected}: {measured}, against "
        f"{amx_ratio} on {amx_cpu} (benchmarks/train_speed.py --rows bfloat16). Train in "
        "float32 (leave out --mixed-precision) for speed."
    )
