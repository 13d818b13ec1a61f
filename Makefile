# emgdx — two commands do everything: `make run` (install + whole pipeline) and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1
export MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db

.PHONY: install install-serve run test check fuzz lint bench browser postgres clean

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

## postgres: Debian's PostgreSQL server binaries for the verdict-database tests (each test
## starts its own server on 127.0.0.1 in a temporary folder; nothing is left running)
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null)

## test: lint, format check, type check, then the whole test suite (what CI runs)
test: install browser postgres check
	$(BIN)/python -m pytest -q

## check: ruff (lint + format, no changes made) and mypy on the packages ([tool.mypy])
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## install-serve: only what the clinicians' server needs (no DVC, no Dask), in $(VENV)
install-serve:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[serve]"

## fuzz: the long fuzz run of the data boundary: hypothesis with random seeds (1,200 corrupted
## bundles, 300 hostile JSON documents, 700 requests to the upload page and the API), then the
## fixed corpus (1,282 bundles, 300 documents) with its counts; `make test` runs a smaller part
fuzz: install
	EMGDX_FUZZ=1 $(BIN)/python -m pytest -q tests/bundle/test_fuzz.py tests/app/test_fuzz_api.py
	$(BIN)/python -m tests.bundle.fuzzing --bundles 1282 --json 300

lint: check

bench: install
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.bench_e2e

clean:
	rm -rf data reports/*.json mlflow.db mlruns .pytest_cache
