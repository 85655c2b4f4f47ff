"""SavedModel export for TF Serving: strings in, strings out, written atomically.

`export_model` writes `OUTPUT_BASE/VERSION/`, the layout TF Serving polls: the SavedModel
(`saved_model.pb`, `variables/`) plus a copy of the run directory's files (`config.json`, the two
vocabularies and any tokenizer model files, `model.keras`), so
`keras_seq2seq.decoding.translator.load` works on a version directory and Keras users keep the
`.keras` artifact. `assets.extra/tf_serving_warmup_requests` holds one `PredictionLog` record
per signature, which TF Serving replays while it loads the version so that the first request is
not slow (`keras_seq2seq.serving.warmup`).

Signatures (method `tensorflow/serving/predict`):

- `serving_default` (greedy search): input `inputs` tf.string `[batch]` → outputs `outputs`
  tf.string `[batch]`, `scores` float32 `[batch]` (total log-probability) and `accepted` bool
  `[batch]` (False where the output scored below the exported `min_score` or failed the
  model's output check, its target `output_pattern` / `output_check`, and was left empty;
  always True without either).
- `beam_search`: inputs `inputs` tf.string `[batch]`, `beam_width` and `n_best` int32 scalars →
  outputs `outputs` tf.string `[batch, n_best]`, `scores` float32 `[batch, n_best]` (total
  log-probability), `normalized_scores` float32 `[batch, n_best]` (the GNMT-normalized score
  hypotheses are ranked by) and `accepted` bool `[batch, n_best]`, best first.
- `forced_prefix`: `beam_search` with one more input, `prefix` tf.string `[batch]` (or `[1]`,
  one for all): each output starts with its prefix's target tokens, then is decoded freely
  (`keras_seq2seq.decoding.prefix`; an empty prefix forces nothing; an input whose prefix has a
  token outside the target vocabulary is refused: empty outputs, `accepted` False). Its default
  is an empty vector (no prefix). It is a signature of its own, not an input added to
  `serving_default` and `beam_search`, because TF Serving's REST API wants every named input of
  a signature in each request (see below): a new input there would break their REST clients.
  Over REST send all four inputs in the columnar format.
- `score`: inputs `sources` and `targets` tf.string `[batch]` → `scores` float32 `[batch]`
  (total log-probability of each target, [END] included, given its source) and
  `mean_log_probs` float32 `[batch]` (the mean token log-probability, `scores / tokens`); see
  `keras_seq2seq.evaluation.scoring`. Older exports name that output `normalized_scores` (the same
  values; re-export to rename it): "normalized score" now only means the GNMT-normalized
  decoding score of `beam_search`.

Why the beam width is a dynamic input with defaults. A SignatureDef is a map of named tensors;
since TF 2.x it also has a `defaults` map (`meta_graph.proto`), which `tf.saved_model.save`
fills from the tensor default arguments of a `tf.function` and backs with
`PlaceholderWithDefault` ops. TF Serving's Predict API accepts a request with fewer inputs than
the signature when `signature.defaults` is not empty (`VerifyRequestInputsSize` in
tensorflow_serving/servables/tensorflow/predict_util.cc) and fills the missing ones from it
(`saved_model::GetInputValues` in tensorflow/cc/saved_model/util.cc). So a gRPC request may omit
`beam_width` and `n_best` (defaults 4 and 1, set at export). The REST API is stricter: its JSON
parser (tensorflow_serving/util/json_tensor.cc) wants every named input of the signature in a
columnar `"inputs"` object ("Missing named input"), and the row format (`"instances"`) batches
every input along dimension 0, which cannot carry scalars; so `beam_search` over REST must use the
columnar format and send all three inputs (`keras_seq2seq.serving.client` does). A model server
older than SignatureDef defaults also needs all three; sending them always works. One graph serves
every width from 1 to `max_beam_width` (default 16; a larger width fails with INVALID_ARGUMENT), and
width 1 equals greedy search. Length penalty and maximum output length are fixed at export time.

Keras 3 variables are saved as the tf.Variables they wrap: saved through the Keras objects, a
session-based loader such as TF Serving's fails with "Could not find variable"
(keras-team/keras#20095); the tests run the signatures in a `tf.compat.v1.Session` to check it.

The op audit (`check_saved_model_ops`) lives in `keras_seq2seq.serving.op_check`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from keras_seq2seq.atomic_write import write_json
from keras_seq2seq.decoding.options import DecodeOptions
from keras_seq2seq.run_layout import (
    CONFIG_FILE,
    ENSEMBLE_FILE,
    MODEL_CARD_FILE,
    MODEL_FILE,
    RECORD_FILES,
    member_dir,
)
from keras_seq2seq.serving.client import BEAM_SIGNATURE, SCORE_SIGNATURE, SERVING_SIGNATURE
from keras_seq2seq.serving.model_card import lexicon_size, model_card
from keras_seq2seq.serving.op_check import check_saved_model_ops
from keras_seq2seq.serving.warmup import write_warmup_requests
from keras_seq2seq.validation import check_int
from keras_seq2seq.versions import version_dirs

DEFAULT_BEAM_WIDTH = 4
DEFAULT_N_BEST = 1
DEFAULT_MAX_BEAM_WIDTH = 16
PREFIX_SIGNATURE = "forced_prefix"


def export_options(
    options: DecodeOptions | None = None, *, max_beam_width: int = DEFAULT_MAX_BEAM_WIDTH, **kwargs
) -> DecodeOptions:
    """The decoding options of an export, checked against what a SavedModel can serve.

    `beam_width` and `n_best` are the defaults of the `beam_search` signature's inputs (4 and
    1 unless given); `length_penalty`, `max_length` and `max_length_ratio` are fixed in both
    signatures. Sampling is not exported.

    Args:
        options: DecodeOptions or None.
        max_beam_width: int. Largest width a request may ask for. Defaults to `16`.
        **kwargs: DecodeOptions fields, when `options` is None.

    Returns:
        DecodeOptions.

    Raises:
        TypeError: an option of the wrong type.
        ValueError: an option out of range, sampling options, or a default beam width over
            `max_beam_width`.

    Example:
    >>> export_options(n_best=2).beam_width
    4
    """
    if options is None:
        options = DecodeOptions.coerce(**{"beam_width": DEFAULT_BEAM_WIDTH, **kwargs})
    else:
        options = DecodeOptions.coerce(options, **kwargs)
    if options.search == "sampling":
        raise ValueError(
            "Sampling (`temperature`, `top_k`, `top_p`, `seed`) is not exported: the SavedModel "
            "serves greedy search (`serving_default`) and beam search (`beam_search`)."
        )
    if options.prefix is not None:
        raise ValueError(
            f"`prefix` is not an export option: each request gives its own, as the `prefix` "
            f"input of the `{PREFIX_SIGNATURE}` signature. Received: prefix={options.prefix!r}."
        )
    check_int("beam_width", options.beam_width, maximum=max_beam_width)
    return options


def _tf_variables(models: Iterable[Any]) -> list[Any]:
    """The tf.Variables behind the Keras variables of `models`, each once."""
    import tensorflow as tf

    found: dict[int, Any] = {}
    for model in models:
        for variable in model.variables:
            value = getattr(variable, "value", variable)
            found.setdefault(id(value), value if isinstance(value, tf.Variable) else variable)
    return list(found.values())


def _unless_empty(inputs: Any, decode: Any, empty: Any) -> Any:
    import tensorflow as tf

    # An encoder's time loop cannot stack zero steps, which an empty batch would give.
    return tf.cond(tf.size(inputs) > 0, decode, empty)


def _greedy_signature(translator: Any, options: DecodeOptions) -> Any:
    import tensorflow as tf

    greedy = options.replace(beam_width=1, n_best=1, coverage_penalty=0.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def serving_default(inputs):
        def decode():
            decoded = translator.decode_graph(inputs, greedy, with_attention=False)
            return {
                "outputs": decoded.outputs[:, 0],
                "scores": decoded.scores[:, 0],
                "accepted": decoded.accepted[:, 0],
            }

        def empty():
            return {
                "outputs": tf.zeros([0], tf.string),
                "scores": tf.zeros([0], tf.float32),
                "accepted": tf.zeros([0], tf.bool),
            }

        return _unless_empty(inputs, decode, empty)

    return serving_default


def _beam_signature(translator: Any, options: DecodeOptions, max_beam_width: int) -> Any:
    import tensorflow as tf

    # Tensor default arguments become the SignatureDef `defaults` that TF Serving fills in.
    default_width = tf.constant(options.beam_width, tf.int32)
    default_n_best = tf.constant(options.n_best, tf.int32)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="inputs"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
            tf.TensorSpec([], tf.int32, name="n_best"),
        ]
    )
    def beam_search(inputs, beam_width=default_width, n_best=default_n_best):
        return _beam_outputs(translator, options, max_beam_width, inputs, beam_width, n_best)

    return beam_search


def _prefix_signature(translator: Any, options: DecodeOptions, max_beam_width: int) -> Any:
    """`beam_search` with one more input, `prefix` (see `keras_seq2seq.decoding.prefix`)."""
    import tensorflow as tf

    default_prefix = tf.constant([], tf.string)  # no prefix
    default_width = tf.constant(options.beam_width, tf.int32)
    default_n_best = tf.constant(options.n_best, tf.int32)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="inputs"),
            tf.TensorSpec([None], tf.string, name="prefix"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
            tf.TensorSpec([], tf.int32, name="n_best"),
        ]
    )
    def forced_prefix(
        inputs, prefix=default_prefix, beam_width=default_width, n_best=default_n_best
    ):
        return _beam_outputs(
            translator, options, max_beam_width, inputs, beam_width, n_best, prefixes=prefix
        )

    return forced_prefix


def _beam_outputs(translator, options, max_beam_width, inputs, beam_width, n_best, prefixes=None):
    """The outputs of the beam signatures (an empty batch gives empty outputs)."""
    import tensorflow as tf

    check = tf.debugging.assert_less_equal(
        beam_width,
        max_beam_width,
        message=f"`beam_width` must be at most {max_beam_width} (the exported maximum).",
    )
    with tf.control_dependencies([check]):
        beam_width = tf.identity(beam_width)

    def decode():
        decoded = translator.decode_graph(
            inputs, options, beam_width=beam_width, n_best=n_best, prefixes=prefixes,
            with_attention=False,
        )  # fmt: skip
        return {
            "outputs": decoded.outputs,
            "scores": decoded.scores,
            "normalized_scores": decoded.normalized_scores,
            "accepted": decoded.accepted,
        }

    def empty():
        scores = tf.zeros([0, n_best], tf.float32)
        return {
            "outputs": tf.zeros([0, n_best], tf.string),
            "scores": scores,
            "normalized_scores": scores,
            "accepted": tf.zeros([0, n_best], tf.bool),
        }

    return _unless_empty(inputs, decode, empty)


def _score_signature(translator: Any) -> Any:
    import tensorflow as tf

    from keras_seq2seq.evaluation.scoring import score_graph

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="sources"),
            tf.TensorSpec([None], tf.string, name="targets"),
        ]
    )
    def score(sources, targets):
        def compute():
            out = score_graph(translator, sources, targets)
            return {"scores": out["scores"], "mean_log_probs": out["mean_log_probs"]}

        def empty():
            return {"scores": tf.zeros([0]), "mean_log_probs": tf.zeros([0])}

        return _unless_empty(sources, compute, empty)

    return score


def build_serving_module(
    translator: Any,
    options: DecodeOptions | None = None,
    *,
    max_beam_width: int = DEFAULT_MAX_BEAM_WIDTH,
    **option_kwargs: Any,
) -> tuple[Any, dict[str, Any]]:
    """Builds the module and signature functions that `export_model` saves.

    Args:
        translator: keras_seq2seq.decoding.translator.Translator.
        options: DecodeOptions or None. `beam_width` / `n_best` are the defaults of the
            `beam_search` inputs (4 and 1 unless given); `length_penalty`, `max_length` and
            `max_length_ratio` apply to both signatures. See `export_options`.
        max_beam_width: int. Largest `beam_width` a request may ask for. Defaults to `16`.
        **option_kwargs: DecodeOptions fields, when `options` is None.

    Returns:
        `(module, signatures)`: a tf.Module tracking the tokenizers and the model variables,
        and a dict from signature name to `tf.function`.

    Raises:
        TypeError, ValueError: an option is invalid (see `export_options`).

    Example:
    >>> module, signatures = build_serving_module(load("runs/dates"))  # doctest: +SKIP
    >>> signatures["serving_default"](tf.constant(["3 mars 2021"]))["outputs"]  # doctest: +SKIP
    <tf.Tensor: shape=(1,), dtype=string, numpy=array([b'2021-03-03'], dtype=object)>
    """
    import tensorflow as tf

    max_beam_width = check_int("max_beam_width", max_beam_width, maximum=256)
    options = export_options(options, max_beam_width=max_beam_width, **option_kwargs)
    module = tf.Module(name="seq2seq_serving")
    # The tokenizers hold the vocabulary lookup tables. The Keras 3 variables are tracked as the
    # tf.Variables they wrap: tracked as Keras variables (or through the Keras models), a
    # session-based loader such as TF Serving's does not restore them ("Could not find
    # variable ...", keras-team/keras#20095).
    module.source_tokenizer = translator.source_tokenizer
    module.target_tokenizer = translator.target_tokenizer
    if translator.reads_source_text(options):
        module.copy_vocabulary = translator.copy_vocabulary  # its target-id table
    module.model_variables = _tf_variables(translator.model.keras_models)
    if translator.lexicon is not None:
        module.lexicon = translator.lexicon  # its table
    module.serving_default = _greedy_signature(translator, options)
    module.beam_search = _beam_signature(translator, options, max_beam_width)
    module.forced_prefix = _prefix_signature(translator, options, max_beam_width)
    module.score = _score_signature(translator)
    return module, {
        SERVING_SIGNATURE: module.serving_default,
        BEAM_SIGNATURE: module.beam_search,
        PREFIX_SIGNATURE: module.forced_prefix,
        SCORE_SIGNATURE: module.score,
    }


# -- versioned, atomic write ----------------------------------------------------------------


def existing_versions(output_base: str | Path) -> list[int]:
    """Sorted numeric version directories under `output_base` (empty if it does not exist)."""
    return [int(child.name) for child in version_dirs(output_base)]


def next_version(output_base: str | Path) -> int:
    """The version `export_model` writes by default: one more than the newest, or 1."""
    versions = existing_versions(output_base)
    return versions[-1] + 1 if versions else 1


def export_model(
    model_path: str | Path | Sequence[str | Path],
    output_base: str | Path,
    options: DecodeOptions | None = None,
    *,
    version: int | None = None,
    force: bool = False,
    max_beam_width: int = DEFAULT_MAX_BEAM_WIDTH,
    check_ops: bool = True,
    quantize: str | None = None,
    lexicon: str | Path | Sequence[tuple[str, str]] | None = None,
    **option_kwargs: Any,
) -> Path:
    """Exports a trained model as a versioned SavedModel for TF Serving.

    Everything is written to a temporary directory inside `output_base` (`.tmp-*`, which TF
    Serving ignores as it is not a number), warm-up records included (`write_warmup_requests`,
    from the model's validation data when it was trained on a builtin dataset), the op check
    runs on it, and it is renamed to
    `output_base/VERSION` in one step, so a server polling `output_base` never sees a
    half-written version. If anything fails, no version directory and no temporary directory
    are left. With `force=True` an existing version is moved aside, replaced and deleted.

    Args:
        model_path: str or Path. A run directory, an exported base path (newest version) or a
            version directory; or a list of them, exported as one ensemble (one SavedModel
            whose decoding averages the members' log-probabilities at every step; the
            members' files go to `members/N/` beside it, listed in `ensemble.json`).
        output_base: str or Path. The model's base path, e.g. `saved_models/NAME` (created if
            needed).
        options: DecodeOptions or None. What the signatures decode with (see
            `build_serving_module`); defaults to beam width 4 and n-best 1 for `beam_search`.
        version: int or None. Version to write. Defaults to the newest existing version + 1
            (1 for a new base path).
        force: bool. Replace an existing version. Defaults to `False`.
        max_beam_width: int. Largest beam width a request may ask for. Defaults to `16`.
        check_ops: bool. Run `check_saved_model_ops` before publishing. Defaults to `True`.
        quantize: None or `"int8"`. `"int8"` stores the dense layers' kernels as int8 with
            float32 scales (`keras_seq2seq.serving.quantize`; recorded as `quantization` in
            the model card). Defaults to None (float32 weights).
        lexicon: None, a lexicon file (`source<TAB>target` lines) or a sequence of
            `(source, target)` pairs: known inputs every signature answers from it, not by
            decoding (`keras_seq2seq.decoding.lexicon`; the SavedModel's asset
            `assets/lexicon.tsv`, counted in the model card). None keeps the lexicon
            `model_path` has, if any. Defaults to None.
        **option_kwargs: DecodeOptions fields (`beam_width=4`, `length_penalty=0.6`, ...),
            when `options` is None.

    Returns:
        Path of the version directory.

    Raises:
        FileNotFoundError: `model_path` holds no model.
        FileExistsError: the version exists and `force` is false.
        TypeError: an option has the wrong type.
        ValueError: an option is out of range, an unknown `quantize` mode or a model it
            cannot quantize, a malformed lexicon (names the line or entry), or the graph
            uses ops stock TF Serving lacks (`ServingOpsError`).

    Example:
    >>> export_model("runs/dates", "exported/dates")  # doctest: +SKIP
    PosixPath('exported/dates/1')
    """
    from keras_seq2seq.decoding.lexicon import Lexicon, write_lexicon
    from keras_seq2seq.decoding.translator import load
    from keras_seq2seq.serving.quantize import (
        check_quantize_mode,
        quantize_for_export,
        record_quantization,
    )
    from keras_seq2seq.training.run_dir import resolve_model_dirs

    quantize = check_quantize_mode(quantize)
    paths = [model_path] if isinstance(model_path, (str, Path)) else list(model_path)
    run_dirs = [member for path in paths for member in resolve_model_dirs(path)]
    options = export_options(options, max_beam_width=max_beam_width, **option_kwargs)
    target = _version_dir(Path(output_base), version, force)
    translator = load(paths)
    if lexicon is not None:
        translator.lexicon = _lexicon(lexicon, translator.config.source_text.lowercase)
    quantized = quantize_for_export(translator, quantize) if quantize else None

    import tensorflow as tf

    target.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkdtemp: its mode 0700 would survive the rename and hide the version from a
    # model server running as another user.
    staging = target.parent / f".tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        with tempfile.TemporaryDirectory(prefix="ks2s-lexicon-") as scratch:
            if translator.lexicon is not None:  # read from a file: saved as its asset, once
                translator.lexicon = Lexicon.from_file(
                    write_lexicon(scratch, translator.lexicon),
                    lowercase=translator.lexicon.lowercase,
                )
            module, signatures = build_serving_module(
                translator, options, max_beam_width=max_beam_width
            )
            tf.saved_model.save(module, str(staging), signatures=signatures)
        _copy_model_files(run_dirs, staging, target)
        if quantized is not None:
            record_quantization(staging / MODEL_CARD_FILE, quantized)
        write_warmup_requests(staging, model_name=target.parent.name)
        if check_ops:
            check_saved_model_ops(staging)
        _publish(staging, target, force=force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _lexicon(lexicon: Any, lowercase: bool) -> Any:
    """`export_model`'s `lexicon` argument as a Lexicon (a file is read, pairs are checked)."""
    from keras_seq2seq.decoding.lexicon import Lexicon, read_lexicon

    if isinstance(lexicon, (str, os.PathLike)):
        return Lexicon(read_lexicon(lexicon), lowercase=lowercase)
    if isinstance(lexicon, Lexicon):
        return lexicon
    return Lexicon(lexicon, lowercase=lowercase)


def _copy_model_files(run_dirs: list[Path], staging: Path, target: Path) -> None:
    """The run directories' files beside the SavedModel (`members/N/` for an ensemble).

    The model cards name where the files are published (`target`), not the staging directory.
    """
    from keras_seq2seq.config import RunConfig
    from keras_seq2seq.training.run_dir import model_files

    ensemble = len(run_dirs) > 1
    members = [member_dir(i) if ensemble else "" for i in range(len(run_dirs))]
    for run_dir, member in zip(run_dirs, members, strict=True):
        (staging / member).mkdir(parents=True, exist_ok=True)
        config = RunConfig.load(run_dir / CONFIG_FILE)
        for name in [*model_files(config), *RECORD_FILES]:
            if name == MODEL_FILE:
                _save_for_inference(run_dir / name, staging / member / name)
            elif (run_dir / name).is_file():
                shutil.copy2(run_dir / name, staging / member / name)
    cards = [{**model_card(staging / m), "model": str(target / m)} for m in members]
    if ensemble:
        write_json(staging / ENSEMBLE_FILE, {"members": members})
        write_json(staging / MODEL_CARD_FILE, {"ensemble": cards,
                                               "lexicon": lexicon_size(staging)})  # fmt: skip
    else:
        write_json(staging / MODEL_CARD_FILE, cards[0])


def _save_for_inference(source: Path, target: Path) -> None:
    """`model.keras` without the optimizer's state: an export decodes, and training resumes
    from the run directory. Adam keeps two slots per weight, so this is about two thirds of
    a trained model's file."""
    import keras

    keras.saving.load_model(source, compile=False, safe_mode=True).save(target)


def _version_dir(base: Path, version: int | None, force: bool) -> Path:
    """The version directory to write, checked against what already exists."""
    if base.exists() and not base.is_dir():
        raise FileExistsError(f"`output_base` {base} is a file; pass a directory.")
    if version is None:
        version = next_version(base)
    version = check_int("version", version, description="an integer >= 1")
    target = base / str(version)
    if target.exists() and not force:
        raise FileExistsError(
            f"{target} already exists. Pick another --version, omit it to write version "
            f"{next_version(base)}, or pass --force (force=True) to replace it."
        )
    return target


def _publish(staging: Path, target: Path, *, force: bool) -> None:
    """Renames `staging` to `target`; with `force`, an existing `target` is replaced."""
    old = None
    if target.exists():
        if not force:
            raise FileExistsError(f"{target} appeared while exporting; nothing was replaced.")
        old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
