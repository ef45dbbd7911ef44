# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

.PHONY: install run worker prod-shape test lint typecheck pytest schema client bench clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "uv==$(UV_VERSION)"

install: $(BIN)/uv
	$(BIN)/uv sync --frozen --all-extras --quiet

run: install
	$(BIN)/audiocity serve

worker: install
	$(BIN)/audiocity worker

# N API and M worker processes on DATABASE_URL / REDIS_URL, files on a GCS emulator (see docs/deploy.md).
prod-shape: install
	scripts/production-shape.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

schema: install
	$(BIN)/audiocity export-schema > schema.graphql

# ariadne-codegen needs an older graphql-core than the server, so it runs in its own tool environment.
CODEGEN := $(BIN)/uv tool run --quiet --from "ariadne-codegen==0.19.0" ariadne-codegen

client: schema
	cd client && ../$(CODEGEN) --config codegen.toml

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
