# csplatform: the commands a developer and CI run. See README.md.
#
#   make demo           environment, SQLite database, demo data, site on 127.0.0.1:8000 (PORT=8123: another port)
#   make test           environment, system packages, ruff, migrations check, pytest
#   make messages       compile the translation catalogues (locale/*/LC_MESSAGES/*.po to .mo)
#   make messages-update  refresh the catalogues from the code (makemessages) and list what is untranslated
#   make services       PostgreSQL 15 and Redis on loopback, data under var/services/
#   make services-stop  stop them
#   make stack          migrations, gunicorn, Celery worker and beat against those services (Procfile)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MANAGE := $(PY) manage.py
# Rebuilt only when pyproject.toml is newer than the last install.
ENV_STAMP := $(VENV)/.installed

PG_PORT ?= 54329
REDIS_PORT ?= 63799
export PG_PORT REDIS_PORT

.PHONY: help env demo demo-port test lint system-deps services services-stop services-status stack messages messages-update

help:
	@sed -n 's/^#   //p' Makefile

env: $(ENV_STAMP) messages

# The catalogues are committed as .po; their .mo are built here (msgfmt, from gettext), and
# only when a .po is newer. --check refuses a catalogue whose placeholders do not match.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

messages: $(MO_FILES)

%.mo: %.po
	@command -v msgfmt >/dev/null || { echo "make messages: msgfmt missing: apt-get install gettext" >&2; exit 1; }
	msgfmt --check --statistics -o $@ $<

# After code changes (and merges): every msgid of the templates, Python and static/js into
# the catalogues (obsolete ones dropped), then the entries still to translate or fuzzy.
MAKEMESSAGES_IGNORES := -i ".venv/*" -i "var/*" -i "staticfiles/*" -i "tests/*" -i "static/vendor/*" -i "test-artifacts/*"

messages-update: env
	DJANGO_SETTINGS_MODULE=csplatform.settings.test $(MANAGE) makemessages -l pt_BR --no-obsolete $(MAKEMESSAGES_IGNORES)
	DJANGO_SETTINGS_MODULE=csplatform.settings.test $(MANAGE) makemessages -l pt_BR --no-obsolete -d djangojs $(MAKEMESSAGES_IGNORES)
	$(PY) scripts/untranslated.py

$(ENV_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

# The demo's environment: the runtime dependencies only (no test tools, no editable build of
# the project: manage.py runs from the checkout), byte-compiled on both cores and without the
# packages' own test suites (pip compiles every file on one core). A full `make env` covers
# the demo too, so after one nothing is installed.
DEMO_STAMP := $(VENV)/.installed-demo
DEMO_REQUIREMENTS := import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))

$(DEMO_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if [ ! $(ENV_STAMP) -nt pyproject.toml ]; then \
		$(PY) -c '$(DEMO_REQUIREMENTS)' > $(VENV)/demo-requirements.txt; \
		echo "$(PY) -m pip install --no-compile -r $(VENV)/demo-requirements.txt"; \
		$(PY) -m pip install --quiet --disable-pip-version-check --no-compile \
			-r $(VENV)/demo-requirements.txt; \
		$(PY) -m compileall -q -j 0 -x '/tests/' $(VENV)/lib; \
	fi
	@touch $@

# The embedded default: SQLite in var/, Celery tasks in-process, DEBUG off so errors are the
# product's pages (whitenoise serves static files straight from the apps and static/, so no
# collectstatic is needed; `make demo DJANGO_DEBUG=true` for Django's debug pages). The logins
# are printed last, by demo_backfill, right before the server starts.
HOST := 127.0.0.1
PORT ?= 8000

demo: export DJANGO_SETTINGS_MODULE := csplatform.settings.local
demo: export DJANGO_DEBUG ?= false
# links in emails (invitations, password resets, the digest) point at the port the demo serves
demo: export CSPLATFORM_SITE_URL ?= http://$(HOST):$(PORT)
demo: demo-port $(DEMO_STAMP) messages
	@# staticfiles/ exists (empty: whitenoise serves from the apps) so whitenoise does not warn
	@mkdir -p var staticfiles
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --if-missing --no-logins
	@# a second, small organization in English and dollars: the language follows the organization
	$(MANAGE) seed_demo --org demo-en --locale en --accounts 150 --months 3 --if-missing --no-logins
	$(MANAGE) survey_demo --org demo-en
	$(MANAGE) survey_demo
	$(MANAGE) demo_backfill --org demo-en --days 90 --url http://$(HOST):$(PORT)/
	$(MANAGE) demo_backfill --url http://$(HOST):$(PORT)/
	$(MANAGE) runserver $(HOST):$(PORT)

# Checked first, so a bad PORT fails in a second, not after the install and the backfill.
demo-port:
	@[[ "$(PORT)" =~ ^[1-9][0-9]{0,4}$$ ]] && (( $(PORT) <= 65535 )) || \
		{ echo "make demo: PORT must be a port number, 1-65535 (got '$(PORT)')" >&2; exit 2; }

system-deps:
	@scripts/system-deps.sh

# makemigrations needs no server: with no DATABASE_URL the test settings name an unreachable
# PostgreSQL, and the warning that the migration history could not be read is silenced.
lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=csplatform.settings.test $(PY) \
		-W "ignore:Got an error checking a consistent migration history:RuntimeWarning" \
		manage.py makemigrations --check --dry-run

test: env system-deps lint
	$(BIN)/pytest

services:
	@scripts/services.sh start

services-stop:
	@scripts/services.sh stop

services-status:
	@scripts/services.sh status

# The Procfile's web, worker and beat under honcho (prefixed logs; Ctrl-C or the end of one
# stops all), after check_services (one line and a stop if a service is unreachable), migrate
# and collectstatic. DATABASE_URL and REDIS_URL: the environment's, else those in .env (which
# the settings read), else those of `make services`. Local settings with DJANGO_DEBUG=false
# unless the shell names others (manage.py, Celery and wsgi.py default to production). honcho
# does not read .env (-e /dev/null): its values would override the environment's.
# STACK_DOTENV: the file looked in for the two URLs (the tests name an empty one).
STACK_DOTENV ?= .env

stack: export DJANGO_SETTINGS_MODULE ?= csplatform.settings.local
stack: export DJANGO_DEBUG ?= false
stack: export PYTHONUNBUFFERED := 1
stack: export PATH := $(abspath $(BIN)):$(PATH)
stack: env
	@mkdir -p var/services
	@while read -r _ assignment; do \
		name="$${assignment%%=*}"; \
		if [ -z "$${!name:-}" ] && ! grep -sqE "^\s*(export\s+)?$$name\s*=" "$(STACK_DOTENV)"; then \
			export "$$assignment"; \
		fi; \
	done < <(scripts/services.sh env); \
	echo "stack: settings $$DJANGO_SETTINGS_MODULE, DJANGO_DEBUG=$$DJANGO_DEBUG"; \
	for step in check_services "migrate --noinput" "collectstatic --noinput --verbosity 0"; do \
		echo "stack: manage.py $$step"; \
		python manage.py $$step; \
	done; \
	echo "stack: serving on http://$${STACK_BIND:-127.0.0.1:8000}/ ; Ctrl-C stops everything"; \
	exec honcho --env /dev/null start

#   make bench-workspace  workspace benchmark on the services' PostgreSQL: 20 CSMs under gunicorn
# Seeds the 100,000-account `bench` organization if it is missing (minutes), gives it a year of
# playbooks once, then loads My Work, the account 360, the playbook page and step completion
# from a second process and prints the percentiles as JSON (see README, Benchmarks).
BENCH_ORG ?= bench
BENCH_RUN_ARGS ?= --users 20 --seconds 60 --requests 4000 --think-ms 1000

.PHONY: bench-workspace
bench-workspace: export DATABASE_URL ?= postgres://postgres@127.0.0.1:$(PG_PORT)/csplatform
bench-workspace: export REDIS_URL ?= redis://127.0.0.1:$(REDIS_PORT)/0
bench-workspace: export DJANGO_SETTINGS_MODULE := csplatform.settings.local
bench-workspace: env
	$(MANAGE) seed_demo --org $(BENCH_ORG) --accounts 100000 --months 6 --seed 7 --if-missing
	$(MANAGE) bench_workspace prepare --org $(BENCH_ORG) --csms 20
	$(MANAGE) bench_workspace run --org $(BENCH_ORG) $(BENCH_RUN_ARGS)
