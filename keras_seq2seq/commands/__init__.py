"""The subcommands of `keras-seq2seq`, one module each.

Each module has `add_parser(subparsers)`, which adds the command's parser (its flags, and
`handler`: the function that runs it), and that function, which calls the library. Flags of
config and option fields are generated from the fields (`keras_seq2seq.cli_fields`). The
modules import TensorFlow only inside their handlers, so `--help` answers without it.
"""
