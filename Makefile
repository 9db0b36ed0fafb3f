# The exposure registry. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REGISTRY := $(BIN)/registry
export REGISTRY_INSTANCE ?= instance

.DEFAULT_GOAL := help
.PHONY: help install run data browser axe test test-fast crash-sweep lint format bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install the registry with its test tools

data: install ## Create the databases, load the seed data and publish it (idempotent)
	$(REGISTRY) init
	$(REGISTRY) seed
	$(REGISTRY) publish

run: data ## Serve the intake app (:5000) and Datasette (:8001); PORT=, DATASETTE_PORT= to change
	$(REGISTRY) serve $(if $(PORT),--port $(PORT)) $(if $(DATASETTE_PORT),--datasette-port $(DATASETTE_PORT))

browser: install ## Give the browser tests a Chromium: apt-get as root, else Playwright's download
	scripts/ensure-browser

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

axe: node_modules/.installed ## Install axe-core (npm) for the accessibility checks the browser tests run in each page

test: install browser axe ## Run the whole test suite (several minutes)
	$(BIN)/pytest

test-fast: install ## Run the tests not marked slow (no servers, browsers or large data), on every core
	$(BIN)/pytest -m "not slow" -n auto

crash-sweep: install ## Kill approvals, withdrawals and publishes before every write (SECURITY.md's table; about 20 minutes)
	REGISTRY_CRASH_SWEEP=full $(BIN)/pytest tests/test_publication_crash.py -s

lint: install ## Check style with ruff and types with mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install ## Run the benchmarks (see README; several minutes)
	$(BIN)/python benchmarks/facet_shape.py --rows 200000
	$(BIN)/python benchmarks/import_speed.py --rows 1000000
	$(BIN)/python benchmarks/pages.py --rows 1000000 --stock-repeats 3
	$(BIN)/python benchmarks/load.py --seconds 60

docs: install ## Build the documentation site into .site/ (strict: a broken link fails)
	$(BIN)/mkdocs build --strict --site-dir .site
.PHONY: docs

clean: ## Remove .venv (the instance folder with your data stays)
	rm -rf $(VENV)
