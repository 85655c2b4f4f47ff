"""Decoding: the search algorithms, the options that pick one, and the translator that runs them.

The decoders are written once against `step_fn(tokens, state, time) -> (log_probs, state,
attention)`. `strategies` holds the registry of search strategies (greedy, beam, sampling) and
of the processors that change each step's log-probabilities (`no_repeat_ngram`, top-p in
`nucleus`, a forced target `prefix`); `strategies.make_strategy` builds the one a
`DecodeOptions` (`options`) asks for, and `search.decode` runs it. `translator` holds
`Translator` and `load` (strings in, strings out), `output_check` a model's output constraints,
`streaming` translation of streams in bounded memory.

The search functions below are loaded on first use, so importing `keras_seq2seq.decoding.options`
(which the command line does before its `--help`) does not import TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BeamResult": "beam",
    "beam_search": "beam",
    "tile_beams": "beam",
    "DecodeResult": "common",
    "gather_rows": "common",
    "greedy_search": "greedy",
    "sample_search": "sampling",
}
"""Each search name and the submodule that defines it."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Load a search function or result type from its submodule on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
