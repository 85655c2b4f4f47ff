# `make demo` and `make test` do all set-up on a fresh machine: they create .venv when it is
# missing and install the package with its dev extras into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format clean bench-deps train-speed

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
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile tests

# Benchmark-only dependency: the PyTorch CPU build for benchmarks/peers (not the package's).
bench-deps: $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0

train-speed: bench-deps
	$(BIN)/python benchmarks/train_speed.py

lint: $(STAMP)
	$(BIN)/ruff check keras_seq2seq tests benchmarks
	$(BIN)/ruff format --check keras_seq2seq tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format keras_seq2seq tests benchmarks
	$(BIN)/ruff check --fix keras_seq2seq tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info
