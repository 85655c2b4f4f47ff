"""CTranslate2 decoding speed of a Transformer (benchmark-only, its own venv).

    /tmp/onmt/bin/python benchmarks/peers/ctranslate2_speed.py --checkpoint model_step_N.pt
        --spm source_spm.model --sources test.src [--beam-width 4] [--threads 2]
    /tmp/onmt/bin/python benchmarks/peers/ctranslate2_speed.py --weights DIR
        [--beam-width 4] [--hypotheses out.txt]

Runs in the OpenNMT-py environment (which has `ctranslate2` and `sentencepiece`). The model is
either an OpenNMT-py checkpoint, converted with CTranslate2's OpenNMT-py converter and fed
SentencePiece pieces, or our own trained Transformer (`--weights`, written by
`benchmarks/ctranslate2_weights.py`: weights by spec path, vocabularies and the sources as
our tokens), built into a `TransformerSpec` with CTranslate2's public spec API. Both are
float32 on disk, run in `--compute-type` (float32 by default; `int8` quantizes the weights at
load). Times `Translator.translate_batch` (beam search, batches of 256, `intra_threads` =
`--threads`) after one untimed warm-up batch. Prints one JSON line: sentences/s and output
tokens/s; `--hypotheses` also writes each best hypothesis (tokens joined by spaces).
`benchmarks/transformer_decode.py` calls it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def _set(spec, path: str, value) -> None:
    """Sets the spec variable at `path` (`a/layer_0/linear_1/weight`: lists end in `_N`)."""
    *parents, leaf = path.split("/")
    node = spec
    for part in parents:
        if hasattr(node, part):
            node = getattr(node, part)
        else:
            base, index = part.rsplit("_", 1)
            node = getattr(node, base)[int(index)]
    if not hasattr(node, leaf):
        raise KeyError(f"{path}: no such variable in the CTranslate2 TransformerSpec")
    setattr(node, leaf, value)


def from_weights(directory: Path) -> tuple[Path, list[list[str]], int]:
    """Builds (once) a CTranslate2 model from our weights; returns it, the sources, max length."""
    import numpy as np
    from ctranslate2.specs import transformer_spec

    meta = json.loads((directory / "model.json").read_text("utf-8"))
    converted = directory / "ctranslate2"
    if not converted.exists():
        spec = transformer_spec.TransformerSpec.from_config(
            meta["num_layers"], meta["heads"], pre_norm=True
        )
        for path, value in np.load(directory / "weights.npz").items():
            _set(spec, path, value)
        spec.config.unk_token, spec.config.bos_token = "[UNK]", "[START]"
        spec.config.eos_token, spec.config.decoder_start_token = "[END]", "[START]"
        spec.config.add_source_eos = True
        spec.config.layer_norm_epsilon = 1e-6
        spec.register_source_vocabulary(meta["source_vocabulary"])
        spec.register_target_vocabulary(meta["target_vocabulary"])
        spec.validate()
        converted.mkdir()
        spec.save(str(converted))
    lines = (directory / "tokens.jsonl").read_text("utf-8").splitlines()
    return converted, [json.loads(line) for line in lines], meta["max_decoding_length"]


def from_checkpoint(args) -> tuple[Path, list[list[str]], int]:
    """Converts (once) an OpenNMT-py checkpoint; returns it, the sources as pieces, 256."""
    import sentencepiece

    converted = args.checkpoint.with_suffix(".ct2")
    if not converted.exists():
        converter = Path(sys.executable).parent / "ct2-opennmt-py-converter"
        subprocess.run([str(converter), "--model_path", str(args.checkpoint), "--output_dir",
                        str(converted), "--quantization", "float32"], check=True,
                       capture_output=True)  # fmt: skip
    processor = sentencepiece.SentencePieceProcessor(model_file=args.spm)
    sources = [processor.encode(line, out_type=str) for line in
               args.sources.read_text("utf-8").splitlines()]  # fmt: skip
    return converted, sources, 256


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, help="an OpenNMT-py checkpoint")
    parser.add_argument("--spm", help="with --checkpoint: the SentencePiece model")
    parser.add_argument("--sources", type=Path, help="with --checkpoint: one source per line")
    parser.add_argument("--weights", type=Path, help="our model (ctranslate2_weights.py)")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--hypotheses", type=Path, help="write the best hypotheses here")
    parser.add_argument(
        "--compute-type",
        default="float32",
        choices=["float32", "int8", "int8_float32"],
        help="CTranslate2's compute type (int8: int8 weights and matmuls, quantized at load)",
    )
    parser.add_argument(
        "--length-penalty",
        type=float,
        default=1.0,
        help="beam search's length penalty (CTranslate2's default: 1)",
    )
    args = parser.parse_args(argv)
    if (args.weights is None) == (args.checkpoint is None):
        parser.error("give either --weights DIR or --checkpoint PT (with --spm, --sources)")
    import ctranslate2

    if args.weights:
        converted, sources, max_length = from_weights(args.weights)
    else:
        converted, sources, max_length = from_checkpoint(args)
    translator = ctranslate2.Translator(str(converted), device="cpu",
                                       compute_type=args.compute_type, inter_threads=1,
                                       intra_threads=args.threads)  # fmt: skip
    options = {"beam_size": args.beam_width, "max_batch_size": args.batch_size,
               "max_decoding_length": max_length,
               "length_penalty": args.length_penalty}  # fmt: skip
    translator.translate_batch(sources[: args.batch_size], **options)  # warm-up
    started = time.perf_counter()
    results = translator.translate_batch(sources, **options)
    seconds = time.perf_counter() - started
    tokens = sum(len(r.hypotheses[0]) for r in results)
    if args.hypotheses:
        args.hypotheses.write_text(
            "".join(" ".join(r.hypotheses[0]) + "\n" for r in results), "utf-8"
        )
    print(json.dumps({"sentences": len(sources), "seconds": seconds,
                      "sentences_per_second": len(sources) / seconds,
                      "tokens_per_second": tokens / seconds,
                      "ctranslate2": ctranslate2.__version__}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
