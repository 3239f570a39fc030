# The README's commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
BIN = $(VENV)/bin
PLUGINS = $(wildcard plugins/*/pyproject.toml)
STAMP = $(VENV)/.installed
# the suite in two processes (pytest-xdist), naming its 25 slowest steps; `make unit PYTEST_ARGS=tests/api/test_x.py` for one file
PYTEST_ARGS ?= -n 2 --dist worksteal --durations=25

.PHONY: install run demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml constraints.txt $(PLUGINS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt \
		-e '.[test]' $(foreach p,$(PLUGINS),-e '$(dir $(p))[test]')
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/hub up --host $(HOST) --port $(PORT)

# `make run` plus every plugin's provider emulator and a demo organization (docs/sandbox.md)
demo: $(STAMP)
	$(BIN)/hub up --sandbox --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
