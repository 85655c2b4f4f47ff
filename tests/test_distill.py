"""Knowledge distillation end to end on a toy task, with tiny models.

The task maps each letter of a short string to the next one (a→b, …, f→a). The teacher was
trained on a variant with one systematic difference (it keeps `a` as `a`), so it disagrees
with the references in a learnable, deterministic way: a student trained on the teacher's
outputs must reproduce that rule, and one trained on the references cannot.
"""

import json
import random
import re
import shutil

import numpy as np
import pytest

from keras_seq2seq.cli import main
from keras_seq2seq.config import ModelConfig, TextConfig, TrainConfig
from keras_seq2seq.data.pipeline import encode_pairs, make_dataset
from keras_seq2seq.decoding.translator import load
from keras_seq2seq.models import build_model
from keras_seq2seq.progress import Progress
from keras_seq2seq.serving.model_card import format_model_card, model_card
from keras_seq2seq.training.distill import distill
from keras_seq2seq.training.distill_loss import DistillationModel, Teacher
from keras_seq2seq.training.fit import compile_model, train
from keras_seq2seq.training.run_dir import load_run
from keras_seq2seq.training.teacher_pass import run_teacher_pass

pytestmark = pytest.mark.slow

LETTERS = "abcdef"
REFERENCE = dict(zip(LETTERS, "bcdefa", strict=True))
TEACHER_RULE = {**REFERENCE, "a": "a"}  # the teacher's systematic difference
TEXT = TextConfig(max_length=8)
FAST = {"batch_size": 32, "learning_rate": 0.02, "patience": 0}
STUDENT = {"units": 16, "embedding_dim": 16}


def sources(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 4))) for _ in range(count)]


def labelled(texts: list[str], rule: dict[str, str]) -> list[tuple[str, str]]:
    return [(text, "".join(rule[char] for char in text)) for text in texts]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("distill") / "teacher"
    train(
        labelled(sources(1500, seed=0), TEACHER_RULE),
        run_dir,
        validation_pairs=labelled(sources(50, seed=1), TEACHER_RULE),
        model_options=STUDENT,
        source_text=TEXT,
        target_text=TEXT,
        train_config=TrainConfig(epochs=6, **FAST),
        verbose=0,
    )
    return run_dir


def agreement(outputs: list[str], expected: list[str]) -> float:
    return float(np.mean([a == b for a, b in zip(outputs, expected, strict=True)]))


def test_sequence_student_agrees_with_teacher_more_than_reference_student(teacher, tmp_path):
    references = labelled(sources(1000, seed=3), REFERENCE)
    budget = {"model_options": STUDENT, "train_config": TrainConfig(epochs=4, **FAST)}
    # No validation pairs: both students keep the epoch of lowest training loss, on their
    # own data, with the same model, data size, epochs and seed.
    result = distill(teacher, references, tmp_path / "sequence", validation_pairs=[],
                     verbose=0, **budget)  # fmt: skip
    train(references, tmp_path / "references", validation_pairs=[], source_text=TEXT,
          target_text=TEXT, verbose=0, **budget)  # fmt: skip

    seen = {source for source, _ in references}
    held_out = [text for text in dict.fromkeys(sources(600, seed=7)) if text not in seen]
    assert len(held_out) >= 50
    by_teacher = load(teacher).translate(held_out)
    with_a = [i for i, text in enumerate(held_out) if "a" in text]
    # The teacher follows its own rule (the comparison below can go either way).
    teacher_rule = [target for _, target in labelled([held_out[i] for i in with_a], TEACHER_RULE)]
    assert agreement([by_teacher[i] for i in with_a], teacher_rule) >= 0.8
    distilled = agreement(load(result.run_dir).translate(held_out), by_teacher)
    plain = agreement(load(tmp_path / "references").translate(held_out), by_teacher)
    assert distilled >= plain + 0.2, f"agreement with the teacher: {distilled:.2f} vs {plain:.2f}"

    assert result.teacher_pass.reused == 0 and result.teacher_pass.refused == 0
    assert len(result.teacher_pass.outputs) == len(seen)
    assert (result.run_dir / "distill" / "teacher_outputs.tsv").is_file()
    record = json.loads((result.run_dir / "distill.json").read_text())
    assert record["mode"] == "sequence" and record["teacher_beam_width"] == 4
    assert record["teachers"][0]["path"] == str(teacher)
    card = format_model_card(model_card(result.run_dir))
    assert re.search(rf"distilled from +{re.escape(str(teacher))} \(rnn\); sequence-level", card)


class _CountingTranslator:
    """Decodes with a real teacher, counting sources; raises KeyboardInterrupt after `calls`."""

    def __init__(self, translator, calls: int | None = None):
        self.translator, self.calls, self.decoded = translator, calls, 0

    def decode(self, texts, options, **keywords):
        if self.calls is not None:
            if self.calls == 0:
                raise KeyboardInterrupt
            self.calls -= 1
        self.decoded += len(texts)
        return self.translator.decode(texts, options, **keywords)


def test_teacher_pass_resumes_after_the_last_complete_chunk(teacher, tmp_path):
    texts = list(dict.fromkeys(sources(80, seed=11)))[:40]
    translator = load(teacher)
    settings = {"beam_width": 2, "batch_size": 5, "chunk_size": 10,
                "report": Progress(enabled=False)}  # fmt: skip
    key = {"teachers": [str(teacher)]}
    cache = tmp_path / "distill"
    with pytest.raises(KeyboardInterrupt):  # killed during the second chunk
        run_teacher_pass(_CountingTranslator(translator, calls=3), texts, cache, key, **settings)
    with open(cache / "teacher_outputs.tsv", "a", encoding="utf-8") as handle:
        handle.write("half a chunk\twritten when")  # what a kill mid-write leaves

    counting = _CountingTranslator(translator)
    resumed = run_teacher_pass(counting, texts, cache, key, **settings)
    assert (resumed.reused, counting.decoded) == (10, 30)
    assert resumed.outputs == translator.translate(texts, beam_width=2)
    lines = (cache / "teacher_outputs.tsv").read_text(encoding="utf-8").splitlines()
    assert lines == [f"{s}\t{o}" for s, o in zip(texts, resumed.outputs, strict=True)]

    finished = _CountingTranslator(translator, calls=0)  # a finished pass decodes nothing
    again = run_teacher_pass(finished, texts, cache, key, **settings)
    assert (again.reused, again.outputs) == (40, resumed.outputs)
    with pytest.raises(ValueError, match=r"another distillation \(differing in beam_width\)"):
        run_teacher_pass(finished, texts, cache, key, **{**settings, "beam_width": 3})
    with pytest.raises(ValueError, match=r"differing in sources, sources_sha256"):
        run_teacher_pass(finished, texts[:20], cache, key, **settings)


def _batch(run, pairs):
    encoded = encode_pairs(pairs, source_tokenizer=run.source_tokenizer,
                           target_tokenizer=run.target_tokenizer, max_source_length=8,
                           max_target_length=8)  # fmt: skip
    return make_dataset(encoded, batch_size=len(pairs), shuffle=False, bucket=False)


def _loss(model, data) -> float:
    compile_model(model, TrainConfig())
    return float(model.evaluate(data, verbose=0, return_dict=True)["loss"])


def test_token_level_loss_mixes_cross_entropy_and_kl_divergence(teacher):
    run = load_run(teacher)
    data = _batch(run, labelled(sources(64, seed=9), REFERENCE))
    sizes = (run.config.model.source_vocabulary_size, run.config.model.target_vocabulary_size)
    config = ModelConfig(*sizes, units=8, embedding_dim=4)
    student = build_model(config)
    cross_entropy = _loss(student.training, data)
    (source, target_in), target_out = next(iter(data))
    teacher_log_probs = run.model.teacher_forced_log_probs(source, target_in).numpy()
    logits = student.training([source, target_in], training=False).numpy()
    student_log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per_position = (np.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs)).sum(-1)
    kl = per_position[target_out.numpy() != 0].mean()
    assert kl > 0.1

    plain = _loss(DistillationModel(student.training, Teacher([run.model]), 0.0), data)
    mixed = _loss(DistillationModel(student.training, Teacher([run.model]), 0.3), data)
    assert plain == pytest.approx(cross_entropy, rel=1e-6)
    assert mixed == pytest.approx(0.7 * cross_entropy + 0.3 * kl, rel=1e-4)
    assert abs(mixed - cross_entropy) > 1e-3
    # The teacher as its own student: no divergence at all.
    itself = DistillationModel(load_run(teacher).model.training, Teacher([run.model]), 1.0)
    assert _loss(itself, data) == pytest.approx(0.0, abs=1e-5)
    # An ensemble of one model twice is that model (the mean of equal probabilities).
    doubled = Teacher([run.model, run.model]).log_probs(source, target_in).numpy()
    np.testing.assert_allclose(doubled, teacher_log_probs, atol=1e-5)


def test_cli_distills_token_level_into_a_plain_student(teacher, tmp_path, capsys):
    data = tmp_path / "train.tsv"
    data.write_text("".join(f"{s}\t{t}\n" for s, t in labelled(sources(200, 5), REFERENCE)))
    output = tmp_path / "student"
    argv = ["distill", "--teacher", str(teacher), "--data", str(data), "--output", str(output),
            "--distill", "token", "--kd-weight", "0.7", "--epochs", "1", "--units", "8",
            "--embedding-dim", "4", "--batch-size", "64", "--intra-op-threads", "0"]  # fmt: skip
    assert main(argv) == 0
    assert "Distilled from 1 teacher model(s)" in capsys.readouterr().out
    student, taught = load_run(output), load_run(teacher)
    assert student.config.model.units == 8  # a plain model.keras, loaded without the teacher
    assert student.target_tokenizer.vocabulary == taught.target_tokenizer.vocabulary
    assert student.config.source_text == taught.config.source_text
    assert not (output / "distill" / "teacher_outputs.tsv").exists()  # token-level: no pass
    record = json.loads((output / "distill.json").read_text())
    assert (record["mode"], record["kd_weight"], record["teacher_outputs"]) == ("token", 0.7, None)
    assert len(json.loads((output / "history.json").read_text())["loss"]) == 1
    assert main(["info", str(output)]) == 0
    assert f"{teacher} (rnn); token-level" in capsys.readouterr().out


def test_both_modes_train_on_the_teacher_outputs_beside_the_references(teacher, tmp_path):
    references = labelled(sources(120, seed=6), REFERENCE)
    result = distill([teacher, teacher], references, tmp_path / "both", mode="both",
                     keep_references=True, validation_pairs=references[:10],
                     model_options={"units": 8, "embedding_dim": 4},
                     train_config=TrainConfig(epochs=1, batch_size=64), verbose=0)  # fmt: skip
    assert result.num_train_examples == 2 * len(references)
    assert result.teachers == [teacher, teacher]
    assert load_run(result.run_dir).target_tokenizer.vocabulary == (
        load_run(teacher).target_tokenizer.vocabulary
    )
    cached = (result.run_dir / "distill" / "teacher_outputs.tsv").read_text().splitlines()
    assert len(cached) == len(set(source for source, _ in references))
    record = json.loads((result.run_dir / "distill.json").read_text())
    assert (record["mode"], record["kd_weight"], record["student_pairs"]) == ("both", 0.5, 240)


def _swapped_vocabulary(teacher, tmp_path):
    """A copy of the teacher whose source vocabulary has two tokens swapped."""
    other = tmp_path / "other"
    shutil.copytree(teacher, other)
    lines = (other / "source_vocab.txt").read_text(encoding="utf-8").splitlines()
    lines[-1], lines[-2] = lines[-2], lines[-1]
    (other / "source_vocab.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return other


def test_bad_inputs_raise_clear_errors(teacher, tmp_path):
    pairs = labelled(sources(20, seed=1), REFERENCE)
    output = tmp_path / "student"
    with pytest.raises(FileNotFoundError, match=r"Teacher not found: .*nothing"):
        distill(tmp_path / "nothing", pairs, output, verbose=0)
    with pytest.raises(ValueError, match=r"share their source tokenizer"):
        distill([teacher, _swapped_vocabulary(teacher, tmp_path)], pairs, output, verbose=0)
    with pytest.raises(ValueError, match=r"`kd_weight` must be in \[0, 1\].*kd_weight=1.5"):
        distill(teacher, pairs, output, mode="token", kd_weight=1.5, verbose=0)
    with pytest.raises(ValueError, match=r"`mode` must be one of sequence, token, both"):
        distill(teacher, pairs, output, mode="words", verbose=0)
    with pytest.raises(ValueError, match=r"the source `tokenizer` must be the teacher's"):
        distill(teacher, pairs, output, mode="token", source_text=TextConfig(tokenizer="word"),
                verbose=0)  # fmt: skip
    with pytest.raises(ValueError, match=r"student with copy attention"):
        distill(teacher, pairs, output, mode="both", model_options={"copy_attention": True},
                verbose=0)  # fmt: skip
    with pytest.raises(ValueError, match=r"would overwrite the teacher"):
        distill(teacher, pairs, teacher, verbose=0)
    assert not output.exists()


def test_cli_bad_inputs_are_one_line_errors(tmp_path, capsys):
    data = tmp_path / "train.tsv"
    data.write_text("ab\tbc\n")
    base = ["distill", "--data", str(data), "--output", str(tmp_path / "out"),
            "--intra-op-threads", "0"]  # fmt: skip
    assert main([*base, "--teacher", str(tmp_path / "missing")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith("keras-seq2seq distill: error: Teacher not found:")
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--teacher", "x", "--kd-weight", "1.5"])
    assert exit_info.value.code == 2
    assert "expected a number in [0, 1], got 1.5" in capsys.readouterr().err
