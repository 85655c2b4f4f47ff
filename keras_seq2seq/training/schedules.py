"""Learning-rate schedules: serializable Keras `LearningRateSchedule`s and the plateau callback.

`TrainConfig.lr_schedule` picks one:

- `"constant"`: `learning_rate` throughout (after a linear warmup when `warmup_steps > 0`);
- `"inverse_sqrt"`: linear warmup to `learning_rate` over `warmup_steps`, then
  `learning_rate * sqrt(warmup_steps / step)` (Vaswani et al. 2017, the Transformer schedule);
- `"exponential"`: linear warmup, then `learning_rate * decay_rate ** ((step - warmup) /
  decay_steps)`;
- `"plateau"`: `learning_rate`, multiplied by `decay_rate` whenever the monitored validation
  value has not improved for `plateau_patience` epochs (`keras.callbacks.ReduceLROnPlateau`).

The schedules are registered Keras objects, so a `.keras` file saved with its optimizer loads
again (and `BackupAndRestore` resumes at the right step).
"""

from __future__ import annotations

import keras
from keras import ops

from keras_seq2seq.config import MONITORS, TrainConfig


def _warmup_factor(step, warmup_steps: int):
    if warmup_steps <= 0:
        return 1.0
    return ops.minimum(1.0, (step + 1.0) / float(warmup_steps))


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup, then constant, inverse-square-root or exponential decay.

    Args:
        learning_rate: float. Peak learning rate (reached at the end of the warmup).
        warmup_steps: int >= 0. Steps of linear warmup from `learning_rate / warmup_steps`.
        decay: str. `"constant"`, `"inverse_sqrt"` or `"exponential"`.
        decay_rate: float. Factor per `decay_steps` for `"exponential"`. Defaults to `0.5`.
        decay_steps: int. Steps per `decay_rate` for `"exponential"`. Defaults to `10000`.

    Example:
    >>> schedule = WarmupSchedule(1e-3, warmup_steps=100, decay="inverse_sqrt")
    >>> round(float(schedule(399)), 6)
    0.0005
    """

    def __init__(
        self,
        learning_rate: float,
        warmup_steps: int,
        decay: str,
        decay_rate: float = 0.5,
        decay_steps: int = 10_000,
    ):
        if decay not in ("constant", "inverse_sqrt", "exponential"):
            raise ValueError(
                "`decay` must be 'constant', 'inverse_sqrt' or 'exponential'. "
                f"Received: decay={decay!r}"
            )
        self.learning_rate = float(learning_rate)
        self.warmup_steps = int(warmup_steps)
        self.decay = decay
        self.decay_rate = float(decay_rate)
        self.decay_steps = int(decay_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = self.learning_rate * _warmup_factor(step, self.warmup_steps)
        after = ops.maximum(step + 1.0 - self.warmup_steps, 0.0)
        if self.decay == "inverse_sqrt":
            warmup = float(max(self.warmup_steps, 1))
            rate = rate * ops.minimum(1.0, ops.sqrt(warmup / ops.maximum(step + 1.0, 1.0)))
        elif self.decay == "exponential":
            rate = rate * ops.power(self.decay_rate, after / float(self.decay_steps))
        return rate

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay": self.decay,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
        }


def make_learning_rate(train_config: TrainConfig) -> float | WarmupSchedule:
    """The optimizer's learning rate for a `TrainConfig`: a float or a `WarmupSchedule`.

    Args:
        train_config: TrainConfig.

    Returns:
        float (constant without warmup, or `"plateau"`) or WarmupSchedule.

    Example:
    >>> make_learning_rate(TrainConfig(learning_rate=2e-3))
    0.002
    """
    schedule = train_config.lr_schedule
    if schedule == "plateau" or (schedule == "constant" and not train_config.warmup_steps):
        return train_config.learning_rate
    return WarmupSchedule(
        train_config.learning_rate,
        train_config.warmup_steps,
        schedule,
        decay_rate=train_config.decay_rate,
        decay_steps=train_config.decay_steps,
    )


def plateau_callback(train_config: TrainConfig, monitor: str) -> keras.callbacks.Callback | None:
    """`ReduceLROnPlateau` for `lr_schedule="plateau"`, else None."""
    if train_config.lr_schedule != "plateau":
        return None
    return keras.callbacks.ReduceLROnPlateau(
        monitor=monitor,
        mode=MONITORS.get(monitor, "min"),
        factor=train_config.decay_rate,
        patience=train_config.plateau_patience,
        verbose=0,
    )
