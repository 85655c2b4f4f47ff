"""Where a decoding step's time goes in the exported SavedModels, against its arithmetic ceiling.

    python benchmarks/decode_profile.py [--batch 64] [--max-length 64] [--repeats 2]
        [--data ../shared/data/ddtp_en_de.dev.tsv.gz] [--runs ~/ks2s-runs/profile]
        [--models transformer,lstm,dates] [--seconds 0.5]

Profiles three SavedModels written by `keras_seq2seq.serving.export.export_model`:

- `transformer`: the translation recipe's Transformer (`benchmarks/translation.py`: 256 units,
  3 + 3 layers, 4 heads, FFN 1,024, tied embeddings) over a shared 8,000-piece SentencePiece
  vocabulary learned from the first 20,000 pairs of `--data` (`ddtp_en_de.dev.tsv.gz`),
  trained for one batch of 64 pairs only: per-step cost does not depend on the weights, and
  a model this untrained rarely writes [END], so it decodes to the exported `--max-length`;
- `lstm`: the translation recipe's LSTM (256 units, 1 layer, bidirectional encoder,
  embeddings 256, dot attention, tied embeddings), same vocabulary, same one batch;
- `dates`: the shipped `saved_models/dates` (the dates recipe's trained LSTM: 128 units),
  re-exported by this checkout, decoding held-out dates inputs (it stops when all finish).

The run and export directories live under `--runs` (outside the repository) and are reused.
Each signature (`serving_default`, greedy; `beam_search`, width 4) runs in a
`tf.compat.v1.Session`, as TF Serving runs it: `--repeats` timed calls (after one warm-up
call), then one call with `RunOptions(trace_level=FULL_TRACE)`. From the trace's
`step_stats` (one `NodeExecStats` per node execution: `timeline_label` "name = Op(inputs)",
`all_start_nanos`, `all_end_rel_nanos`, `output` shapes) the script counts node executions
and sums their time by op type, inside the decoding `while` loop's body (node names under
`/while/`) and outside it (tokenizers, encoder, search set-up and backtracking), and divides
the loop's numbers by its iteration count (executions of the loop's `LoopCond`, less one,
read from the trace). Loop time is also split by what ops do (`CLASSES`):
matmuls (the output layer's: a `[rows, V]` output), the rest of the vocabulary step (other
ops with a `[rows, V]` or `[batch, k x V]` output, top-k), self-attention cache copies
(`ConcatV2` and `GatherV2` with a `[rows, heads, t, key_dim]` output), other concatenations
and gathers (token and attention histories, beam reordering of LSTM states), loop control
and everything else; and the loop's wall time during which no op ran.

Analytic columns from the model config: FLOPs (2 x multiply-adds) of one step of one row
(a sentence for greedy, a beam row for beam), by part; the bytes the self-attention cache's
concatenation copies at the average step (layers x 2 x rows x t x units x 4; beam search's
reorder copies it once more); and the ceiling: this CPU's float32 `tf.matmul` rate at the
step's shapes (`benchmarks/matmul_rate.py`'s `rate`, measured in this process, `--seconds`
per shape) over the step's FLOPs, in row-steps/s, beside the measured row-steps/s of the
same signature (whole call, tokenizers and encoder included; rows x loop steps / seconds).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent
DATA = REPOSITORY.parent / "shared" / "data" / "ddtp_en_de.dev.tsv.gz"
TOKENIZER_PAIRS = 20_000
VOCABULARY = 8_000
MODELS = ("transformer", "lstm", "dates")
SIGNATURES = (("greedy", "serving_default", 1), ("beam 4", "beam_search", 4))
MATMUL_OPS = {"MatMul", "_FusedMatMul", "BatchMatMulV2", "BatchMatMulV3", "BatchMatMul", "Einsum"}
TOP_OPS = 12


def translation_pairs(data: Path) -> list[tuple[str, str]]:
    """The en-de pairs, in file order (the first `TOKENIZER_PAIRS` teach the vocabulary)."""
    from keras_seq2seq.data.readers import read_pairs

    if not data.is_file():
        raise SystemExit(
            f"{data} is missing: the translation models are trained from it and decode its "
            "last sources. Pass a source<TAB>target file with --data."
        )
    return read_pairs(data)


def text_config():
    """The translation recipe's text settings: one 8,000-piece SentencePiece model, both sides."""
    from keras_seq2seq.config import TextConfig

    return TextConfig(
        tokenizer="sentencepiece",
        max_vocabulary_size=VOCABULARY,
        shared_vocabulary=True,
        max_length=128,
    )


def train_one_step(architecture: str, run_dir: Path, pairs) -> None:
    """The translation recipe's model, its vocabulary learned from `pairs`, trained one step.

    The run stops after its first batch (a callback), so the weights are nearly the initial
    ones; the per-step cost of decoding does not depend on them.
    """
    import keras

    from keras_seq2seq.config import TrainConfig
    from keras_seq2seq.training.fit import train

    sys.path.insert(0, str(HERE))
    from translation import RECIPES  # benchmarks/translation.py

    class OneStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    model = {**RECIPES[architecture]["model"], "dropout": 0.0}
    train(
        pairs[:TOKENIZER_PAIRS],
        run_dir,
        validation_pairs=pairs[-64:],
        model_options=model,
        source_text=text_config(),
        target_text=text_config(),
        verbose=0,
        callbacks=[OneStep()],
        train_config=TrainConfig(epochs=1, batch_size=64, patience=0),
    )


def exported_models(root: Path, names, max_length: int, data: Path) -> dict[str, Path]:
    """Each model's SavedModel version directory under `root`, trained and exported if absent."""
    from keras_seq2seq.serving.export import export_model

    found, pairs = {}, None
    for name in names:
        version = root / "export" / name / "1"
        if not (version / "saved_model.pb").is_file():
            if name == "dates":
                source, length = REPOSITORY / "saved_models" / "dates", None
            else:
                source, length = root / "runs" / name, max_length
                if not (source / "model.keras").is_file():
                    pairs = pairs or translation_pairs(data)
                    architecture = "transformer" if name == "transformer" else "rnn"
                    print(f"Training the {name} for one step in {source}", flush=True)
                    train_one_step(architecture, source, pairs)
            print(f"Exporting {source} to {version}", flush=True)
            options = {} if length is None else {"max_length": length}
            export_model(source, version.parent, version=1, force=True, **options)
        found[name] = version
    return found


def source_texts(name: str, batch: int, data: Path) -> list[str]:
    """`batch` inputs: held-out dates for `dates`, the last en-de sources for the others."""
    if name == "dates":
        from keras_seq2seq.training.recipes import load_pairs

        return [source for source, _ in load_pairs("dates", "test", max_examples=batch)]
    return [source for source, _ in translation_pairs(data)[-batch:]]


def signature_call(meta, signature_name: str, texts: list[str], width: int):
    """(fetches, feeds) of one signature for a session, by the SignatureDef's tensor names."""
    signature = meta.signature_def[signature_name]
    feeds = {signature.inputs["inputs"].name: [t.encode("utf-8") for t in texts]}
    if "beam_width" in signature.inputs:
        feeds[signature.inputs["beam_width"].name] = width
        feeds[signature.inputs["n_best"].name] = 1
    fetches = {key: info.name for key, info in signature.outputs.items()}
    return fetches, feeds


def run_signature(path: Path, signature_name: str, texts, width: int, repeats: int):
    """Runs one signature in a TF1 session: `repeats` timed calls, then one traced call.

    Returns:
        (seconds of each timed call, seconds of the traced call, its `RunMetadata`).
    """
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
        fetches, feeds = signature_call(meta, signature_name, texts, width)
        session.run(fetches, feeds)  # warm-up: graph optimization, first allocations
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            session.run(fetches, feeds)
            seconds.append(time.perf_counter() - started)
        metadata = tf.compat.v1.RunMetadata()
        options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
        started = time.perf_counter()
        session.run(fetches, feeds, options=options, run_metadata=metadata)
        traced = time.perf_counter() - started
    return seconds, traced, metadata


LABEL = re.compile(r"(.*) = ([\w.]+)\(")


def node_records(metadata) -> list[tuple[str, str, int, int, list[list[int]]]]:
    """(node name, op type, start ns, duration ns, output shapes) of each node execution."""
    records = []
    for device in metadata.step_stats.dev_stats:
        for node in device.node_stats:
            match = LABEL.match(node.timeline_label)
            if match is None or node.node_name == "_SOURCE":
                continue
            start = node.all_start_nanos or node.all_start_micros * 1000
            duration = node.all_end_rel_nanos or node.all_end_rel_micros * 1000
            shapes = [[d.size for d in out.tensor_description.shape.dim] for out in node.output]
            records.append((node.node_name, match.group(2), start, duration, shapes))
    return records


def loop_prefix(records) -> str:
    """The decoding loop's name prefix: the outermost `/while/` around the `LogSoftmax`."""
    for name, op, *_ in records:
        if op == "LogSoftmax" and "/while/" in name:
            plain = (
                name.split("/", 1)[1] if name.startswith(("Func/", "ConstantFolding/")) else name
            )
            return plain[: plain.index("/while/") + len("/while/")]
    raise SystemExit("No LogSoftmax inside a while loop in the trace: not a decoding graph?")


def in_loop(name: str, prefix: str) -> bool:
    """Whether a node (maybe renamed by function inlining or constant folding) is in the loop."""
    return any(name.startswith(head + prefix) for head in ("", "Func/", "ConstantFolding/"))


CLASSES = (
    "matmul: output layer",
    "matmul: other",
    "vocabulary step (not matmul)",
    "self-attention cache concat / reorder",
    "other concat / gather (histories, beam reorder of states)",
    "loop control (Enter, Merge, Switch, ...)",
    "other",
)
CONTROL_OPS = {
    "Enter",
    "Exit",
    "Switch",
    "Merge",
    "NextIteration",
    "LoopCond",
    "Identity",
    "_Retval",
    "_Arg",
    "NoOp",
}


def op_class(op: str, shapes, model: dict) -> str:
    """What an op of the loop does (one of `CLASSES`), from its type and output shapes."""
    vocabulary, rows_per_input = model["vocabulary"], (1, model["width"])
    wide = any(s and s[-1] in [vocabulary * k for k in rows_per_input] for s in shapes)
    if op in MATMUL_OPS:
        return CLASSES[0] if wide else CLASSES[1]
    if wide or op in ("TopKV2", "ArgMax"):  # top-k and argmax pick among V or k x V scores
        return CLASSES[2]
    heads, key_dim = model.get("heads"), model.get("key_dim")
    cache_shaped = any(len(s) == 4 and s[1] == heads and s[3] == key_dim for s in shapes)
    if op in ("ConcatV2", "GatherV2"):
        return CLASSES[3] if heads and cache_shaped else CLASSES[4]
    if op in CONTROL_OPS:
        return CLASSES[5]
    return CLASSES[6]


def busy_nanos(records) -> int:
    """Nanoseconds during which at least one of `records` ran (union of their intervals)."""
    total, end = 0, None
    for start, duration in sorted((r[2], r[3]) for r in records):
        finish = start + duration
        if end is None or start > end:
            total += duration
            end = finish
        elif finish > end:
            total += finish - end
            end = finish
    return total


def summarize_trace(records, model: dict) -> dict:
    """Per-step op counts and times of the decoding loop, and the rest of the call."""
    prefix = loop_prefix(records)
    loop = [r for r in records if in_loop(r[0], prefix)]
    outside = [r for r in records if not in_loop(r[0], prefix)]
    conditions = [
        r for r in loop if r[1] == "LoopCond" and r[0][len(prefix) :].startswith("LoopCond")
    ]
    steps = len(conditions) - 1  # the condition runs once more than the body
    by_type, counts, by_class = Counter(), Counter(), Counter()
    for _, op, _, duration, shapes in loop:
        by_type[op] += duration
        counts[op] += 1
        by_class[op_class(op, shapes, model)] += duration
    starts = [r[2] for r in loop]
    span = max(r[2] + r[3] for r in loop) - min(starts)
    call = max(r[2] + r[3] for r in records) - min(r[2] for r in records)
    return {
        "steps": steps,
        "ops": len(loop) / steps,
        "op_us": sum(by_type.values()) / steps / 1e3,
        "wall_us": span / steps / 1e3,
        "busy_us": busy_nanos(loop) / steps / 1e3,
        "loop_share": span / call,
        "by_type": {op: (counts[op] / steps, ns / steps / 1e3) for op, ns in by_type.items()},
        "by_class": {name: ns / steps / 1e3 for name, ns in by_class.items()},
        "outside_ops": len(outside),
        "outside_ms": sum(r[3] for r in outside) / 1e6,
        "outside_by_type": _top(outside),
    }


def _top(records, count: int = 5) -> list[tuple[str, float]]:
    times = defaultdict(int)
    for _, op, _, duration, _ in records:
        times[op] += duration
    return [(op, ns / 1e6) for op, ns in Counter(times).most_common(count)]


def model_facts(path: Path, texts: list[str], width: int) -> dict:
    """The config's sizes, the padded source length of `texts` and the step's matmuls.

    `matmuls` lists `(K, N, FLOPs of one row)` per product of a step, at cache length
    `t_avg` (filled in by `step_arithmetic`); attention's batched products over the cache or
    the source are listed at the shape of an attention projection.
    """
    import tensorflow as tf

    from keras_seq2seq.config import RunConfig
    from keras_seq2seq.training.run_dir import load_tokenizers

    config = RunConfig.load(path / "config.json")
    source_tokenizer, _ = load_tokenizers(path, config)
    lengths = source_tokenizer.tokenize(tf.constant(texts)).row_lengths().numpy()
    source = min(int(lengths.max()), config.source_text.max_length) + 1  # [END] appended
    model = config.model
    options = dict(model.options)
    facts = {
        "architecture": model.architecture,
        "units": model.units,
        "source": source,
        "layers": model.num_layers,
        "vocabulary": model.target_vocabulary_size,
        "width": width,
        "options": options,
    }
    if model.architecture == "transformer":
        facts["heads"] = options.get("heads", 4)
        facts["key_dim"] = model.units // facts["heads"]
        facts["ffn"] = options.get("ffn_dim") or 4 * model.units
    return facts


def transformer_parts(f: dict, t: float) -> dict[str, list[tuple[int, int, float]]]:
    """One Transformer decoding step of one row: {part: [(K, N, FLOPs)]}, cache length `t`."""
    d, layers, s = f["units"], f["layers"], f["source"]
    return {
        # Q, K, V and output projections, then scores and weighted sum over t positions.
        "self-attention": [(d, d, 2 * 4 * d * d * layers), (d, d, 2 * 2 * t * d * layers)],
        # Query and output projections (memory keys/values are computed once, before the loop).
        "cross-attention": [(d, d, 2 * 2 * d * d * layers), (d, d, 2 * 2 * s * d * layers)],
        "FFN": [(d, f["ffn"], 2 * d * f["ffn"] * layers), (f["ffn"], d, 2 * f["ffn"] * d * layers)],
        "output layer": [(d, f["vocabulary"], 2 * d * f["vocabulary"])],
    }


def lstm_parts(f: dict) -> dict[str, list[tuple[int, int, float]]]:
    """One LSTM (dot attention) decoding step of one row: {part: [(K, N, FLOPs)]}."""
    u, o = f["units"], f["options"]
    embedding = o.get("embedding_dim", u)
    gates = []
    for layer in range(f["layers"]):
        inputs = (embedding + u * bool(o.get("input_feeding"))) if layer == 0 else u
        gates += [(inputs, 4 * u, 2 * inputs * 4 * u), (u, 4 * u, 2 * u * 4 * u)]
    vocabulary = f["vocabulary"]
    if o.get("tie_embeddings"):
        output = [
            (u, embedding, 2 * u * embedding),
            (embedding, vocabulary, 2 * embedding * vocabulary),
        ]
    else:
        output = [(u, vocabulary, 2 * u * vocabulary)]
    return {
        "LSTM gates": gates,
        "attention": [(u, u, 2 * 2 * f["source"] * u), (2 * u, u, 2 * 2 * u * u)],
        "output layer": output,
    }


def step_arithmetic(f: dict, steps: int, rows: int, rate_of) -> dict:
    """FLOPs of one row's average step by part, cache bytes and the matmul-rate ceiling.

    Args:
        f: `model_facts`.
        steps: the loop's iterations (the average step attends (steps + 1) / 2 positions).
        rows: rows decoded side by side (batch x beam width).
        rate_of: `(M, K, N) -> GFLOP/s` of a float32 matmul on this CPU.
    """
    t_avg = (steps + 1) / 2
    parts = transformer_parts(f, t_avg) if "heads" in f else lstm_parts(f)
    flops = {part: sum(p[2] for p in products) for part, products in parts.items()}
    seconds = sum(
        rows * p[2] / (rate_of(rows, p[0], p[1]) * 1e9)
        for products in parts.values()
        for p in products
    )
    cache = 0.0
    if "heads" in f:  # keys and values of every layer, all rows, t_avg positions, float32
        cache = f["layers"] * 2 * rows * t_avg * f["units"] * 4
    return {
        "flops": flops,
        "total": sum(flops.values()),
        "cache_bytes": cache,
        "ceiling": rows / seconds,
        "rate": sum(flops.values()) * rows / seconds / 1e9,
    }


def matmul_rates(seconds: float):
    """`rate_of(M, K, N)`: `benchmarks/matmul_rate.py`'s float32 GFLOP/s, measured once a shape."""
    sys.path.insert(0, str(HERE))
    from matmul_rate import rate  # benchmarks/matmul_rate.py

    measured: dict[tuple[int, int, int], float] = {}

    def rate_of(m: int, k: int, n: int) -> float:
        if (m, k, n) not in measured:
            measured[m, k, n] = rate(m, k, n, seconds)
        return measured[m, k, n]

    return rate_of, measured


def profile_model(name: str, path: Path, args, rate_of) -> list[dict]:
    """Profiles both signatures of one SavedModel; one result dict a signature."""
    texts = source_texts(name, args.batch, args.data)
    results = []
    for label, signature, width in SIGNATURES:
        facts = model_facts(path, texts, width)
        seconds, traced, metadata = run_signature(path, signature, texts, width, args.repeats)
        trace = summarize_trace(node_records(metadata), facts)
        rows = args.batch * width
        arithmetic = step_arithmetic(facts, trace["steps"], rows, rate_of)
        median = statistics.median(seconds)
        results.append(
            {
                "model": name,
                "decoding": label,
                "rows": rows,
                "seconds": seconds,
                "traced": traced,
                "measured": rows * trace["steps"] / median,
                "trace": trace,
                "arithmetic": arithmetic,
                "facts": facts,
            }
        )
        print(f"  {name}, {label}: {trace['steps']} steps, {median:.2f} s a call", flush=True)
    return results


def print_summary(results: list[dict]) -> None:
    print(
        "\n| model | decoding | rows | steps | loop ops/step | loop op time µs/step | "
        "loop wall µs/step | outside the loop: ops, op time ms | traced call s | "
        "call s (median; runs) | row-steps/s measured | row-steps/s ceiling | measured/ceiling |"
    )
    print("|---" * 13 + "|")
    for r in results:
        t, a = r["trace"], r["arithmetic"]
        runs = ", ".join(f"{s:.2f}" for s in r["seconds"])
        print(
            f"| {r['model']} | {r['decoding']} | {r['rows']} | {t['steps']} | {t['ops']:.0f} | "
            f"{t['op_us']:,.0f} | {t['wall_us']:,.0f} | {t['outside_ops']:,}, "
            f"{t['outside_ms']:,.0f} | {r['traced']:.2f} | "
            f"{statistics.median(r['seconds']):.2f} ({runs}) | "
            f"{r['measured']:,.0f} | {a['ceiling']:,.0f} | {r['measured'] / a['ceiling']:.3f} |"
        )


def print_classes(results: list[dict]) -> None:
    print(
        "\nLoop time by what the ops do, µs per step (share of the summed op time); "
        "'no op running': loop wall time with no op executing"
    )
    print("| model | decoding | " + " | ".join(CLASSES) + " | no op running |")
    print("|---" * (len(CLASSES) + 3) + "|")
    for r in results:
        t = r["trace"]
        cells = [
            f"{t['by_class'].get(c, 0):,.0f} ({t['by_class'].get(c, 0) / t['op_us']:.0%})"
            for c in CLASSES
        ]
        print(
            f"| {r['model']} | {r['decoding']} | "
            + " | ".join(cells)
            + f" | {t['wall_us'] - t['busy_us']:,.0f} |"
        )


def print_op_types(results: list[dict]) -> None:
    for name in dict.fromkeys(r["model"] for r in results):
        mine = [r for r in results if r["model"] == name]
        ranked = Counter()
        for r in mine:
            ranked.update({op: us for op, (_, us) in r["trace"]["by_type"].items()})
        top = [op for op, _ in ranked.most_common(TOP_OPS)]
        print(f"\n{name}: loop ops by type, per step: executions, µs (summed op time)")
        print("| op type | " + " | ".join(f"{r['decoding']}: ops | µs" for r in mine) + " |")
        print("|---" * (1 + 2 * len(mine)) + "|")
        for op in [*top, "other"]:
            cells = []
            for r in mine:
                by_type = r["trace"]["by_type"]
                keys = [k for k in by_type if k not in top] if op == "other" else [op]
                count = sum(by_type.get(k, (0, 0))[0] for k in keys)
                cells += [f"{count:.1f}", f"{sum(by_type.get(k, (0, 0))[1] for k in keys):,.0f}"]
            print(f"| {op} | " + " | ".join(cells) + " |")
        for r in mine:
            outside = ", ".join(f"{op} {ms:,.1f}" for op, ms in r["trace"]["outside_by_type"])
            print(f"outside the loop, {r['decoding']} (ms): {outside}")


def print_arithmetic(results: list[dict], measured_rates: dict) -> None:
    print("\nArithmetic of the average step, per row (a sentence; a beam row for beam 4)")
    print(
        "| model | decoding | rows | MFLOP per row-step, by part | total MFLOP | "
        "cache concat MB/step | matmul GFLOP/s at these shapes | ceiling row-steps/s |"
    )
    print("|---" * 8 + "|")
    for r in results:
        a = r["arithmetic"]
        parts = ", ".join(f"{part} {flops / 1e6:.2f}" for part, flops in a["flops"].items())
        cache = f"{a['cache_bytes'] / 1e6:,.1f}" if a["cache_bytes"] else "none"
        if a["cache_bytes"] and r["decoding"] != "greedy":
            cache += " (+ the same again to reorder)"
        print(
            f"| {r['model']} | {r['decoding']} | {r['rows']} | {parts} | "
            f"{a['total'] / 1e6:.2f} | {cache} | {a['rate']:.0f} | {a['ceiling']:,.0f} |"
        )
    print("\nfloat32 tf.matmul on this CPU (benchmarks/matmul_rate.py's rate, this process)")
    print("| M x K x N | GFLOP/s |\n|---|---|")
    for (m, k, n), value in sorted(measured_rates.items()):
        print(f"| {m} x {k} x {n} | {value:.0f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="sentences a call")
    parser.add_argument(
        "--max-length",
        type=int,
        default=64,
        help="output tokens the translation models are exported with (an existing export is "
        "reused as it is: delete RUNS/export to change it)",
    )
    parser.add_argument("--repeats", type=int, default=2, help="timed calls a signature")
    parser.add_argument("--seconds", type=float, default=0.5, help="time a matmul shape")
    parser.add_argument("--data", type=Path, default=DATA, help="en-de source<TAB>target pairs")
    parser.add_argument(
        "--runs",
        type=Path,
        default=Path.home() / "ks2s-runs" / "profile",
        help="where the run and export directories are made, or reused when present",
    )
    parser.add_argument(
        "--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}"
    )
    args = parser.parse_args(argv)
    names = [n for n in args.models.split(",") if n]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    from keras_seq2seq.quiet import silence_tensorflow

    silence_tensorflow()
    paths = exported_models(args.runs.expanduser(), names, args.max_length, args.data)
    rate_of, measured_rates = matmul_rates(args.seconds)
    results = []
    for name in names:
        results += profile_model(name, paths[name], args, rate_of)
    print(f"\n{os.cpu_count()} CPU cores; batch {args.batch}; median of {args.repeats} calls")
    print_summary(results)
    print_classes(results)
    print_op_types(results)
    print_arithmetic(results, measured_rates)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
