"""The models shipped in `saved_models/`: they load, answer and say what they are.

Every shipped model must be an exported SavedModel (no run directory, no optimizer state)
whose model card names its training data and its held-out scores, that answers in a fresh
process with only TensorFlow and tensorflow-text imported (as TF Serving runs it), and that
gives there what `keras_seq2seq.load` gives in process. The English G2P models must answer
ARPAbet, on the command line and in Python.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from keras_seq2seq.errors import RefusalWarning
from tests.test_export import _b64, _decoded, serve_in_fresh_process

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "saved_models"
G2P_MODELS = ("cmudict", "cmudict-small")  # the English G2P models shipped

WORDS = ["hello", "world", "pronunciation", "keras", "tensorflow"]
UNREADABLE = ["r2d2", "two words", "x-ray", "$%&", ""]  # not one word of letters: no answer


def _newest_version(name: str) -> Path:
    versions = [p for p in (SHIPPED / name).iterdir() if p.is_dir() and p.name.isdigit()]
    assert versions, f"saved_models/{name} has no numeric version directory"
    return max(versions, key=lambda p: int(p.name))


def _shipped_names() -> list[str]:
    return sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())


def test_the_english_g2p_models_ship():
    assert set(G2P_MODELS) <= set(_shipped_names())


@pytest.mark.parametrize("name", _shipped_names())
def test_shipped_model_is_an_export_with_a_card(name):
    version = _newest_version(name)
    assert (version / "saved_model.pb").is_file() and (version / "variables").is_dir()
    assert (version / "assets.extra" / "tf_serving_warmup_requests").is_file()
    leftovers = {"checkpoints", "backup", "optimizer"} & {p.name for p in version.iterdir()}
    assert not leftovers, f"{version} holds training state: {leftovers}"
    card = json.loads((version / "model_card.json").read_text(encoding="utf-8"))
    assert card["training"]["data"]["train_pairs"] > 0
    evaluation = card["evaluation"]
    assert evaluation["num_examples"] > 0 and 0 <= evaluation["exact_match"] <= 100


@pytest.mark.parametrize("name", G2P_MODELS)
def test_g2p_card_gives_test_scores_speed_and_cpu(name):
    card = json.loads((_newest_version(name) / "model_card.json").read_text(encoding="utf-8"))
    evaluation = card["evaluation"]
    assert evaluation["dataset"].startswith("cmudict test split")
    for search in ("greedy", "beam"):
        scores = evaluation[search]
        assert 0 < scores["wer"] < 50 and 0 < scores["per"] < scores["wer"]
        assert scores["words_per_second"] > 0
    assert evaluation["cpu"] and evaluation["cpu_cores"] >= 1


@pytest.fixture(scope="module")
def arpabet():
    """The phones of the `cmudict` dataset's targets (ARPAbet, stress removed)."""
    import keras_seq2seq as ks

    phones = {phone for _, target in ks.load_dataset("cmudict") for phone in target.split()}
    assert len(phones) == 39, sorted(phones)  # CMUdict's 39 phones
    return phones


@pytest.fixture(scope="module")
def g2p_answers(tmp_path_factory):
    """Each G2P model's answers for WORDS: in process and from a fresh TF-only process."""
    import keras_seq2seq as ks

    texts = [*WORDS, "Hello", *UNREADABLE]
    answers = {}
    for name in G2P_MODELS:
        version = _newest_version(name)
        work = tmp_path_factory.mktemp(name)
        calls = [{"signature": "serving_default", "texts": _b64(texts)}]
        fresh = serve_in_fresh_process(version, calls, _b64(texts), work)
        served = [t.decode() for t in _decoded(fresh["results"][0]["outputs"])]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = ks.load(SHIPPED / name).translate(texts)
        refusals = [w.message for w in caught if isinstance(w.message, RefusalWarning)]
        answers[name] = {"load": loaded, "served": served, "refusals": refusals}
    return answers


@pytest.mark.parametrize("name", G2P_MODELS)
def test_g2p_answers_arpabet_the_same_in_a_fresh_process(name, g2p_answers, arpabet):
    answers = g2p_answers[name]
    assert answers["served"] == answers["load"]
    for word, phones in zip(WORDS, answers["load"][: len(WORDS)], strict=True):
        assert phones and set(phones.split()) <= arpabet, (word, phones)


@pytest.mark.parametrize("name", G2P_MODELS)
def test_g2p_reads_capitals_and_answers_nothing_it_cannot_read(name, g2p_answers):
    answers = g2p_answers[name]["load"]
    assert answers[len(WORDS)] == answers[0]  # "Hello" is read as "hello"
    assert answers[len(WORDS) + 1 :] == [""] * len(UNREADABLE)
    [refusal] = g2p_answers[name]["refusals"]
    assert refusal.count == len(UNREADABLE) and "inputs must match" in str(refusal)


@pytest.mark.parametrize("name", G2P_MODELS)
def test_g2p_knows_a_dictionary_word(name, g2p_answers):
    import keras_seq2seq as ks

    references = {target for source, target in ks.load_dataset("cmudict") if source == "hello"}
    assert references, "the cmudict dataset lost the word 'hello'"
    assert g2p_answers[name]["load"][0] in references


@pytest.mark.parametrize("name", G2P_MODELS)
def test_g2p_answers_dictionary_words_as_cmudict_and_knows_no_test_word(name):
    import keras_seq2seq as ks
    from keras_seq2seq.decoding.lexicon import read_lexicon
    from keras_seq2seq.run_layout import lexicon_file

    version = _newest_version(name)
    first: dict[str, str] = {}  # each train or validation word's first pronunciation
    for split in ("train", "validation"):
        for word, phones in ks.load_dataset("cmudict", split):
            first.setdefault(word, phones)
    lexicon = dict(read_lexicon(lexicon_file(version)))
    assert lexicon == first
    test_words = {word for word, _ in ks.load_dataset("cmudict", "test")}
    assert not test_words & lexicon.keys()  # the card's test scores are the model's own
    card = json.loads((version / "model_card.json").read_text(encoding="utf-8"))
    assert card["lexicon"] == len(first)
    sample = sorted(first)[::1000]
    assert ks.load(SHIPPED / name).translate([w.upper() for w in sample]) == [
        first[w] for w in sample
    ]


def test_cli_prints_arpabet_for_the_small_model(arpabet):
    done = subprocess.run(
        [sys.executable, "-m", "keras_seq2seq.cli", "translate", "--model",
         "saved_models/cmudict-small", "hello", "tensorflow"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all(set(line.split()) <= arpabet and line for line in lines)
    assert done.stderr == ""


def test_a_shipped_model_loads_by_its_name_from_any_directory(tmp_path, monkeypatch, capsys):
    import keras_seq2seq as ks
    from keras_seq2seq.cli import main
    from keras_seq2seq.shipped import shipped_models

    assert {"dates", *G2P_MODELS} <= set(shipped_models())
    monkeypatch.chdir(tmp_path)  # no saved_models/ here
    assert ks.load("cmudict-small").translate("hello") == "HH AH L OW"  # its lexicon too
    capsys.readouterr()
    assert main(["translate", "--model", "dates", "March 3, 2021"]) == 0
    assert capsys.readouterr().out == "2021-03-03\n"
    # An unknown name says which names load; a directory of that name here wins.
    with pytest.raises(FileNotFoundError, match=r"not found: cmudict-big\. The shipped models "
                       r"load by name alone: .*cmudict-small.*dates"):  # fmt: skip
        ks.load("cmudict-big")
    (tmp_path / "dates").mkdir()
    with pytest.raises(FileNotFoundError, match=r"^dates is not a model directory"):
        ks.load("dates")
