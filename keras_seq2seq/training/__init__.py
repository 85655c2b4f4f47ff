"""Training: compile and fit into a run directory, and everything a run needs.

Modules: `fit` (`train`, `compile_model`), `run_dir` (the run directory: save, find, load),
`recipes` (builtin datasets' settings), `callbacks`, `losses`, `schedules`, `averaging`
(checkpoint averaging), `distill` (knowledge distillation, with `teacher_pass` and
`distill_loss`), `distribute` (tf.distribute strategies) and `cpu` (thread pools,
allocator). The public entry points are also at the top level: `keras_seq2seq.train`,
`keras_seq2seq.distill`, `keras_seq2seq.load`, `keras_seq2seq.average_checkpoints`.
"""
