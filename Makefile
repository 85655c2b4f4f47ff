# `make demo` and `make test` do all set-up on a fresh machine: they create .venv when it is
# missing and install the package with its dev extras into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format clean bench-deps train-speed serving-check

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m keras_seq2seq.demo

test: $(STAMP)
	$(BIN)/ruff check keras_seq2seq tests benchmarks
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=30 tests

# Benchmark-only dependency: the PyTorch CPU build for benchmarks/peers (not the package's).
bench-deps: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0

train-speed: bench-deps
	$(BIN)/python benchmarks/train_speed.py

# The versions stock TF Serving 2.20 links, in an environment of their own: every shipped model
# must load there, answer on every signature and replay its warm-up records
# (tools/serving_check.py imports nothing else). tensorflow-serving-api gives the real
# PredictionLog classes; it accepts any TensorFlow 2.x >= 2.20, so pinning tensorflow in the same
# command keeps 2.20.0 (the check prints the versions it ran with).
SERVING_VENV := .venv-serving
SERVING_STAMP := $(SERVING_VENV)/.installed
SERVING_PACKAGES := tensorflow==2.20.0 tensorflow-text==2.20.0 tensorflow-serving-api==2.20.*

$(SERVING_STAMP): Makefile
	test -x $(SERVING_VENV)/bin/python || $(PYTHON) -m venv $(SERVING_VENV)
	$(SERVING_VENV)/bin/python -m pip install --quiet $(SERVING_PACKAGES)
	touch $(SERVING_STAMP)

serving-check: $(SERVING_STAMP)
	$(SERVING_VENV)/bin/python tools/serving_check.py saved_models/*/

lint: $(STAMP)
	$(BIN)/ruff check keras_seq2seq tests benchmarks
	$(BIN)/ruff format --check keras_seq2seq tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format keras_seq2seq tests benchmarks
	$(BIN)/ruff check --fix keras_seq2seq tests benchmarks

clean:
	rm -rf $(VENV) $(SERVING_VENV) build dist *.egg-info
