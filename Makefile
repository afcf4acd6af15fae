# Quick start:  make demo   (set up + grade the bundled sample submissions)
#               make test   (set up + run the test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO   ?= demo-output

.PHONY: setup demo test lint verify-reference real-run clean

$(BIN)/w2v-grader: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m compileall -q grader reference  # bytecode even where PYTHONDONTWRITEBYTECODE is set
	@touch $@

setup: $(BIN)/w2v-grader

demo: setup
	$(BIN)/python -m grader.corpus build/corpus
	$(BIN)/w2v-grader batch build/corpus --out $(DEMO)
	@echo "Open $(DEMO)/index.html for the class dashboard."

test: setup
	$(BIN)/python -m pytest -q -n 2

lint: setup
	$(BIN)/ruff check grader reference tests benchmarks

verify-reference: setup
	$(BIN)/w2v-grader verify-reference

real-run: setup
	$(BIN)/python benchmarks/verify_real_runs.py

clean:
	rm -rf $(VENV) build $(DEMO) test-artifacts
