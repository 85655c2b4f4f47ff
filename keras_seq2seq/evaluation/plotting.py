"""Attention heat maps: which source tokens each output token looked at.

Figures are drawn with matplotlib's object API and its Agg renderer: nothing opens a window,
and pyplot's global state is never touched, so this works on servers and in threads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.decoding.translator import Translator, load
from keras_seq2seq.text.vocabulary import END, END_ID, PAD_ID


def _label(token: str) -> str:
    # A space (char tokenizer) would be an invisible tick label.
    return token.replace(" ", "␣") if token.strip() == "" and token else token


def attention_tokens(
    translator: Translator, text: str, options: DecodeOptions | None = None, **option_kwargs
) -> tuple[list[str], list[str], np.ndarray]:
    """Decodes `text` and returns its tokens and the attention weights of the best output.

    Args:
        translator: Translator of a model with attention.
        text: str. The source text.
        options: DecodeOptions or None. How to decode. Defaults to greedy search.
        **option_kwargs: DecodeOptions fields, when `options` is None.

    Returns:
        `(source_tokens, output_tokens, weights)`: the source tokens the model saw
        (normalized, truncated, then `[END]`), the output tokens (`[END]` included when it
        was emitted) and float32 weights of shape `[len(output_tokens), len(source_tokens)]`.

    Raises:
        TypeError: `text` is not a str.
        ValueError: the model has no attention, or an option is out of range.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str. Received: {type(text).__name__}")
    if not translator.has_attention:
        raise ValueError(
            "This model has no attention weights to plot (an rnn model trained with "
            "`--attention none`, or an architecture without attention). Train one with "
            "`--attention dot` or `--attention additive`."
        )
    options = DecodeOptions.coerce(options, **option_kwargs)
    (decoded,) = translator.decode([text], options)
    source_ids = decoded.source_ids[0]
    source_length = int(np.count_nonzero(source_ids != PAD_ID))
    pieces = translator.source_tokenizer.tokenize_to_strings(tf.constant([text])).to_list()[0]
    source_tokens = [piece.decode("utf-8") for piece in pieces[: source_length - 1]] + [END]

    ids = decoded.ids[0, 0]
    ends = np.flatnonzero(ids == END_ID)
    output_length = int(ends[0]) + 1 if ends.size else int(np.count_nonzero(ids != PAD_ID))
    vocabulary = translator.target_tokenizer.vocabulary
    output_tokens = [vocabulary[int(i)] for i in ids[:output_length]]
    weights = np.asarray(decoded.attention[0, 0, :output_length, :source_length], np.float32)
    return source_tokens, output_tokens, weights


def plot_attention(
    translator: Translator | str | os.PathLike,
    text: str,
    options: DecodeOptions | None = None,
    *,
    output: str | os.PathLike | None = None,
    **option_kwargs: Any,
) -> Any:
    """Draws the attention weights of the decoded `text` as a heat map.

    Columns are the source tokens (`[END]` last), rows the output tokens (`[END]` last when
    it was emitted); cell (t, s) is how much output token t attended to source token s.

    Args:
        translator: a Translator, or a model path as `inference.load` takes it.
        text: str. The source text.
        options: DecodeOptions or None. How to decode. Defaults to greedy search.
        output: str, Path or None. Save the figure there (format from the suffix, e.g.
            `.png`, `.svg`, `.pdf`; parent directories are created). Defaults to `None`.
        **option_kwargs: DecodeOptions fields (`beam_width=4`), when `options` is None.

    Returns:
        matplotlib.figure.Figure.

    Raises:
        TypeError: `text` is not a str.
        ValueError: the model has no attention, or an option is out of range.
        FileNotFoundError: the model path holds no model.

    Example:
    >>> figure = plot_attention("saved_models/dates", "March 3, 2021",
    ...                         output="attention.png")  # doctest: +SKIP
    """
    from matplotlib.figure import Figure

    if not isinstance(translator, Translator):
        translator = load(translator)
    source_tokens, output_tokens, weights = attention_tokens(
        translator, text, options, **option_kwargs
    )
    cell = 0.3 if max(len(t) for t in source_tokens + output_tokens) <= 3 else 0.5
    figure = Figure(
        figsize=(
            min(2.5 + cell * len(source_tokens), 30.0),
            min(2.0 + cell * len(output_tokens), 30.0),
        ),
        layout="constrained",
    )
    axes = figure.add_subplot()
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source_tokens)), [_label(t) for t in source_tokens], rotation=90)
    axes.set_yticks(range(len(output_tokens)), [_label(t) for t in output_tokens])
    axes.set_xlabel("source tokens")
    axes.set_ylabel("output tokens")
    figure.colorbar(image, ax=axes, label="attention weight")
    if output is not None:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120)
    return figure
