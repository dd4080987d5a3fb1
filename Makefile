# Two commands on a fresh machine: `make demo` (the seed's pipeline end to end) and `make test` (lint, types, tests).
# Both install what they need first, into .venv inside the checkout (uv for speed, pinned by constraints.txt).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo test bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4,<1"
	$(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/airbricks demo

# Lint, format and types first (seconds), then the suite.
LINTED := src tests benchmarks scripts docs examples
test: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/workspace_api.py

clean:
	rm -rf .demo .pytest_cache
