"""OpenNMT-py 3.5.1 on the same translation split, pieces and wall-clock budget as ours.

    python benchmarks/peers/opennmt.py --split runs/translation-ddtp_en_de-transformer/split
        --spm runs/translation-ddtp_en_de-transformer/run/source_spm.model
        --model rnn|transformer|transformer-30min|transformer-2h --config matched|defaults
        --time-budget 30 --onmt /tmp/onmt/bin
        [--block-ngram-repeat 3] [--translate-only] [--dry-run]

Benchmark-only: OpenNMT-py lives in its own virtual environment with the torch it requires
(`python3 -m venv /tmp/onmt && /tmp/onmt/bin/pip install OpenNMT-py==3.5.1 torch==2.2.2
"numpy<2" sentencepiece`: torch 2.2 needs NumPy 1, and the `sentencepiece` transform imports
sentencepiece without requiring it),
never in the package's. This script runs under keras-seq2seq's environment and calls the
OpenNMT-py commands of `--onmt`:

1. `onmt_build_vocab` on the training split with the `sentencepiece` transform and our
   SentencePiece model (the pieces keras-seq2seq trained with), one shared vocabulary;
2. `onmt_train` for `--time-budget` minutes of wall clock (stopped by SIGINT) with the
   configuration of `--config`, written to `OUTPUT/config.yaml` and printed:
   - `matched` (the default) is our recipe of the same name (`RECIPES` of
     `benchmarks/translation.py`, read from there so the two cannot drift apart) in
     OpenNMT-py's options, by `matched_options`: the same architecture and sizes, shared and
     tied embeddings, attention, dropout, Adam with Keras's betas, gradient-norm clipping,
     learning rate and schedule (our inverse-square-root warmup is OpenNMT-py's `noam`, at
     the same rate every step), label smoothing, batches of the same number of sentences,
     loss averaged over target tokens, a checkpoint and a validation per epoch (as our
     epochs), early stopping after the same patience, and the average of the same number of
     last checkpoints when our recipe keeps some for averaging (`keep_checkpoints`);
   - `defaults` is the labelled extra row: for `--model rnn` OpenNMT-py's default model and
     training (2 x 500 LSTM, SGD; no model option given), for `--model transformer`
     OpenNMT-py's usual Transformer recipe (Noam at learning rate 2, batches of 4,096
     tokens, Adam beta2 0.998) at our sizes; a checkpoint every 100 steps.
   The last checkpoint (or the average of the last ones) is scored;
3. `onmt_translate` of the test sources with that checkpoint, beam 4, pieces turned back
   into text by the same transform (`--block-ngram-repeat N` adds its repeated n-gram
   blocking, as our `--no-repeat-ngram`; `--translate-only` scores an earlier run's last
   checkpoint again, without training);
4. BLEU and chrF with keras-seq2seq's own sacrebleu call
   (`keras_seq2seq.evaluation.metrics`) and names-exact (`keras_seq2seq.evaluation.names`), on
   the same references as `benchmarks/translation.py`.

`--dry-run` writes and prints the configuration and the commands, and stops: it needs the
split but not OpenNMT-py. Prints one table row.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

DEFAULTS_TRANSFORMER = {
    "encoder_type": "transformer", "decoder_type": "transformer", "position_encoding": True,
    "enc_layers": 3, "dec_layers": 3, "heads": 4, "hidden_size": 256, "word_vec_size": 256,
    "transformer_ff": 1024, "dropout": [0.1], "attention_dropout": [0.1],
    "label_smoothing": 0.1, "share_embeddings": True, "share_decoder_embeddings": True,
    "optim": "adam", "adam_beta2": 0.998, "decay_method": "noam", "learning_rate": 2.0,
    "warmup_steps": 4000, "batch_type": "tokens", "batch_size": 4096,
    "normalization": "tokens", "max_grad_norm": 0.0, "param_init": 0.0,
    "param_init_glorot": True,
}  # fmt: skip


HERE = Path(__file__).resolve().parent
CHECKPOINTS_PER_EPOCH = 10
KERAS_ADAM_BETAS = (0.9, 0.999)  # keras.optimizers.Adam's defaults, which our training uses
# fmt: off
TRAIN_DEFAULTS = {"clipnorm": 5.0, "lr_schedule": "constant", "warmup_steps": 0,
                  "keep_checkpoints": 0, "patience": 5}  # TrainConfig's defaults
NEVER_DECAY = 10**12  # OpenNMT-py halves a constant rate every 10,000 steps after 50,000
ATTENTION = {"dot": "dot", "additive": "mlp", "none": "none"}
RNN_MODEL_KEYS = {"architecture", "units", "num_layers", "embedding_dim", "bidirectional",
                  "attention", "dropout", "tie_embeddings", "cell", "input_feeding"}
TRANSFORMER_MODEL_KEYS = {"architecture", "units", "num_layers", "heads", "ffn_dim", "dropout",
                          "tie_embeddings"}
TRAIN_KEYS = {"batch_size", "learning_rate", "lr_schedule", "warmup_steps", "label_smoothing",
              "patience", "clipnorm", "keep_checkpoints"}
# fmt: on


def our_recipes() -> dict:
    """`RECIPES` of `benchmarks/translation.py` (a copy: callers may change it)."""
    return copy.deepcopy(_translation_benchmark().RECIPES)


@functools.cache
def _translation_benchmark():
    """`benchmarks/translation.py`, loaded once (from the file: benchmarks/ is no package)."""
    spec = importlib.util.spec_from_file_location("translation_benchmark",
                                                  HERE.parent / "translation.py")  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_keys(what: str, given: dict, known: set) -> None:
    unknown = set(given) - known
    if unknown:
        raise ValueError(
            f"our {what} options {sorted(unknown)} have no OpenNMT-py equivalent in "
            "matched_options; map them there (benchmarks/peers/opennmt.py) before comparing."
        )


def _schedule(train: dict, units: int) -> dict:
    """Our learning-rate schedule in OpenNMT-py's options."""
    rate, warmup = train["learning_rate"], train.get("warmup_steps", 0)
    schedule = train.get("lr_schedule", TRAIN_DEFAULTS["lr_schedule"])
    if schedule == "constant" and not warmup:
        return {"learning_rate": rate, "start_decay_steps": NEVER_DECAY}
    if schedule == "inverse_sqrt" and warmup:
        # noam: lr * units^-0.5 * min(step^-0.5, step * warmup^-1.5), at its peak (step =
        # warmup) lr / sqrt(units * warmup); ours: rate * min(step / warmup, sqrt(warmup / step)).
        return {"learning_rate": rate * math.sqrt(units * warmup), "decay_method": "noam",
                "warmup_steps": warmup}  # fmt: skip
    raise ValueError(
        f"our schedule {schedule!r} with warmup {warmup} has no OpenNMT-py equivalent; "
        "matched_options maps 'constant' without warmup and 'inverse_sqrt' with warmup."
    )


def _rnn_model(model: dict) -> dict:
    _check_keys("RNN model", model, RNN_MODEL_KEYS)
    if model.get("tie_embeddings") and model["units"] != model["embedding_dim"]:
        raise ValueError(
            f"OpenNMT-py ties the output to the embeddings only when hidden_size equals "
            f"word_vec_size; our recipe has units {model['units']} and embedding_dim "
            f"{model['embedding_dim']} (a bridge between them that OpenNMT-py lacks)."
        )
    return {
        "encoder_type": "brnn" if model.get("bidirectional") else "rnn", "decoder_type": "rnn",
        "rnn_type": model.get("cell", "lstm").upper(), "enc_layers": model["num_layers"],
        "dec_layers": model["num_layers"], "hidden_size": model["units"],
        "word_vec_size": model["embedding_dim"], "global_attention": ATTENTION[model["attention"]],
        "input_feed": int(bool(model.get("input_feeding"))), "dropout": [model["dropout"]],
    }  # fmt: skip


def _transformer_model(model: dict) -> dict:
    _check_keys("Transformer model", model, TRANSFORMER_MODEL_KEYS)
    units = model["units"]
    return {
        "encoder_type": "transformer", "decoder_type": "transformer", "position_encoding": True,
        "enc_layers": model["num_layers"], "dec_layers": model["num_layers"],
        "heads": model["heads"], "hidden_size": units, "word_vec_size": units,
        "transformer_ff": model.get("ffn_dim") or 4 * units, "dropout": [model["dropout"]],
        "attention_dropout": [model["dropout"]], "param_init": 0.0, "param_init_glorot": True,
    }  # fmt: skip


def matched_options(recipe: dict, steps_per_epoch: int) -> dict:
    """One of our `RECIPES` as OpenNMT-py 3.5.1 training options.

    Args:
        recipe: dict with `"model"` and `"train"` options, as `RECIPES` of
            `benchmarks/translation.py`.
        steps_per_epoch: int. Batches in one pass over the training split: the interval of
            validations (ours happen once an epoch). Checkpoints are saved every tenth of
            an epoch (`CHECKPOINTS_PER_EPOCH`), so the last one before the budget's end is
            at most a tenth of an epoch old: our `TimeBudget` ends its last epoch when the
            budget runs out, mid-epoch if need be, and counts that part-epoch.

    Returns:
        A dict of OpenNMT-py options (without paths).

    Raises:
        ValueError: if the recipe holds an option or schedule this mapping does not know.

    Example:
    >>> options = matched_options(our_recipes()["rnn"], 570)
    >>> options["encoder_type"], options["global_attention"], options["batch_type"]
    ('brnn', 'dot', 'sents')
    """
    model, train = recipe["model"], recipe["train"]
    _check_keys("training", train, TRAIN_KEYS)
    is_rnn = model["architecture"] == "rnn"
    options = _rnn_model(model) if is_rnn else _transformer_model(model)
    average = train.get("keep_checkpoints", TRAIN_DEFAULTS["keep_checkpoints"])
    return {
        **options,
        "share_embeddings": bool(model.get("tie_embeddings")),
        "share_decoder_embeddings": bool(model.get("tie_embeddings")),
        "optim": "adam", "adam_beta1": KERAS_ADAM_BETAS[0], "adam_beta2": KERAS_ADAM_BETAS[1],
        "max_grad_norm": train.get("clipnorm", TRAIN_DEFAULTS["clipnorm"]),
        **_schedule(train, model["units"]),
        "label_smoothing": train.get("label_smoothing", 0.0),
        "batch_type": "sents", "batch_size": train["batch_size"], "normalization": "tokens",
        "save_checkpoint_steps": max(1, steps_per_epoch // CHECKPOINTS_PER_EPOCH),
        "valid_steps": steps_per_epoch,
        # Enough to reach back `average` epoch ends, and one more than that: a checkpoint
        # saved while training is being stopped, past the budget, must not push out the
        # last one saved within it (`scored_checkpoint`).
        "keep_checkpoint": CHECKPOINTS_PER_EPOCH * max(average, 1) + 1,
        "steps_per_epoch": steps_per_epoch,
        "early_stopping": train.get("patience", TRAIN_DEFAULTS["patience"]),
        "average_last": average,
    }  # fmt: skip


def steps_per_epoch(split: Path, batch_size: int) -> int:
    """Batches of `batch_size` sentences in one pass over `split/train.src`."""
    lines = (split / "train.src").read_text("utf-8").count("\n")
    return max(1, math.ceil(lines / batch_size))


def write_config(work: Path, split: Path, spm: Path, model: str, config: str = "defaults") -> Path:
    """The OpenNMT-py YAML configuration (JSON is valid YAML), written to `work/config.yaml`.

    `average_last` (checkpoints to average after training) is this script's, not OpenNMT-py's:
    it is written to `work/average.json` instead.
    """
    if config == "matched":
        recipe = our_recipes()[model]
        options = matched_options(recipe, steps_per_epoch(split, recipe["train"]["batch_size"]))
    else:
        transformer = our_recipes()[model]["model"]["architecture"] == "transformer"
        options = {"save_checkpoint_steps": 100, "keep_checkpoint": 3, "valid_steps": 2000,
                   **(DEFAULTS_TRANSFORMER if transformer else {})}  # fmt: skip
    average = options.pop("average_last", 0)
    epoch_steps = options.pop("steps_per_epoch", None)
    full = {
        "save_data": str(work / "data"),
        "src_vocab": str(work / "vocab.txt"),
        "tgt_vocab": str(work / "vocab.txt"),
        "share_vocab": True,
        "overwrite": True,
        "data": {
            "corpus_1": {"path_src": str(split / "train.src"), "path_tgt": str(split / "train.tgt"),
                         "transforms": ["sentencepiece", "filtertoolong"]},
            "valid": {"path_src": str(split / "valid.src"), "path_tgt": str(split / "valid.tgt"),
                      "transforms": ["sentencepiece"]},
        },
        "src_subword_model": str(spm),
        "tgt_subword_model": str(spm),
        "src_seq_length": 128,
        "tgt_seq_length": 128,
        "save_model": str(work / "model"),
        "train_steps": 10_000_000,
        "report_every": 100,
        "seed": 1234,
        "bucket_size": 32_768,  # the default (262,144) is 7 passes over this corpus per fill
        **options,
    }  # fmt: skip
    work.mkdir(parents=True, exist_ok=True)
    path = work / "config.yaml"
    path.write_text(json.dumps(full, indent=1) + "\n")
    record = {"average_last": average, "steps_per_epoch": epoch_steps,
              "checkpoint_steps": options["save_checkpoint_steps"]}  # fmt: skip
    (work / "average.json").write_text(json.dumps(record) + "\n")
    return path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(command: list[str], log: Path, timeout: float | None = None) -> float:
    """Runs a command; returns its wall-clock seconds.

    With `timeout`, the command is interrupted then: SIGINT, and SIGKILL if it still runs
    two minutes later, each sent to its whole process group, so no data-loading worker
    outlives it. A command stopped that way has not failed. The command starts with SIGINT's
    default action: a script started in the background of a non-interactive shell inherits
    SIGINT ignored, and `onmt_train` then trains on through it.
    """
    started = time.perf_counter()
    stopped = False
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_default_sigint,
        )  # fmt: skip
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stopped = True
            os.killpg(process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=120)
            # What is left of the group: the command, or workers that outlived it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0 and not stopped:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}); see {log}")
    return time.perf_counter() - started


def _step(path: Path) -> int:
    return int(re.search(r"_step_(\d+)\.pt$", path.name).group(1))


def checkpoints(work: Path) -> list[Path]:
    """The `model_step_N.pt` files of `work`, by step."""
    return sorted((p for p in work.glob("model_step_*.pt")
                   if re.search(r"_step_(\d+)\.pt$", p.name)), key=_step)  # fmt: skip


def scored_checkpoint(work: Path, onmt: Path) -> Path:
    """The last checkpoint, or the average of the last `average_last` epochs' (`average.json`).

    Only checkpoints written before the budget's end (`work/deadline.json`, written by
    `train`) count: `onmt_train` may save one more while it is being stopped. Averaged are
    the last checkpoint of each of the last epochs (by `steps_per_epoch` and
    `checkpoint_steps`, when `average.json` has them) and the last checkpoint, as our
    `KeepCheckpoints` keeps the last epochs with the budget's part-epoch counted as one.
    """
    saved = checkpoints(work)
    deadline = work / "deadline.json"
    if deadline.is_file():
        end = json.loads(deadline.read_text())["deadline"]
        saved = [path for path in saved if path.stat().st_mtime <= end]
    if not saved:
        raise RuntimeError(f"OpenNMT-py saved no checkpoint in {work} within the budget")
    record = work / "average.json"
    record = json.loads(record.read_text()) if record.is_file() else {}
    average, epoch_steps = record.get("average_last", 0), record.get("steps_per_epoch")
    if average <= 1:
        return saved[-1]
    if epoch_steps:
        interval = record["checkpoint_steps"]
        epoch = lambda step: -(-step // epoch_steps)  # noqa: E731  (step 567 ends epoch 1)
        ends = [path for path in saved[:-1]
                if epoch(_step(path) + interval) > epoch(_step(path))]  # fmt: skip
        saved = ends + saved[-1:]
    last = saved[-average:]
    output = work / f"model_average_{len(last)}_to_{last[-1].stem.split('_')[-1]}.pt"
    run(average_command(onmt, last, output), work / "average.log")
    return output


def average_command(onmt: Path, models: list[Path], output: Path) -> list[str]:
    return [str(onmt / "onmt_average_models"), "-models", *map(str, models), "-output",
            str(output)]  # fmt: skip


def train_commands(onmt: Path, config: Path) -> list[list[str]]:
    """`onmt_build_vocab` over the whole training split, then `onmt_train`."""
    return [[str(onmt / "onmt_build_vocab"), "-config", str(config), "-n_sample", "-1"],
            [str(onmt / "onmt_train"), "-config", str(config)]]  # fmt: skip


def translate_command(args, checkpoint: Path, predictions: Path) -> list[str]:
    blocking = args.block_ngram_repeat
    return [str(args.onmt / "onmt_translate"), "-model", str(checkpoint), "-src",
            str(args.split / "test.src"), "-output", str(predictions), "-beam_size", "4",
            "-batch_size", "64", "-transforms", "sentencepiece", "-src_subword_model",
            str(args.spm), "-tgt_subword_model", str(args.spm),
            *(["-block_ngram_repeat", str(blocking)] if blocking else [])]  # fmt: skip


def train(work: Path, args) -> float:
    """Builds the vocabulary and trains for the budget; returns the training seconds."""
    config = write_config(work, args.split.resolve(), args.spm.resolve(), args.model, args.config)
    vocabulary, training = train_commands(args.onmt, config)
    run(vocabulary, work / "vocab.log")
    deadline = time.time() + 60 * args.time_budget
    (work / "deadline.json").write_text(json.dumps({"deadline": deadline}) + "\n")
    return run(training, work / "train.log", timeout=60 * args.time_budget)


def dry_run(work: Path, args) -> int:
    """Writes and prints the configuration and the commands, without OpenNMT-py."""
    config = write_config(work, args.split.resolve(), args.spm.resolve(), args.model, args.config)
    print(f"# {config}\n{config.read_text()}", end="")
    average = json.loads((work / "average.json").read_text())["average_last"]
    print("# commands (each in OUTPUT; training stopped after --time-budget minutes):")
    for command in train_commands(args.onmt, config):
        print(" ".join(command))
    checkpoint = work / "model_step_N.pt"
    if average > 1:
        checkpoint = work / "model_average.pt"
        last = [work / f"model_step_LAST-{k}.pt" for k in range(average - 1, -1, -1)]
        print(" ".join(average_command(args.onmt, last, checkpoint)))
    print(" ".join(translate_command(args, checkpoint, work / "test.pred")))
    return 0


def score(work: Path, checkpoint: Path, predictions: Path, args, seconds: tuple) -> None:
    """Scores the predictions, prints the table row and writes `scores*.json`."""
    from keras_seq2seq.evaluation.metrics import score_texts
    from keras_seq2seq.evaluation.names import names_exact

    train_seconds, translate_seconds = seconds
    blocking = args.block_ngram_repeat
    hypotheses = predictions.read_text("utf-8").splitlines()
    sources = (args.split / "test.src").read_text("utf-8").splitlines()
    references = [[r] for r in (args.split / "test.tgt").read_text("utf-8").splitlines()]
    scores = {**score_texts(hypotheses, references, ["bleu", "chrf"]),
              **names_exact(sources, hypotheses, references)}  # fmt: skip
    trained = "time not recorded" if train_seconds is None else f"{train_seconds / 60:.1f} min"
    print(f"| OpenNMT-py 3.5.1 {args.model}, {args.config} ({checkpoint.name}, "
          f"{trained}" + (f", block {blocking}-grams" if blocking else "")
          + f") | {scores['bleu']:.1f} | {scores['chrf']:.1f} | {scores['names_exact']:.1f} "
          f"| {len(hypotheses) / translate_seconds:.1f} |")  # fmt: skip
    print(scores["bleu_signature"])
    suffix = f".block{blocking}" if blocking else ""
    (work / f"scores{suffix}.json").write_text(
        json.dumps(
            {**scores, "checkpoint": checkpoint.name, "train_seconds": train_seconds,
             "config": args.config}, indent=1
        )
    )  # fmt: skip


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", required=True, type=Path)
    parser.add_argument("--spm", required=True, type=Path, help="our SentencePiece model")
    parser.add_argument(
        "--model",
        choices=sorted(our_recipes()),
        default="rnn",
        help="our recipe (RECIPES of benchmarks/translation.py) to match",
    )
    parser.add_argument(
        "--config",
        choices=("matched", "defaults"),
        default="matched",
        help="our recipe in OpenNMT-py's options, or OpenNMT-py's own settings (extra row)",
    )
    parser.add_argument("--time-budget", type=float, default=30.0, help="training minutes")
    parser.add_argument("--onmt", type=Path, default=Path("/tmp/onmt/bin"))
    parser.add_argument(
        "--output",
        type=Path,
        help="default SPLIT/../opennmt-MODEL-matched, or SPLIT/../opennmt-MODEL for defaults",
    )
    parser.add_argument(
        "--block-ngram-repeat",
        type=int,
        default=0,
        help="onmt_translate's -block_ngram_repeat (0 = its default, none)",
    )
    parser.add_argument(
        "--translate-only",
        action="store_true",
        help="score the last checkpoint of an earlier run in OUTPUT again (no training)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="write and print the configuration and the commands, then stop (no OpenNMT-py)",
    )
    args = parser.parse_args(argv)
    if not (args.split / "train.src").is_file():
        parser.error(f"no {args.split / 'train.src'}: write the split first with "
                     "benchmarks/translation.py --prepare-only")  # fmt: skip
    return args, parser


def main(argv=None) -> int:
    args, parser = parse_args(argv)
    suffix = "-matched" if args.config == "matched" else ""
    work = (args.output or args.split.parent / f"opennmt-{args.model}{suffix}").resolve()
    if args.dry_run:
        return dry_run(work, args)
    if args.translate_only:
        if not checkpoints(work):
            parser.error(f"--translate-only needs an earlier run's checkpoints in {work}")
        earlier = work / "scores.json"  # None: the training time was not recorded
        train_seconds = (
            json.loads(earlier.read_text())["train_seconds"] if earlier.is_file() else None
        )
    else:
        train_seconds = train(work, args)
    checkpoint = scored_checkpoint(work, args.onmt)
    blocking = args.block_ngram_repeat
    predictions = work / (f"test.block{blocking}.pred" if blocking else "test.pred")
    translate_seconds = run(
        translate_command(args, checkpoint, predictions),
        work / (f"translate.block{blocking}.log" if blocking else "translate.log"),
    )
    score(work, checkpoint, predictions, args, (train_seconds, translate_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
