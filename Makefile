# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck install clean bench messages

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hygie demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole suite: lint, types, then tests on SQLite and on PostgreSQL (see tests/conftest.py).
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -q

# The pages' strings: extract them (French source) and merge them into the English
# catalogue; new strings then need their translation (tests/web/test_catalogue.py says which).
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ --sort-output --add-location=never -o /tmp/hygie-messages.pot .
	$(BIN)/pybabel -q update -N --ignore-obsolete -i /tmp/hygie-messages.pot -d src/hygie/web/locale -l en

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
