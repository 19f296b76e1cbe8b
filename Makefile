# Tuijian: the two commands.
#   make demo   — set up a virtualenv, install, and run the main job on the embedded demo data
#   make test   — set up a virtualenv, install everything the tests need, and run the whole suite
SHELL := /bin/bash
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS ?= 1
export HF_HUB_OFFLINE := 1

.PHONY: demo test setup setup-test lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned to the CPU build, so nothing later drags in a CUDA build
setup: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[models,serve,nlp]"

setup-test: setup
	$(BIN)/pip install -q -e ".[models,serve,nlp,embeddings,browser,dev]"
	bash scripts/setup-services.sh
	bash scripts/setup-browser.sh

demo: setup
	$(BIN)/tuijian demo

lint:
	$(BIN)/ruff check src tests bench

test: setup-test lint
	bash scripts/run-tests.sh

clean:
	rm -rf $(VENV) var .pytest_cache
