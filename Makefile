# TrustCart — the two commands: `make demo` and `make test`.
# Both create .venv in the repo root and install the project from pyproject.toml, with every
# dependency pinned by constraints.txt (regenerate with `make lock`).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint check install dev lock bench docs reference gpp clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	@touch $@

# pycanon (the independent oracle of the anonymity tests) pins exact versions of typer, numpy
# and pandas that conflict with ours; the part the tests use needs only numpy and pandas, so it
# is installed without its declared dependencies.
PYCANON := pycanon==1.3.6

# The spark extra (PySpark, ~470 MB, built from the PyPI sdist: ~2 min the first time, then
# from pip's wheel cache) is part of the dev install: the tests under marker `spark` run the
# audits on Spark in local mode and fail, not skip, without it. The mysql extra (PyMySQL, pure
# Python) is too: the rights connector tests run on a MariaDB shop database (marker `mariadb`).
$(VENV)/.installed-dev: pyproject.toml constraints.txt Makefile | $(BIN)/python
	$(PIP) -e '.[dev,spark,mysql]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps '$(PYCANON)'
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-docs: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[docs]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## make demo: install and run the StyleSense demo on the embedded default (SQLite + DuckDB)
demo: $(VENV)/.installed
	$(BIN)/trustcart demo

# js/gpp: IAB's GPP library (bundled into the embed's gpp.js; the tests decode with it) and
# esbuild, exactly as js/gpp/package-lock.json pins them.
NPM_GPP := js/gpp/node_modules/.package-lock.json
$(NPM_GPP): js/gpp/package.json js/gpp/package-lock.json
	cd js/gpp && npm ci --no-audit --no-fund
	@touch $@

## make gpp: rebuild src/trustcart/web/static/gpp.js from js/gpp (entry.js + the locked library)
gpp: $(NPM_GPP)
	cd js/gpp && node build.mjs

## make test: install with dev extras and run the whole test suite
test: $(VENV)/.installed-dev $(NPM_GPP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make lint: ruff and mypy --strict on src/
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy --strict src

check: lint test

## make lock: re-pin constraints.txt from a fresh resolution of pyproject.toml
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e '.[dev,spark,mysql]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^trustcart' > constraints.txt
	rm -rf .lock-venv

## make bench: run every bench/*.py (sizes in bench/_run.py) and write bench/RESULTS.md
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/_run.py

## make docs: build the documentation site into site/ (open site/index.html)
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## make reference: regenerate docs/cli.md, docs/http.md and the package table of
## docs/architecture.md from the code (a test fails when they are stale)
reference: $(VENV)/.installed
	$(BIN)/python scripts/gen_reference.py

clean:
	rm -rf $(VENV) trustcart-demo site .pytest_cache .mypy_cache .ruff_cache js/gpp/node_modules
