# The few commands people type. `make run` and `make test` set up everything they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PG_PORT ?= 54329
AMQP_PORT ?= 56729
DB_NAME ?= clinico
export CLINICO_PG_PORT := $(PG_PORT)
export CLINICO_AMQP_PORT := $(AMQP_PORT)
export DATABASE_URL ?= postgres://postgres@127.0.0.1:$(PG_PORT)/$(DB_NAME)
export CELERY_BROKER_URL ?= amqp://guest:guest@127.0.0.1:$(AMQP_PORT)//
# The targets below run development settings (the published key, DEBUG); the served entry points
# (clinico/wsgi.py, asgi.py, celery.py) default to clinico.settings.prod. `make test` runs the
# test settings whatever this says.
export DJANGO_SETTINGS_MODULE ?= clinico.settings.dev

.PHONY: run stop test fuzz lint format bench venv services db demo browser promtool

venv: $(VENV)/.installed

$(VENV)/.installed: requirements/base.txt requirements/prod.txt requirements/dev.txt
	@command -v python3.11 >/dev/null || python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	@python3 -m venv $(VENV) 2>/dev/null || { apt-get update -q && apt-get install -y -q python3-venv && python3 -m venv $(VENV); }
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements/dev.txt
	touch $@

services:
	bash deploy/services.sh start

db: venv services
	@/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p $(PG_PORT) -U postgres -tAc \
	  "SELECT 1 FROM pg_database WHERE datname='$(DB_NAME)'" | grep -q 1 || \
	  /usr/lib/postgresql/15/bin/createdb -h 127.0.0.1 -p $(PG_PORT) -U postgres $(DB_NAME)
	$(PY) manage.py migrate_clinics -v 0

demo: db
	$(PY) manage.py seed_demo

browser: node_modules/.installed
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# promtool checks and unit-tests the alert rules of deploy/prometheus/ (tests/deploy/).
promtool:
	@command -v promtool >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus; }

# axe-core, pinned in package-lock.json: the browser tests inject it into every page.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm; }
	npm ci --no-audit --no-fund
	touch $@

run: demo
	bash deploy/stack.sh start
	@echo ""
	@echo "Clinico is running. API docs: http://centro.localhost:8000/api/docs/  http://localhost:8000/api/docs/"
	@echo "Live streams (server-sent events): the events process on port $${CLINICO_EVENTS_PORT:-8001}; the pages connect to it."
	@echo "Logs in .run/logs/. E-mails (invitations, password links) are files in .run/mail/. Stop with: make stop"

stop:
	-bash deploy/stack.sh stop
	bash deploy/services.sh stop

# Tests publish to a virtual host of their own: a `make run` stack on the same broker never
# takes their tasks (the integration tests start a RabbitMQ node of their own as well).
TEST_BROKER_URL ?= amqp://guest:guest@127.0.0.1:$(AMQP_PORT)/clinico_test

test: venv browser promtool
	CLINICO_AMQP_VHOSTS="clinico_test $(CLINICO_AMQP_VHOSTS)" bash deploy/services.sh start
	DJANGO_SETTINGS_MODULE=clinico.settings.test CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

# The API fuzzing of `make test` (tests/clinico/test_api_fuzz.py) at length: many more examples
# per operation, and boundary values as every kind of caller.
FUZZ_EXAMPLES ?= 100

fuzz: venv
	CLINICO_AMQP_VHOSTS="clinico_test $(CLINICO_AMQP_VHOSTS)" bash deploy/services.sh start
	CELERY_BROKER_URL=$(TEST_BROKER_URL) CLINICO_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	  $(VENV)/bin/pytest tests/clinico/test_api_fuzz.py -p no:logging $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=clinico.settings.test $(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Benchmarks run against the `make run` stack (CLINICO_WEB_PORT, 8000 by default). Their clinics
# belong to the `bench` chain and are left inactive when a benchmark ends; bench-clean drops them.
# The stack it starts lets benchmarks/lookup.py look patients up faster than a person may; a
# `make run` stack already running keeps its own limit (lookup.py then says so and fails).
# Likewise push.py holds thousands of streams from one address, past a clinic's
# CLINICO_EVENTS_STREAMS_PER_ADDRESS (a `make run` stack answers 429 past 1,000).
# benchmarks/scale.py provisions 10,000 clinics when run alone (about half an hour); here 2,000.
export CLINICO_SCALE_CLINICS ?= 2000

bench: demo
	CLINICO_PATIENT_LOOKUPS_PER_MINUTE=$${CLINICO_PATIENT_LOOKUPS_PER_MINUTE:-1000000} \
	  CLINICO_EVENTS_STREAMS_PER_ADDRESS=$${CLINICO_EVENTS_STREAMS_PER_ADDRESS:-100000} \
	  bash deploy/stack.sh start
	@failed=""; for b in benchmarks/[!_]*.py; do echo "== $$b"; $(PY) $$b || failed="$$failed $$b"; done; \
	  if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

.PHONY: bench-clean
bench-clean: venv services
	$(PY) benchmarks/_clean.py
