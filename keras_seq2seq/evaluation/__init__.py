"""Evaluation: decode a dataset and score it, score given pairs, plot attention.

Modules: `evaluate` (`evaluate`, the report), `metrics` (BLEU, chrF, ROUGE, exact match,
WER/PER and their registry), `scoring` (log-probability of given pairs) and `plotting`
(attention heat maps). `keras_seq2seq.evaluate` is the top-level entry point.
"""
