"""Our trained Transformer's weights, laid out for CTranslate2's `TransformerSpec`.

    python benchmarks/ctranslate2_weights.py --model runs/g2p-pinyin-transformer
        --sources test_sources.txt --output /tmp/ct2-pinyin

Writes `weights.npz` (every CTranslate2 variable by its spec path, e.g.
`encoder/layer_0/self_attention/linear_0/weight`, in PyTorch's `[out, in]` layout),
`model.json` (layers, heads, vocabularies, special tokens) and `tokens.jsonl` (each source
line as our tokenizer's token strings, truncated like our decoder does). The OpenNMT-py
environment's `peers/ctranslate2_speed.py --weights DIR` builds a CTranslate2 float32 model
from them: the same model, so the speed comparison is on identical arithmetic and identical
outputs can be checked.

Our Transformer is the pre-layer-norm model CTranslate2 runs for OpenNMT-py checkpoints:
sinusoidal positions added to embeddings scaled by `sqrt(units)`, LayerNorm epsilon 1e-6,
ReLU feed-forward, a final LayerNorm per stack, `[END]` appended to the source and `[START]`
starting the target. Our positions put `sin` in the first half and `cos` in the second, so
the table is written out (`position_encodings/encodings`) rather than left to CTranslate2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

POSITIONS = 1024  # rows of the position table: longer than any source or output here


def position_table(depth: int, rows: int = POSITIONS) -> np.ndarray:
    """Our sinusoidal positions (`sinusoidal_positions`) as a `[rows, depth]` float32 table."""
    from keras_seq2seq.models.layers import sinusoidal_positions

    return np.asarray(sinusoidal_positions(np.arange(rows), depth), np.float32)


def _dense(layer, heads_in: bool) -> tuple[np.ndarray, np.ndarray]:
    """A Dense or EinsumDense projection as (`[out, in]` weight, `[out]` bias)."""
    kernel = np.asarray(layer.kernel)
    if heads_in:  # an attention output: [heads, key_dim, units]
        kernel = kernel.reshape(-1, kernel.shape[-1])
    else:  # [units, out] or [units, heads, key_dim]
        kernel = kernel.reshape(kernel.shape[0], -1)
    return kernel.T.copy(), np.asarray(layer.bias).reshape(-1)


def _linear(out: dict, path: str, *layers, heads_in: bool = False) -> None:
    """Writes one CTranslate2 linear; several layers are fused along the output axis."""
    weights, biases = zip(*(_dense(layer, heads_in) for layer in layers), strict=True)
    out[f"{path}/weight"] = np.concatenate(weights, axis=0)
    out[f"{path}/bias"] = np.concatenate(biases, axis=0)


def _norm(out: dict, path: str, layer) -> None:
    out[f"{path}/gamma"] = np.asarray(layer.gamma)
    out[f"{path}/beta"] = np.asarray(layer.beta)


def _attention(out: dict, path: str, layer, fused_query: bool) -> None:
    projections = (layer.query_dense, layer.key_dense, layer.value_dense)
    if fused_query:  # self-attention: one [3D, D] projection
        _linear(out, f"{path}/linear_0", *projections)
        _linear(out, f"{path}/linear_1", layer.output_dense, heads_in=True)
    else:  # cross-attention: query, then keys and values fused
        _linear(out, f"{path}/linear_0", projections[0])
        _linear(out, f"{path}/linear_1", *projections[1:])
        _linear(out, f"{path}/linear_2", layer.output_dense, heads_in=True)


def _stack(out: dict, get, stack: str, num_layers: int) -> None:
    subs = ("self", "ffn") if stack == "encoder" else ("self", "cross", "ffn")
    for i in range(num_layers):
        for sub in subs:
            prefix, path = f"{stack}_{i}_{sub}", f"{stack}/layer_{i}"
            if sub == "ffn":
                _norm(out, f"{path}/ffn/layer_norm", get(f"{prefix}_norm"))
                _linear(out, f"{path}/ffn/linear_0", get(f"{stack}_{i}_ffn_in"))
                _linear(out, f"{path}/ffn/linear_1", get(f"{stack}_{i}_ffn_out"))
                continue
            name = "self_attention" if sub == "self" else "attention"
            _attention(out, f"{path}/{name}", get(f"{prefix}_attention"), sub == "self")
            _norm(out, f"{path}/{name}/layer_norm", get(f"{prefix}_norm"))
    _norm(out, f"{stack}/layer_norm", get(f"{stack}_norm"))


def ctranslate2_variables(model) -> dict[str, np.ndarray]:
    """Every CTranslate2 `TransformerSpec` variable of our Transformer, by spec path.

    Args:
        model: a `TransformerSeq2Seq` (`load_run(...).model`), without copy attention.

    Returns:
        dict of spec path → float32 array.

    Raises:
        ValueError: the model is not a Transformer or uses copy attention.
    """
    config = model.config
    if config.architecture != "transformer" or config.copy_attention:
        raise ValueError("Only a Transformer without copy attention has a CTranslate2 twin.")
    names = {layer.name for layer in model.training.layers}

    def get(name: str):  # a tied model's three embeddings are one `shared_embedding`
        return model.training.get_layer(name if name in names else "shared_embedding")

    out = {
        "encoder/embeddings_0/weight": np.asarray(get("source_embedding").embeddings),
        "decoder/embeddings/weight": np.asarray(get("target_embedding").embeddings),
    }
    table = position_table(config.units)
    out["encoder/position_encodings/encodings"] = table
    out["decoder/position_encodings/encodings"] = table
    for stack in ("encoder", "decoder"):
        _stack(out, get, stack, config.num_layers)
    projection = get("output_projection")
    if hasattr(projection, "kernel"):
        _linear(out, "decoder/projection", projection)
    else:  # tied: the projection is the target embedding, without bias
        out["decoder/projection/weight"] = out["decoder/embeddings/weight"]
    return {name: value.astype(np.float32) for name, value in out.items()}


def source_tokens(loaded, lines: list[str]) -> list[list[str]]:
    """Each line as our source tokenizer's tokens (strings), cut at the training max length."""
    import tensorflow as tf

    ids = loaded.source_tokenizer.tokenize(tf.constant(lines))
    vocabulary = loaded.source_tokenizer.vocabulary
    limit = loaded.config.source_text.max_length
    return [[vocabulary[i] for i in row[:limit]] for row in ids.to_list()]


def write_conversion(run_dir: Path, sources: Path, output: Path) -> Path:
    """Writes `weights.npz`, `model.json` and `tokens.jsonl` for the CTranslate2 peer."""
    from keras_seq2seq.training.run_dir import load_run

    loaded = load_run(run_dir)
    output.mkdir(parents=True, exist_ok=True)
    np.savez(output / "weights.npz", **ctranslate2_variables(loaded.model))
    meta = {
        "num_layers": loaded.config.model.num_layers,
        "heads": loaded.model.options.heads,
        "source_vocabulary": list(loaded.source_tokenizer.vocabulary),
        "target_vocabulary": list(loaded.target_tokenizer.vocabulary),
        "max_decoding_length": loaded.config.target_text.max_length + 1,
    }
    (output / "model.json").write_text(json.dumps(meta), "utf-8")
    lines = sources.read_text("utf-8").splitlines()
    with open(output / "tokens.jsonl", "w", encoding="utf-8") as handle:
        for tokens in source_tokens(loaded, lines):
            handle.write(json.dumps(tokens, ensure_ascii=False) + "\n")
    return output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path, help="our Transformer run")
    parser.add_argument("--sources", required=True, type=Path, help="one source per line")
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    print(write_conversion(args.model, args.sources, args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
