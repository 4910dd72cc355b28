# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install run test lint lint-ruff lint-format lint-imports lint-types lint-migrations

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Sets up the virtualenv, migrates, seeds the demo data, then runs web (gunicorn on
# http://127.0.0.1:8000), one Celery worker and Celery beat in the foreground; Ctrl-C stops all.
run: install
	$(PY) scripts/run_platform.py $(RUN_ARGS)

# The same lint steps as .ci/run.
lint: lint-ruff lint-format lint-imports lint-types lint-migrations

lint-ruff: install
	$(VENV)/bin/ruff check .

lint-format: install
	$(VENV)/bin/ruff format --check .

lint-imports: install
	$(VENV)/bin/lint-imports

# mypy (django-stubs, djangorestframework-stubs): no error beyond .ci/mypy-baseline.txt.
lint-types: install
	$(PY) scripts/mypy_gate.py

lint-migrations: install
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
