# Tuijian: the two commands.
#   make demo   — set up a virtualenv, install, and run the main job on the embedded demo data
#   make test   — set up a virtualenv, install everything the tests need (the `llm` extra included: its
#                 llama-cpp-python wheel is compiled once, ~8 min, and cached), and run the whole suite
SHELL := /bin/bash
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export OPENBLAS_NUM_THREADS ?= 1
export HF_HUB_OFFLINE := 1

LOCK := requirements/lock.txt
LOCK_DEMO := requirements/lock-demo.txt

.PHONY: demo test setup setup-test lint lock clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q "$$(grep -m1 '^pip==' $(LOCK))"

# Every package comes from a lock file with exact versions (torch pinned to its CPU build), so every
# machine gets the same environment; tuijian itself goes on top, editable, resolving nothing.
# `make lock` regenerates both lock files after a dependency change in pyproject.toml.
setup: $(BIN)/python
	$(BIN)/pip install -q -r $(LOCK_DEMO)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/pip check

setup-test: $(BIN)/python
	$(BIN)/pip install -q -r $(LOCK)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	bash scripts/setup-services.sh
	bash scripts/setup-browser.sh
	bash scripts/setup-java.sh
	bash scripts/build-llm-wheel.sh

lock:
	PY=$(PY) bash scripts/lock.sh

demo: setup
	$(BIN)/tuijian demo

# ruff, then mypy over src/ ([tool.mypy] in pyproject.toml), both with zero errors; then pip-audit over the
# installed packages (scripts/audit-deps.sh: fails on a known vulnerability; says loudly when no vulnerability
# service is reachable, and then fails only with AUDIT_STRICT=1)
lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	bash scripts/audit-deps.sh

test: setup-test lint
	bash scripts/run-tests.sh

clean:
	rm -rf $(VENV) var .pytest_cache
