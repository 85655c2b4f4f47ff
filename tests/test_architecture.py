"""Tests for the architecture interface (keras_seq2seq.models.base) with a toy architecture.

The toy lives only here: nothing in `keras_seq2seq/` knows it. It trains with `train`, decodes
with greedy search, beam search and sampling, evaluates, exports (op check included) and loads
in a fresh process, all through the interface.
"""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from keras_seq2seq.config import ModelConfig, TrainConfig
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.evaluation.evaluate import evaluate
from keras_seq2seq.models import (
    Architecture,
    StepOutput,
    get_architecture,
    register_architecture,
)
from keras_seq2seq.serving.export import export_model
from keras_seq2seq.training.fit import train
from tests.conftest import reverse_pairs
from tests.test_export import _b64, _decoded, serve_in_fresh_process

# -- the toy architecture (the whole of it) -------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ToyOptions:
    query_activation: str = "tanh"


@register_architecture("toy")
class ToySeq2Seq(Architecture):
    """Each output token attends over the encoded source with its previous token's embedding."""

    options_class = ToyOptions

    @classmethod
    def build_training_model(cls, config, options, dtype):
        source = keras.Input((None,), dtype="int32", name="source_ids")
        target = keras.Input((None,), dtype="int32", name="target_input_ids")
        made = cls._layers(config, options)
        memory = made["encoder"](made["source_embedding"](source))
        query = made["query"](made["target_embedding"](target))
        context = made["attention"]([query, memory], mask=[None, keras.ops.not_equal(source, 0)])
        logits = made["output"](layers.Concatenate()([query, context]))
        return keras.Model([source, target], logits, name="toy")

    @staticmethod
    def _layers(config, options):
        units = config.units
        return {
            "source_embedding": layers.Embedding(
                config.source_vocabulary_size, units, name="source_embedding"
            ),
            "encoder": layers.Dense(units, activation="tanh", name="encoder"),
            "target_embedding": layers.Embedding(
                config.target_vocabulary_size, units, name="target_embedding"
            ),
            "query": layers.Dense(units, activation=options.query_activation, name="query"),
            "attention": layers.Attention(name="attention"),
            "output": layers.Dense(config.target_vocabulary_size, name="output"),
        }

    def _get(self, name):
        return self.training.get_layer(name)

    def encode(self, batch):
        source_ids = batch.ids
        memory = self._get("encoder")(self._get("source_embedding")(source_ids))
        steps = tf.zeros(tf.shape(source_ids)[:1], tf.int32)
        return {"steps": steps}, (memory, tf.not_equal(source_ids, 0))

    def step(self, tokens, state, context, time):
        memory, mask = context
        query = self._get("query")(self._get("target_embedding")(tokens[:, None]))
        attended, scores = self._get("attention")(
            [query, memory], mask=[None, mask], return_attention_scores=True
        )
        logits = self._get("output")(tf.concat([query, attended], axis=-1))[:, 0]
        new_state = {"steps": tf.fill(tf.shape(tokens), time + 1)}
        return StepOutput(tf.nn.log_softmax(logits), new_state, scores[:, 0], query[:, 0])


# -- the tests ------------------------------------------------------------------------------

PAIRS = [(text, text) for text, _ in reverse_pairs(1500, seed=5, max_len=5)]
TEXTS = ["abc", "hgfe", "", "a", "ddddd"]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("toy")
    result = train(
        PAIRS,
        run_dir,
        model_options={"architecture": "toy", "units": 16, "query_activation": "relu"},
        train_config=TrainConfig(epochs=3, batch_size=32, patience=0),
        verbose=0,
    )
    return result


def test_registry_knows_the_toy_and_checks_its_options():
    assert get_architecture("toy") is ToySeq2Seq
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['cell'\] for architecture 'toy'"):
        ToySeq2Seq.parse_options(ModelConfig(10, 10, architecture="toy", cell="gru"))
    with pytest.raises(ValueError, match=r"name 'toy' is taken by ToySeq2Seq"):
        register_architecture("toy")(type("Other", (ToySeq2Seq,), {}))


@pytest.mark.slow
def test_toy_trains_decodes_and_evaluates(toy_run):
    assert toy_run.config.model.architecture == "toy"
    assert toy_run.history["loss"][-1] < toy_run.history["loss"][0]
    translator = load(toy_run.run_dir)
    assert isinstance(translator.model, ToySeq2Seq)
    greedy = translator.translate(TEXTS)
    assert len(greedy) == len(TEXTS) and all(isinstance(text, str) for text in greedy)
    assert translator.translate(TEXTS, beam_width=1) == greedy
    beams = translator.translate(TEXTS, beam_width=3, n_best=2)
    for hypotheses in beams:
        assert len(hypotheses) == 2
        assert hypotheses[0].normalized_score >= hypotheses[1].normalized_score
    sampled = translator.translate(TEXTS, temperature=1.0, seed=3)
    assert sampled == translator.translate(TEXTS, temperature=1.0, seed=3)
    (decoded,) = translator.decode(TEXTS, beam_width=2)
    # Attention over the source ([END] included), zero on padding.
    assert decoded.attention.shape[:2] == (len(TEXTS), 1)
    np.testing.assert_allclose(decoded.attention[0, 0, 0, :4].sum(), 1.0, rtol=1e-5)
    report = evaluate(translator, PAIRS[:100], progress=False)
    assert report["num_examples"] > 0 and 0.0 <= report["exact_match"] <= 100.0


@pytest.mark.slow
def test_toy_exports_and_serves_in_a_fresh_process(toy_run, tmp_path):
    version = export_model(toy_run.run_dir, tmp_path / "saved" / "toy")  # op check runs here
    calls = [
        {"signature": "serving_default", "texts": _b64(TEXTS)},
        {"signature": "beam_search", "texts": _b64(TEXTS), "beam_width": 3, "n_best": 2},
    ]
    out = serve_in_fresh_process(version, calls, _b64(TEXTS), tmp_path)
    assert out["leaked"] == []  # the consumer never imported keras_seq2seq
    translator = load(version)
    greedy, beam = out["results"]
    assert [t.decode() for t in _decoded(greedy["outputs"])] == translator.translate(TEXTS)
    expected = translator.translate(TEXTS, beam_width=3, n_best=2)
    texts = _decoded(beam["outputs"]).reshape(len(TEXTS), 2)
    assert [[t.decode() for t in row] for row in texts] == [[h.text for h in r] for r in expected]
