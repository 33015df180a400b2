# Everyday targets. `make serve` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: install browser lock serve test test-fast lint format container-check bench clean

# constraints.txt pins every package to the tested version: pip then installs, never searches.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Debian's headless Chromium, where missing: the model-card tests open cards in a real browser.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

## Re-pin constraints.txt to what the venv holds (after changing pyproject.toml's dependencies).
lock: install
	$(BIN)/pip install --quiet -e '.[dev]'
	{ sed -n '1,/^$$/p' constraints.txt; $(BIN)/pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

## Train and publish the default model if ./registry is empty, then serve on 127.0.0.1:3000.
serve: install
	$(BIN)/ferry serve --bootstrap

## Lint, type-check and run the whole test suite.
test: install browser lint
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

## Skip the slow tests (full training runs, real servers).
test-fast: install
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/hadolint Dockerfile deploy/train.Dockerfile

## Build the image, run it on a trained model and check it (docker, else podman; needs root for podman):
## the pytest tests marked `container` (tests/e2e/test_container.py runs scripts/container_smoke.sh).
container-check: install
	$(BIN)/pytest -m container $(PYTEST_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Serving benchmark (ferry vs FastAPI + ORT vs BentoML), results under results/bench-serve;
## trains the tabular and digits models first where the registry lacks them.
bench: install
	@for m in tabular digits; do \
	  [ -d "$${FERRY_REGISTRY:-registry}/$$m" ] || $(BIN)/ferry train $$m || exit 1; \
	done
	$(BIN)/ferry bench serve

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
