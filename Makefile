# `make run` serves the API on SQLite; `make test` runs every check CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit screenshots bench bench-ab bench-export install clean

# The typed-client generator that tests/test_openapi.py drives has its own virtualenv (made by
# `unit`, not `install`): it pins an older typer than Orderly does.
CLIENT_GENERATOR := .venv-openapi/bin/openapi-python-client

$(BIN)/orderly: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(CLIENT_GENERATOR): requirements-openapi-client.txt
	$(PYTHON) -m venv .venv-openapi
	.venv-openapi/bin/pip install --quiet -r requirements-openapi-client.txt
	touch $@

install: $(BIN)/orderly

run: install
	$(BIN)/orderly serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install $(CLIENT_GENERATOR)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-redis.sh
	bash scripts/ensure-chromium.sh
	$(BIN)/pytest

test: lint typecheck unit

# Remake docs/screenshots/ (the tests take them on every run, into a temporary folder).
screenshots: install
	bash scripts/ensure-chromium.sh
	ORDERLY_TEST_BACKENDS=sqlite ORDERLY_TEST_SCREENSHOTS=$(CURDIR)/docs/screenshots \
		$(BIN)/pytest tests/web/test_pages.py -k TestScreenshots

bench: install
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-wrk.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

# BEFORE: a git ref to compare the working tree with (checked out into a temporary folder).
bench-ab: install
	bash scripts/ensure-wrk.sh
	rm -rf .bench-before && git worktree add --force --detach .bench-before $(BEFORE)
	$(BIN)/python -m bench.ab --before .bench-before $(BENCH_ARGS); \
	status=$$?; git worktree remove --force .bench-before; exit $$status

bench-export: install
	bash scripts/ensure-postgres.sh
	$(BIN)/python -m bench.export $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-openapi orderly.db orderly.db-wal orderly.db-shm orderly.db-writer.lock
