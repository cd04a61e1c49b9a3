# Pair-Up: `make run` serves the demo, `make test` runs lint and the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	DJANGO_DEBUG=True $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=True $(BIN)/python manage.py collectstatic --noinput -v 0
	DJANGO_DEBUG=True PAIRUP_SITE_URL=http://127.0.0.1:$(PORT) $(BIN)/python manage.py seed_demo
	@# The background worker (emails, reminders) runs beside daphne and stops
	@# with it, whichever way daphne ends (Ctrl-C included). Both mail and
	@# serve links to this address (PAIRUP_SITE_URL).
	export DJANGO_DEBUG=True PAIRUP_SITE_URL=http://127.0.0.1:$(PORT); \
	$(BIN)/python manage.py run_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python -m daphne -b 127.0.0.1 -p $(PORT) pairup.asgi:application

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Two workers (pytest-xdist): the suite is mostly one busy core otherwise.
# TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
