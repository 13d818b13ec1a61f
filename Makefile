# emgdx — two commands do everything: `make run` (install + whole pipeline) and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db

.PHONY: install run test fuzz lint bench browser clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## run: install, then the whole pipeline on the embedded defaults (simulate -> ... -> register)
run: install
	@test -d .git || git init -q
	@test -d .dvc || ($(BIN)/dvc init -q && $(BIN)/dvc config core.analytics false && $(BIN)/dvc config core.check_update false)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dvc repro

## browser: Debian's Chromium for the Playwright tests (no browser download)
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null)

## test: lint + the whole test suite
test: install browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

## fuzz: the long fuzz run of the data boundary: hypothesis with random seeds (1,200 corrupted
## bundles, 300 hostile JSON documents, 700 requests to the upload page and the API), then the
## fixed corpus (1,282 bundles, 300 documents) with its counts; `make test` runs a smaller part
fuzz: install
	EMGDX_FUZZ=1 $(BIN)/python -m pytest -q tests/bundle/test_fuzz.py tests/app/test_fuzz_api.py
	$(BIN)/python -m tests.bundle.fuzzing --bundles 1282 --json 300

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.bench_e2e

clean:
	rm -rf data reports/*.json mlflow.db mlruns .pytest_cache
