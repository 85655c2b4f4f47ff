"""CTranslate2 decoding speed of an OpenNMT-py Transformer (benchmark-only, its own venv).

    /tmp/onmt/bin/python benchmarks/peers/ctranslate2_speed.py --checkpoint model_step_N.pt
        --spm source_spm.model --sources test.src [--beam-width 4] [--threads 2]

Runs in the OpenNMT-py environment (which has `ctranslate2` and `sentencepiece`): converts the
checkpoint with CTranslate2's OpenNMT-py converter (float32), tokenizes the sources with the
SentencePiece model, then times `Translator.translate_batch` (beam search, batches of 256,
`intra_threads` = `--threads`) after one untimed warm-up batch. Prints one JSON line:
sentences/s and output tokens/s. `benchmarks/transformer_decode.py` calls it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument("--spm", required=True)
    parser.add_argument("--sources", required=True, type=Path)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    import ctranslate2
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
    translator = ctranslate2.Translator(str(converted), device="cpu", compute_type="float32",
                                       inter_threads=1, intra_threads=args.threads)  # fmt: skip
    options = {"beam_size": args.beam_width, "max_batch_size": args.batch_size,
               "max_decoding_length": 256}  # fmt: skip
    translator.translate_batch(sources[: args.batch_size], **options)  # warm-up
    started = time.perf_counter()
    results = translator.translate_batch(sources, **options)
    seconds = time.perf_counter() - started
    tokens = sum(len(r.hypotheses[0]) for r in results)
    print(json.dumps({"sentences": len(sources), "seconds": seconds,
                      "sentences_per_second": len(sources) / seconds,
                      "tokens_per_second": tokens / seconds,
                      "ctranslate2": ctranslate2.__version__}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
