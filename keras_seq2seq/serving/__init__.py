"""Serving: SavedModel export for TF Serving, its op audit, model cards and clients.

Modules: `export` (`export_model`: strings in, strings out, atomic versioned write),
`op_check` (can stock TF Serving run every op), `warmup` (the warm-up records TF Serving
replays at load), `tf_text_ops` (the TF-Text op signatures TF Serving links), `model_card`
(what a model is and how well it did) and `client` (REST and gRPC request bodies; no
TensorFlow import). `keras_seq2seq.export_model` is the top-level entry point.
"""
