# Two commands do everything: `make run` and `make test`.
# Installs are pinned by constraints.txt (regenerate with `make lock`).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := constraints.txt
PIP    := $(BIN)/python -m pip install --quiet --constraint $(LOCK)

.PHONY: run test test-fast test-slow install install-test bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) -e ".[test,bench]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: install and run the built-in reference study into results/reference/ and its host-conditioning
##      (experimental metastasis) companion into results/gingis_velitski/
run: install
	$(BIN)/chemohost run --out results/reference
	$(BIN)/chemohost run src/chemohost/data/studies/gingis_velitski.yaml --out results/gingis_velitski

## test: install with the test extras and run the test suite (the slow scientific checks run in `make test-slow`)
test: install-test
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 -m "not slow" --durations=15

## test-slow: the slow scientific checks (CI runs them after `make test`)
test-slow: install-test
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 -m slow --durations=15

## bench: engine throughput against SciPy, diffrax and libRoadRunner (installs the bench extra)
bench: install-test
	$(BIN)/python benchmarks/bench_engine.py

## lock: regenerate constraints.txt for Python 3.11 on Linux x86_64 from pyproject's bounds
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra test --extra bench --python-version 3.11 \
	    --python-platform x86_64-manylinux_2_28 --upgrade -o $(LOCK)

clean:
	rm -rf $(VENV) results build src/*.egg-info
