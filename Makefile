# SupportDesk: `make run` (development server + Celery worker + beat), `make test` (the whole suite,
# as CI runs it), `make bench` (benchmarks). Each target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q --disable-pip-version-check

# The tests use their own database name and their own Redis database indexes, never the app's.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/supportdesk
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
TEST_REDIS_CACHE_URL ?= redis://127.0.0.1:6379/15
TEST_ENV := DJANGO_DEBUG=0 DJANGO_SECRET_KEY=test-only-secret-key-0123456789abcdefghijklmnopqrstuv \
	ID_NUMBER_HMAC_KEY=test-only-id-number-hmac-key-0123456789abcdef \
	DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0 \
	DJANGO_STATICFILES_STORAGE=django.contrib.staticfiles.storage.StaticFilesStorage \
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) REDIS_CACHE_URL=$(TEST_REDIS_CACHE_URL) \
	SITE_URL=http://testserver EMAIL_URL=consolemail://

# `make lint`: ruff (lint and format check) and djlint's template linter, settings in pyproject.toml.
.PHONY: lint run test bench install install-dev assets messages system-deps system-deps-test clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	$(VENV)/bin/pip check
	@touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed assets messages
install-dev: $(VENV)/.dev-installed assets messages

# Bootstrap comes from the npm registry, pinned by package-lock.json; it is served from our static files.
assets: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian packages: gettext (compilemessages) always; chromium for the browser tests.
system-deps:
	@command -v msgfmt >/dev/null || scripts/apt-install gettext
system-deps-test: system-deps
	@test -x /usr/bin/chromium && fc-list :lang=zh | grep -q . || scripts/apt-install chromium fonts-wqy-microhei

messages: system-deps | $(PY)
	@DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore='.venv/*' --ignore='node_modules/*' -v0

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint templates --lint
	$(VENV)/bin/lint-imports --no-cache

run: install
	@scripts/run-dev

test: system-deps-test install-dev
	@mkdir -p var/static
	$(TEST_ENV) $(PY) -m pytest

# Every bench/bench_*.py; BENCH=bench/bench_sla.py runs one file.
BENCH ?= $(sort $(wildcard bench/bench_*.py))
bench: install-dev
	@mkdir -p var/static
	$(TEST_ENV) $(PY) -m pytest -q -o python_files='bench_*.py' $(BENCH)

clean:
	rm -rf $(VENV) node_modules var/static test-artifacts
