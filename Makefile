# Blueprint: `make run` to try it, `make test` for the whole suite. GNU make.
#
# Every set-up step is a file target with a stamp, so a second run only does what changed:
# the venv is (re)installed when pyproject.toml is newer than its stamp, node_modules when
# package-lock.json is newer than its stamp, and `dot` (Graphviz) is installed only if missing (so is
# Java, for `make test`).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 8000
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# pytest workers: the suite, browser tests included, runs in two processes on two cores.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

# apt-get as root, through sudo otherwise; empty when there is no way to install system packages.
APT := $(shell if command -v apt-get >/dev/null 2>&1; then \
          if [ "$$(id -u)" = 0 ]; then echo apt-get; \
          elif command -v sudo >/dev/null 2>&1; then echo "sudo apt-get"; fi; fi)

.PHONY: help setup run test bench lint format clean dot pango java

help:
	@echo "make run    set up what is missing, migrate, load the demo once, serve on http://127.0.0.1:$(PORT)/"
	@echo "make test   set up, then the whole test suite (browser tests included)"
	@echo "make bench  board render and move-operation timings on a generated 20-stage, 500-offer blueprint;"
	@echo "            the exact lint of a 20-stage, 25-offer blueprint and its growth with offers per stage;"
	@echo "            then the live board under 30 WebSocket clients, on one worker and on two with Redis + PostgreSQL"
	@echo "            the diagram and spec exports of that blueprint;"
	@echo "            then decisions: in process against growthbook and rule-engine, DuckDB over 1,000,000 profiles, HTTP;"
	@echo "            the live socket's session check against Django's session store"
	@echo "make lint   ruff check, ruff format --check, mypy and the house's contracts (import-linter, tests/test_house.py)"
	@echo "make clean  remove caches, the venv stamp and bench results (keeps the database)"

# --- Set-up ---------------------------------------------------------------------------------

$(PY):
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 && [ -n "$(APT)" ]; then \
	  echo "Installing python3-venv"; $(APT) install -y python3-venv; fi
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

$(NODE_STAMP): package-lock.json package.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js 18 or newer (apt-get install nodejs npm)." >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

# Graphviz's `dot` draws the blueprint diagrams of the exports. Missing and not installable is a
# warning, not a failure: everything else works without it.
dot:
	@if ! command -v dot >/dev/null 2>&1; then \
	  if [ -n "$(APT)" ]; then \
	    echo "Installing Graphviz (dot)"; \
	    ( $(APT) install -y graphviz || { $(APT) update && $(APT) install -y graphviz; } ) \
	      || echo "WARNING: could not install Graphviz; diagram exports (svg, png, pdf) will not work." >&2; \
	  else \
	    echo "WARNING: 'dot' (Graphviz) is missing and apt-get is not available; install Graphviz for diagram exports." >&2; \
	  fi; \
	fi

# WeasyPrint prints the PDF spec with Pango (and needs a font); missing and not installable is a
# warning too: only format=pdf needs it.
PANGO_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
pango:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0'; then \
	  if [ -n "$(APT)" ]; then \
	    echo "Installing Pango for the PDF spec ($(PANGO_PACKAGES))"; \
	    ( $(APT) install -y $(PANGO_PACKAGES) || { $(APT) update && $(APT) install -y $(PANGO_PACKAGES); } ) \
	      || echo "WARNING: could not install Pango; the PDF spec (format=pdf) will not work." >&2; \
	  else \
	    echo "WARNING: Pango is missing and apt-get is not available; install $(PANGO_PACKAGES) for the PDF spec." >&2; \
	  fi; \
	fi

# Java runs Spark SQL, on which the tests run the SQL export (tests/decisioning/test_sql_engines.py);
# the app never needs it. Missing and not installable is a warning here; that test then says so.
java:
	@if ! command -v java >/dev/null 2>&1 && [ -z "$${JAVA_HOME:-}" ]; then \
	  if [ -n "$(APT)" ]; then \
	    echo "Installing Java for the Spark SQL tests (default-jdk-headless)"; \
	    ( $(APT) install -y default-jdk-headless || { $(APT) update && $(APT) install -y default-jdk-headless; } ) \
	      || echo "WARNING: could not install Java; the Spark SQL test will fail." >&2; \
	  else \
	    echo "WARNING: Java is missing and apt-get is not available; install Java 17 or newer for the Spark SQL test." >&2; \
	  fi; \
	fi

setup: $(PY_STAMP) $(NODE_STAMP) dot pango

# --- The two commands -----------------------------------------------------------------------

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo
	@echo "  Blueprint is at http://127.0.0.1:$(PORT)/"
	@echo "  Log in at http://127.0.0.1:$(PORT)/accounts/login/ as owner, editor, approver or viewer; password: demo"
	@echo "  Stop with Ctrl-C."
	@echo
	exec $(PY) manage.py serve --port $(PORT)

test: setup java
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# --- Development ----------------------------------------------------------------------------

# Every bench runs even when an earlier one misses a goal; the target fails if any does.
bench: $(PY_STAMP) $(NODE_STAMP)
	status=0; \
	$(PY) bench/board.py || status=$$?; \
	$(PY) bench/lint.py || status=$$?; \
	$(PY) bench/exports.py || status=$$?; \
	$(PY) bench/decide.py || status=$$?; \
	$(PY) bench/neighbour.py || status=$$?; \
	$(PY) bench/live.py --seconds 60 || status=$$?; \
	$(PY) bench/session.py || status=$$?; \
	exit $$status

# The house's contracts too: the import contracts of pyproject.toml and the rules tests/test_house.py
# reads from the source (docs/architecture.md, "Contracts").
lint: $(PY_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy blueprint decisioning
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/test_house.py

format: $(PY_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis test-results bench/results staticfiles
	rm -f $(PY_STAMP) $(NODE_STAMP)
	find . -path ./.venv -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
