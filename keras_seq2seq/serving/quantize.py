"""int8 weights for an export: Keras 3's `quantize("int8")` on the dense layers of a model.

`quantize_for_export` turns every `keras.layers.Dense` and `keras.layers.EinsumDense` that a
model calls as a layer (a layer of one of its Keras models, not a sublayer of another layer)
into Keras's int8 form: an int8 kernel with one float32 scale per output unit
(`round(kernel * scale)`, `scale = 127 / max|column|`), so the SavedModel stores those kernels in
a quarter of the bytes. At run time such a layer quantizes its inputs per row (absolute maximum,
int8), multiplies int8 by int8 with int32 accumulation and rescales to float32; the graph holds
only plain TensorFlow ops (no `jit_compile`, no XLA), so the export passes
`keras_seq2seq.serving.op_check`. Stock TensorFlow has no fast int8 matmul on CPU without oneDNN
rewrites (its int8 `BatchMatMulV3` casts to int32 and runs Eigen), so int8 makes an export
smaller, not necessarily faster: `benchmarks/int8_export.py` measures both, and the quality.

What stays float32: embeddings (lookups; a tied output projection reads the table directly),
recurrent layers (`LSTM`, `GRU`: Keras does not quantize them), the projections inside
`MultiHeadAttention` (the Transformer decoder reads their kernels directly to run one 2-D
matmul per step) and dense layers nested inside custom layers (the input-feeding and copy
layers). `QuantizationSummary.skipped` lists the layers with weights left float32.

Example:
>>> translator = load("saved_models/dates")  # doctest: +SKIP
>>> quantize_for_export(translator).layers  # doctest: +SKIP
('attention_projection', 'output_projection')
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from keras_seq2seq.modes import QUANTIZE_MODES


@dataclass(frozen=True)
class QuantizationSummary:
    """What `quantize_for_export` did.

    Attributes:
        mode: str. The quantization mode (`"int8"`).
        layers: tuple of str. Names of the layers whose kernels are now int8.
        skipped: tuple of str. Names of the layers with weights left float32.
    """

    mode: str
    layers: tuple[str, ...]
    skipped: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (`mode`, `layers`, `float32_layers`)."""
        return {
            "mode": self.mode,
            "layers": list(self.layers),
            "float32_layers": list(self.skipped),
        }


def check_quantize_mode(mode: Any) -> str | None:
    """`mode` checked: None (float32 weights) or one of `QUANTIZE_MODES`.

    Args:
        mode: None or str.

    Returns:
        None or the mode.

    Raises:
        ValueError: any other value.

    Example:
    >>> check_quantize_mode("int8")
    'int8'
    """
    if mode is None or (isinstance(mode, str) and mode in QUANTIZE_MODES):
        return mode
    raise ValueError(
        f"Unknown quantization mode {mode!r}. Supported: {', '.join(map(repr, QUANTIZE_MODES))} "
        "(int8 dense kernels; `--quantize int8` on the command line), or None for float32 "
        "weights (leave out `--quantize`)."
    )


def _keras_models(translator_or_models: Any) -> list[keras.Model]:
    """The Keras models of a Translator, a Seq2Seq model, a keras.Model or a list of them."""
    target = getattr(translator_or_models, "model", translator_or_models)
    models = getattr(target, "keras_models", target)
    if isinstance(models, keras.Model):
        models = [models]
    if isinstance(models, Sequence) and models and all(isinstance(m, keras.Model) for m in models):
        return list(models)
    raise TypeError(
        "`quantize_for_export` takes a Translator (`keras_seq2seq.load(...)`), a seq2seq model "
        f"or a list of keras.Model. Received: {type(translator_or_models).__name__}."
    )


def _model_layers(models: list[keras.Model]) -> Iterator[keras.layers.Layer]:
    """The layers the models call directly (nested models walked), each once."""
    seen: set[int] = set()
    stack = list(reversed(models))
    while stack:
        model = stack.pop()
        for layer in model.layers:
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if isinstance(layer, keras.Model):
                stack.append(layer)
            else:
                yield layer


def _is_dense(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense))


def quantize_for_export(translator_or_models: Any, mode: str = "int8") -> QuantizationSummary:
    """Quantizes a model's dense layers in place, for `export_model(..., quantize=mode)`.

    Call it on a freshly loaded model, before anything is traced: a `tf.function` traced
    earlier keeps reading the float32 kernels. See the module for what is quantized.

    Args:
        translator_or_models: a `Translator`, a seq2seq model (its `keras_models`), a
            `keras.Model` or a list of them.
        mode: str. `"int8"` (the only mode). Defaults to `"int8"`.

    Returns:
        QuantizationSummary: the layers quantized and those left float32.

    Raises:
        ValueError: an unknown mode, a layer that is already quantized, or a model without a
            dense layer to quantize.
        TypeError: `translator_or_models` is none of the above.

    Example:
    >>> summary = quantize_for_export(load("saved_models/dates"))  # doctest: +SKIP
    >>> summary.mode, summary.layers  # doctest: +SKIP
    ('int8', ('attention_projection', 'output_projection'))
    """
    mode = check_quantize_mode(mode)
    if mode is None:
        raise ValueError("`quantize_for_export` needs a mode: pass mode='int8'.")
    layers = list(_model_layers(_keras_models(translator_or_models)))
    dense = [layer for layer in layers if _is_dense(layer) and layer.built]
    for layer in dense:
        if layer.quantization_mode is not None:
            raise ValueError(
                f"Layer {layer.name!r} is already quantized ({layer.quantization_mode}); "
                "quantize a freshly loaded float32 model (`keras_seq2seq.load(...)`) once."
            )
    if not dense:
        raise ValueError(
            "This model has no Dense or EinsumDense layer that it calls as a layer, so int8 "
            "would change nothing (recurrent layers, embeddings and attention projections stay "
            "float32). Export it without `--quantize` (quantize=None)."
        )
    for layer in dense:
        layer.quantize(mode)
    skipped = [
        layer.name for layer in layers if layer.weights and not any(layer is d for d in dense)
    ]
    return QuantizationSummary(mode, tuple(d.name for d in dense), tuple(skipped))


def record_quantization(model_card_path: str | Path, summary: QuantizationSummary) -> None:
    """Adds `quantization` (`QuantizationSummary.as_dict`) to an export's model card file.

    Args:
        model_card_path: str or Path. The export's model card JSON file.
        summary: QuantizationSummary from `quantize_for_export`.

    Raises:
        FileNotFoundError: no model card there.

    Example:
    >>> record_quantization(staging / MODEL_CARD_FILE, summary)  # doctest: +SKIP
    """
    from keras_seq2seq.atomic_write import write_json

    path = Path(model_card_path)
    card = json.loads(path.read_text(encoding="utf-8"))
    card["quantization"] = summary.as_dict()
    write_json(path, card)
