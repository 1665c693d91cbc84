# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck unit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# torch is pinned first: a bare `torch` requirement would pull a multi-GB GPU build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install "torch==2.13.0"
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Scans the bundled examples: one clean checkpoint, one disguised pickle with a canary payload.
# `airlock scan` exits 1 because it finds the payload; that is the demo working.
demo: $(STAMP)
	@$(BIN)/airlock scan examples/models; status=$$?; \
	  echo; echo "airlock scan exited with $$status (0 = clean, 1 = findings at/above --fail-on, 2 = usage error)"; \
	  test $$status -le 1

unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples tools
	$(BIN)/ruff format --check src tests benchmarks examples tools

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/airlock

test: lint typecheck unit

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
