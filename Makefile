# The two commands of the quick start are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test lint bench docs assets messages chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: the engine on embedded defaults (PostgreSQL, Temporal dev server, worker)
run: $(STAMP)
	$(BIN)/ifss dev

## chromium: Debian's Chromium for the browser tests, installed when missing (as root, with apt-get)
chromium:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get install -y -q chromium >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	    echo "note: chromium could not be installed: the browser tests will be skipped"; \
	  else echo "note: no chromium (apt-get install -y chromium): the browser tests will be skipped"; fi; }

## test: the whole suite against real PostgreSQL and Temporal, in two processes (exit 5, "nothing selected", is not a failure)
test: $(STAMP) chromium
	@$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests selected"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .

bench: $(STAMP)
	$(BIN)/python bench/store.py
	$(BIN)/python bench/lifecycle.py
	$(BIN)/python bench/projections.py
	$(BIN)/python bench/alerts.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/report.py

docs: $(STAMP)
	$(BIN)/ifss docs events
	$(BIN)/ifss docs lifecycle
	$(BIN)/ifss docs reports

## assets: refresh the vendored GOV.UK Frontend and htmx files under web/static/ from npm
assets:
	bash web/assets/refresh.sh

## messages: the pages' strings into web/translations/messages.pot, merged into each language's .po
messages: $(STAMP)
	$(BIN)/pybabel extract -F web/babel.cfg -k N_ -k _ -k CommandRejected:2 -k TeamRefusal:2 -k require_phase:3 -k require_role:3 --no-location --omit-header --sort-output -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations -D messages --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
