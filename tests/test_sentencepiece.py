"""Tests for the SentencePiece tokenizer (keras_seq2seq.text.sentencepiece), shared vocabularies."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.config import TextConfig, TrainConfig
from keras_seq2seq.data.readers import read_pairs
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.serving.op_check import TF_TEXT_SERVING_OPS, check_saved_model_ops, core_op_names
from keras_seq2seq.text import RESERVED_TOKENS, SentencePieceTokenizer
from keras_seq2seq.text.tokenizers import fit_tokenizer, normalize_text, tokenizer_from_vocabulary
from keras_seq2seq.training.fit import check_shared_vocabulary, train
from tests.test_export import _b64, _decoded, serve_in_fresh_process

PAIRS = read_pairs(Path(__file__).parent / "data" / "ddtp_en_de_sample.tsv")
TECHNICAL = [
    "libfoo2-dev --help",
    "see /usr/share/doc/foo/README.gz and https://example.org/a?b=c&d=1",
    "C++ bindings, e.g. for Qt5 (GUI)",
    "Ωmega 😀 中文 ümlaut «quoted»",
    "",
    "   spaced\tout   text  ",
]


def _config(size=400, kind="unigram", **kwargs):
    return TextConfig(tokenizer="sentencepiece", max_vocabulary_size=size,
                      sentencepiece_type=kind, **kwargs)  # fmt: skip


@pytest.fixture(scope="module")
def english():
    return fit_tokenizer(_config(), [source for source, _ in PAIRS])


def _round_trip(tokenizer, texts):
    back = tokenizer.detokenize(tokenizer.tokenize(tf.constant(texts))).numpy()
    return [text.decode("utf-8") for text in back]


def test_reserved_tokens_keep_their_ids(english):
    assert english.vocabulary[:4] == list(RESERVED_TOKENS)
    assert english.vocabulary_size <= 400
    ids = english.tokenize(tf.constant(["package"])).to_list()[0]
    assert ids and min(ids) >= 4


@pytest.mark.parametrize("kind", ["unigram", "bpe"])
def test_round_trip_restores_the_normalized_text(kind):
    tokenizer = fit_tokenizer(_config(kind=kind), [source for source, _ in PAIRS])
    texts = [source for source, _ in PAIRS] + TECHNICAL
    expected = [t.decode("utf-8") for t in normalize_text(tf.constant(texts)).numpy()]
    assert _round_trip(tokenizer, texts) == expected


def test_too_small_a_vocabulary_for_the_characters_says_what_size_works():
    texts = ["".join(chr(0x4E00 + i + k) for k in range(5)) for i in range(200)]
    with pytest.raises(ValueError, match=r"too small for these texts.*--vocab-size (\d+) or more"):
        fit_tokenizer(_config(size=300), texts)


def test_unseen_characters_fall_back_to_bytes(english):
    pieces = english.tokenize_to_strings(tf.constant(["☃"])).to_list()[0]
    assert pieces[-3:] == [b"<0xE2>", b"<0x98>", b"<0x83>"]
    assert _round_trip(english, ["a ☃ b"]) == ["a ☃ b"]


def test_detokenize_stops_at_end_and_skips_padding(english):
    ids = english.tokenize(tf.constant(["free software"])).to_list()[0]
    padded = tf.constant([[2, *ids, 3, *ids, 0, 0]])
    assert english.detokenize(padded).numpy()[0].decode() == "free software"


def test_saved_vocabulary_and_model_rebuild_the_tokenizer(english):
    rebuilt = tokenizer_from_vocabulary(_config(), english.vocabulary, english.assets())
    texts = TECHNICAL[:3]
    np.testing.assert_array_equal(
        rebuilt.tokenize(tf.constant(texts)).to_tensor(),
        english.tokenize(tf.constant(texts)).to_tensor(),
    )
    with pytest.raises(ValueError, match=r"needs its model file \(spm.model\)"):
        tokenizer_from_vocabulary(_config(), english.vocabulary, {})
    with pytest.raises(ValueError, match=r"come from different runs"):
        SentencePieceTokenizer(english.vocabulary[:-1] + ["zzqx"], model_proto=english.model_proto)


def test_bad_sizes_and_types_are_refused():
    with pytest.raises(ValueError, match=r"`vocab_size` must be at least 261"):
        fit_tokenizer(_config(size=100), ["some text"])
    with pytest.raises(ValueError, match=r"`sentencepiece_type` must be one of"):
        _config(kind="char")


def test_shared_vocabulary_needs_both_sides_alike():
    shared = _config(shared_vocabulary=True)
    assert check_shared_vocabulary(shared, shared)
    assert not check_shared_vocabulary(_config(), _config())
    with pytest.raises(ValueError, match=r"must be set on both sides"):
        check_shared_vocabulary(shared, _config())
    with pytest.raises(ValueError, match=r"same `lowercase` on both sides"):
        check_shared_vocabulary(shared, _config(shared_vocabulary=True, lowercase=True))


# -- trained end to end ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    text = _config(size=500, shared_vocabulary=True, max_length=48)
    return train(
        PAIRS,
        tmp_path_factory.mktemp("sentencepiece"),
        validation_pairs=PAIRS[:20],
        model_options={
            "architecture": "transformer",
            "units": 16,
            "heads": 2,
            "tie_embeddings": True,
        },
        source_text=text,
        target_text=text,
        train_config=TrainConfig(epochs=1, batch_size=32, patience=0),
        verbose=0,
    )


@pytest.mark.slow
def test_shared_vocabulary_trains_tied_transformer(shared_run):
    run_dir = shared_run.run_dir
    assert (run_dir / "source_spm.model").read_bytes() == (
        run_dir / "target_spm.model"
    ).read_bytes()
    config = shared_run.config
    assert config.model.source_vocabulary_size == config.model.target_vocabulary_size
    translator = load(run_dir)
    assert translator.source_tokenizer.vocabulary == translator.target_tokenizer.vocabulary
    assert len(translator.translate(TECHNICAL)) == len(TECHNICAL)


@pytest.mark.slow
def test_tied_embeddings_refuse_two_vocabularies(tmp_path):
    with pytest.raises(ValueError, match=r"needs one vocabulary for both sides"):
        train(
            PAIRS,
            tmp_path / "run",
            model_options={
                "architecture": "transformer",
                "units": 16,
                "heads": 2,
                "tie_embeddings": True,
            },
            source_text=_config(),
            target_text=_config(),
            train_config=TrainConfig(epochs=1),
            verbose=0,
        )


@pytest.mark.slow
def test_sentencepiece_export_passes_op_check_and_serves(shared_run, tmp_path):
    exported = export_model(shared_run.run_dir, tmp_path / "saved" / "en_de")
    assert (exported / "source_spm.model").is_file() and (exported / "target_spm.model").is_file()
    ops = check_saved_model_ops(exported)
    assert {"SentencepieceOp", "SentencepieceTokenizeOp", "SentencepieceDetokenizeOp"} <= set(ops)
    assert set(ops) - core_op_names() <= TF_TEXT_SERVING_OPS
    texts = [source for source, _ in PAIRS[:10]] + TECHNICAL
    calls = [{"signature": "serving_default", "texts": _b64(texts)}]
    out = serve_in_fresh_process(exported, calls, _b64(texts[:3]), tmp_path)
    served = [t.decode() for t in _decoded(out["results"][0]["outputs"])]
    assert served == load(exported).translate(texts)


@pytest.mark.slow
def test_training_with_given_sentencepiece_tokenizers(tmp_path):
    # Seeding a run clears TensorFlow's resources; given tokenizers must survive that.
    text = _config(size=500, shared_vocabulary=True, max_length=48)
    tokenizer = fit_tokenizer(text, [s for s, _ in PAIRS] + [t for _, t in PAIRS])
    result = train(
        PAIRS[:64],
        tmp_path / "given",
        model_options={"units": 8},
        source_text=text,
        target_text=text,
        train_config=TrainConfig(epochs=1, batch_size=32, patience=0),
        tokenizers=(tokenizer, tokenizer),
        verbose=0,
    )
    assert (result.run_dir / "target_spm.model").read_bytes() == tokenizer.model_proto
    assert load(result.run_dir).translate(["hello"])[0] is not None
