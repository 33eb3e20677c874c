# `make run` serves the API on SQLite; `make test` runs every check CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit bench bench-export install clean

$(BIN)/orderly: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/orderly

run: install
	$(BIN)/orderly serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	bash scripts/ensure-postgres.sh
	$(BIN)/pytest

test: lint typecheck unit

bench: install
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-wrk.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-export: install
	bash scripts/ensure-postgres.sh
	$(BIN)/python -m bench.export $(BENCH_ARGS)

clean:
	rm -rf $(VENV) orderly.db orderly.db-wal orderly.db-shm orderly.db-writer.lock
