"""WordPiece tokenizer and vocabulary learner: round trips, [UNK], determinism, size, graph
mode, training, export and the serving-op check."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.cli import main
from keras_seq2seq.config import TextConfig, TrainConfig
from keras_seq2seq.data.readers import read_pairs
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.serving.client import SERVING_SIGNATURE
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.serving.op_check import (
    PYTHON_CALLBACK_OPS,
    TF_TEXT_SERVING_OPS,
    check_saved_model_ops,
    core_op_names,
)
from keras_seq2seq.text import (
    RESERVED_TOKENS,
    UNK_ID,
    WordPieceTokenizer,
    fit_tokenizer,
    learn_wordpiece_vocabulary,
    load_vocabulary,
    tokenizer_class,
    tokenizer_from_vocabulary,
)
from tests.test_export import _b64, _decoded, serve_in_fresh_process

DATA = Path(__file__).parent / "data" / "es_en.tsv"
PAIRS = read_pairs(DATA)
SPANISH = [source for source, _ in PAIRS]
RESERVED = list(RESERVED_TOKENS)

# Already NFKC-normalized and spaced the way `WordTokenizer.join` writes punctuation, so each
# text must come back unchanged.
MIXED = [
    "¿Dónde está la biblioteca? Está cerca de la estación.",
    "Él habló rápidamente; ¡qué sorpresa! Ça va, garçon?",
    "Привет, как дела? Всё хорошо, спасибо.",
    "我喜欢学习中文! 東京は大きい",
    "مرحبا بالعالم! كيف حالك?",
    "l'été d'Ana (en Málaga) costó 15% más: «¡caro!»",
    "naïve café-crème, Zürich & São Paulo 2024",
]


def _config(size=32000, **options):
    return TextConfig(tokenizer="wordpiece", max_vocabulary_size=size, **options)


@pytest.fixture(scope="module")
def mixed_tokenizer():
    return fit_tokenizer(_config(400), MIXED * 3 + SPANISH)


def _roundtrip(tokenizer, texts):
    ids = tokenizer.tokenize(tf.constant(texts))
    return [text.decode() for text in tokenizer.detokenize(ids).numpy()]


# -- tokenizer ------------------------------------------------------------------------------


def test_registered_and_built_by_fit_tokenizer(mixed_tokenizer):
    assert tokenizer_class("wordpiece") is WordPieceTokenizer
    assert isinstance(mixed_tokenizer, WordPieceTokenizer)
    assert mixed_tokenizer.get_config() == {
        "kind": "wordpiece",
        "lowercase": False,
        "max_bytes_per_word": 200,
    }
    again = tokenizer_from_vocabulary(_config(), mixed_tokenizer.vocabulary)
    assert isinstance(again, WordPieceTokenizer)
    assert again.tokenize(tf.constant(MIXED)).to_list() == (
        mixed_tokenizer.tokenize(tf.constant(MIXED)).to_list()
    )


def test_mixed_script_round_trip(mixed_tokenizer):
    assert _roundtrip(mixed_tokenizer, MIXED) == MIXED
    pieces = mixed_tokenizer.tokenize_to_strings(tf.constant(MIXED)).flat_values.numpy()
    # Real subwords are used, not only characters, and no word fell back to [UNK].
    assert any(len(piece.decode().removeprefix("##")) > 3 for piece in pieces)
    assert b"[UNK]" not in set(pieces)


def test_tokenize_splits_words_into_pieces():
    vocab = [*RESERVED, "habl", "##amos", "##o", "##a", ".", "¿", "?", "h", "##l"]
    tokenizer = WordPieceTokenizer(vocab)
    texts = tf.constant(["¿Hablamos? hablo.", "", "hhl"])
    assert tokenizer.tokenize_to_strings(texts).to_list() == [
        [b"\xc2\xbf", b"[UNK]", b"?", b"habl", b"##o", b"."],
        [],
        [b"[UNK]"],  # "h" is a piece, "##h" is not: the whole word is unknown
    ]
    ids = tokenizer.tokenize(texts)
    assert ids.dtype == tf.int32 and ids.shape.rank == 2
    assert ids.to_list()[0] == [9, UNK_ID, 10, 4, 6, 8]
    # Suffix pieces are glued to the piece before them, punctuation spaced like WordTokenizer;
    # a leading `##` piece (possible in model output) has nothing to continue.
    out = tokenizer.detokenize(
        tf.constant([[9, 4, 5, 10, 4, 7, 8, 3, 4], [6, 4, 0, 0, 0, 0, 0, 0, 0]])
    )
    assert [text.decode() for text in out.numpy()] == ["¿hablamos? habla.", "o habl"]


def test_unseen_characters_become_unk(mixed_tokenizer):
    texts = ["Ωmega está aquí 😀", "ᚠᚢ", "x" * 3 + "Ж", "hola " + "a" * 250]
    ids = mixed_tokenizer.tokenize(tf.constant(texts))
    rows = ids.to_list()
    assert rows[0][0] == UNK_ID and rows[0][-1] == UNK_ID
    assert rows[1] == [UNK_ID]
    assert UNK_ID in rows[2]
    assert rows[3][-1] == UNK_ID  # longer than max_bytes_per_word
    back = _roundtrip(mixed_tokenizer, texts)
    assert back[0] == "[UNK] está aquí [UNK]"
    assert back[3].endswith(" [UNK]")


def test_lowercase_is_applied_before_learning_and_tokenizing():
    tokenizer = fit_tokenizer(_config(60, lowercase=True), ["Hola Mundo", "HOLA"])
    assert all(token == token.lower() for token in tokenizer.vocabulary[4:])
    assert _roundtrip(tokenizer, ["HOLA mundo"]) == ["hola mundo"]


def test_graph_mode_with_unknown_batch_size_uses_serving_ops(mixed_tokenizer):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        ids = mixed_tokenizer.tokenize(texts)
        return ids.to_tensor(), mixed_tokenizer.detokenize(ids)

    for batch in (MIXED, MIXED[:1], []):
        dense, back = round_trip(tf.constant(batch, dtype=tf.string))
        assert [text.decode() for text in back.numpy()] == batch
        assert dense.shape[0] == len(batch)
    graph = round_trip.get_concrete_function().graph.as_graph_def()
    functions = {function.signature.name for function in graph.library.function}
    ops = {node.op for node in graph.node}
    ops |= {node.op for f in graph.library.function for node in f.node_def}
    ops -= functions
    non_core = ops - core_op_names()
    assert "WordpieceTokenizeWithOffsets" in non_core
    assert non_core <= TF_TEXT_SERVING_OPS
    assert not ops & PYTHON_CALLBACK_OPS


def test_tokenizer_errors():
    with pytest.raises(ValueError, match="reserved tokens"):
        WordPieceTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="max_bytes_per_word"):
        WordPieceTokenizer([*RESERVED, "a"], max_bytes_per_word=0)


# -- vocabulary learning --------------------------------------------------------------------


def test_vocabulary_holds_every_character_in_both_forms():
    vocabulary = learn_wordpiece_vocabulary({"hola": 3, "hablo": 2, "¿qué": 1}, max_size=40)
    assert vocabulary[:4] == RESERVED
    chars = sorted(set("holabqué¿"))
    assert vocabulary[4 : 4 + len(chars)] == chars
    assert vocabulary[4 + len(chars) : 4 + 2 * len(chars)] == ["##" + c for c in chars]
    assert len(vocabulary) == len(set(vocabulary)) <= 40


def test_vocabulary_is_deterministic(tmp_path):
    config = _config(150)
    first = fit_tokenizer(config, SPANISH).vocabulary
    assert fit_tokenizer(config, SPANISH).vocabulary == first
    shuffled = SPANISH[:]
    random.Random(3).shuffle(shuffled)
    assert fit_tokenizer(config, shuffled).vocabulary == first
    # Another interpreter with another string hash seed learns the same vocabulary.
    script = (
        "import json, sys\n"
        "from keras_seq2seq.config import TextConfig\n"
        "from keras_seq2seq.data.readers import read_pairs\n"
        "from keras_seq2seq.text import fit_tokenizer\n"
        "texts = [s for s, _ in read_pairs(sys.argv[1])]\n"
        "config = TextConfig(tokenizer='wordpiece', max_vocabulary_size=150)\n"
        "json.dump(fit_tokenizer(config, texts).vocabulary, sys.stdout)\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", script, str(DATA)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == first


@pytest.mark.parametrize("size", [6, 7, 40, 104, 150, 300, 5000])
def test_vocabulary_respects_the_size(size):
    vocabulary = fit_tokenizer(_config(size), SPANISH).vocabulary
    assert len(vocabulary) == len(set(vocabulary)) <= size
    assert vocabulary[:4] == RESERVED
    singles = [token for token in vocabulary[4:] if len(token) == 1]
    assert ["##" + c for c in singles] == vocabulary[4 + len(singles) : 4 + 2 * len(singles)]
    if size <= 104:  # cannot hold every character twice: the most frequent ones are kept
        assert len(singles) == (size - 4) // 2
        assert "a" in singles
    else:  # every character seen, plus learned pieces
        assert set("".join(SPANISH).replace(" ", "")) <= set(singles)
        assert any(len(token.removeprefix("##")) > 1 for token in vocabulary)
    if size >= 150:
        assert _roundtrip(fit_tokenizer(_config(size), SPANISH), SPANISH) == SPANISH


def test_min_count_drops_rare_pieces():
    rare = fit_tokenizer(_config(5000, min_count=3), SPANISH).vocabulary
    full = fit_tokenizer(_config(5000), SPANISH).vocabulary
    assert len(rare) < len(full)
    assert "Tengo" in rare and "periódico" in full and "periódico" not in rare


def test_vocabulary_errors():
    with pytest.raises(ValueError, match="at least 6"):
        fit_tokenizer(_config(5), SPANISH)
    with pytest.raises(ValueError, match="no word"):
        fit_tokenizer(_config(), ["   ", "\t"])
    with pytest.raises(ValueError, match="empty list"):
        fit_tokenizer(_config(), [])
    with pytest.raises(ValueError, match="min_count"):
        learn_wordpiece_vocabulary({"a": 1}, min_count=0)


# -- training, CLI, export ------------------------------------------------------------------


@pytest.fixture(scope="module")
def wordpiece_run(tmp_path_factory):
    from keras_seq2seq.training.fit import train

    text = _config(150, max_length=24)
    return train(
        PAIRS,
        tmp_path_factory.mktemp("wordpiece"),
        validation_pairs=PAIRS[:16],
        model_options={"units": 8, "embedding_dim": 8},
        source_text=text,
        target_text=text,
        train_config=TrainConfig(epochs=1, batch_size=32, patience=0),
        verbose=0,
    )


@pytest.fixture(scope="module")
def translator(wordpiece_run):
    return load(wordpiece_run.run_dir)


@pytest.mark.slow
def test_train_with_wordpiece_on_both_sides_translates(wordpiece_run, translator):
    run_dir = wordpiece_run.run_dir
    config = json.loads((run_dir / "config.json").read_text())
    assert json.dumps(config).count('"wordpiece"') == 2
    for vocab_file in run_dir.glob("*vocab*"):
        vocabulary = load_vocabulary(vocab_file)
        assert len(vocabulary) <= 150 and "##a" in vocabulary
    outputs = translator.translate(SPANISH[:5] + ["Ωmega 😀"])
    assert len(outputs) == 6 and all(isinstance(text, str) for text in outputs)


@pytest.mark.slow
def test_export_passes_op_check_and_runs_in_a_fresh_process(wordpiece_run, translator, tmp_path):
    exported = export_model(wordpiece_run.run_dir, tmp_path / "saved_models" / "es_en")
    ops = check_saved_model_ops(exported)
    assert "WordpieceTokenizeWithOffsets" in ops
    assert set(ops) - core_op_names() <= TF_TEXT_SERVING_OPS

    texts = [*SPANISH[:8], "Ωmega 😀", ""]
    calls = [{"signature": SERVING_SIGNATURE, "texts": _b64(texts)}]
    fresh = serve_in_fresh_process(exported, calls, _b64(texts[:2]), tmp_path)
    assert fresh["leaked"] == []
    (expected,) = translator.decode(texts)
    result = fresh["results"][0]
    assert list(_decoded(result["outputs"])) == list(expected.outputs[:, 0])
    np.testing.assert_allclose(
        np.float32(result["scores"]["values"]), expected.scores[:, 0], rtol=1e-6
    )


def test_cli_train_passes_tokenizer_and_vocab_size(monkeypatch, tmp_path, capsys):
    import keras_seq2seq.training.fit as training

    seen = {}

    class Result:
        num_train_examples = num_validation_examples = 1
        run_dir = tmp_path

    def fake_train(pairs, output, **options):
        seen.update(options)
        return Result()

    monkeypatch.setattr(training, "train", fake_train)
    argv = ["train", "--dataset", str(DATA), "--output", str(tmp_path), "--epochs", "1"]
    assert main([*argv, "--tokenizer", "wordpiece", "--vocab-size", "300"]) == 0
    for side in ("source_text", "target_text"):
        assert seen[side].tokenizer == "wordpiece"
        assert seen[side].max_vocabulary_size == 300
    assert main([*argv, "--target-tokenizer", "wordpiece"]) == 0
    assert seen["target_text"].tokenizer == "wordpiece"
    assert seen["target_text"].max_vocabulary_size == 32000
    with pytest.raises(SystemExit):
        main([*argv, "--vocab-size", "0"])
    capsys.readouterr()


@pytest.mark.parametrize("learner", ["sentencepiece", "bert"])
def test_both_learners_give_pieces_that_spell_the_training_texts(learner):
    tokenizer = fit_tokenizer(_config(300, wordpiece_learner=learner), SPANISH)
    vocabulary = tokenizer.vocabulary
    assert vocabulary[:4] == RESERVED and len(vocabulary) <= 300
    assert any(len(t.removeprefix("##")) > 1 for t in vocabulary)  # multi-character pieces
    assert _roundtrip(tokenizer, SPANISH) == SPANISH
    with pytest.raises(ValueError, match=r"`wordpiece_learner` must be one of"):
        _config(wordpiece_learner="wordpiece")
