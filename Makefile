# Two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## run: install and run the built-in reference study into results/reference/ and its host-conditioning
##      (experimental metastasis) companion into results/gingis_velitski/
run: install
	$(BIN)/chemohost run --out results/reference
	$(BIN)/chemohost run src/chemohost/data/studies/gingis_velitski.yaml --out results/gingis_velitski

## test: install with the test extras and run the test suite
test: install-test
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2

## bench: engine throughput against SciPy and diffrax (installs the bench extra)
bench: install
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) results build src/*.egg-info
