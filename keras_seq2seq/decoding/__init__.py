"""Decoders written once against `step_fn(tokens, state, time) -> (log_probs, state, attention)`.

`search.decode` picks greedy search, sampling or beam search from a `DecodeOptions`.
"""

from keras_seq2seq.decoding.beam import BeamResult, beam_search, tile_beams
from keras_seq2seq.decoding.common import DecodeResult, gather_rows
from keras_seq2seq.decoding.greedy import greedy_search
from keras_seq2seq.decoding.sampling import sample_search

__all__ = [
    "BeamResult",
    "DecodeResult",
    "beam_search",
    "gather_rows",
    "greedy_search",
    "sample_search",
    "tile_beams",
]
