# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install catalogs messages messages-check run spa oauth-provider ses-emulator test lint matrix docs docs-serve docs-reference dist fresh-project run-check bench bench-scale load-check
PORT ?= 8000
SPA_PORT ?= 8080
SES_PORT ?= 8025
DOCS_PORT ?= 8009

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

# Translations. Each app's catalogs are in <app>/locale/<language>/LC_MESSAGES/django.po, this project's own (the
# home page) in locale/. `make catalogs` compiles them to the .mo files Django reads (git-ignored build output;
# polib, so no GNU gettext needed); `make messages` updates the catalogs from the code after a change to the text
# (Django's makemessages: needs GNU gettext); `make messages-check` is CI's check that they are up to date and
# complete (docs/how-to/translations.md).
# The apps and locales are listed once, in hatch_build.py.
catalogs: install
	@$(BIN)/python hatch_build.py >/dev/null

messages: install
	$(BIN)/python packaging/catalogs.py update
	$(MAKE) --no-print-directory catalogs

messages-check: install
	$(BIN)/python packaging/catalogs.py check

# The development checkout's settings (DEBUG on, random secrets), read by config/settings.py; git-ignored,
# written once and kept, so every manage.py command works without typing them (config/dev_env.py). Written by the
# venv's Python (the signing key needs PyJWT and cryptography), readable by its owner only, and never left empty:
# make would keep an empty .env as up to date, and every later `make run` would stop on a missing SECRET_KEY.
.env: | $(BIN)/.installed
	@umask 077; $(BIN)/python config/dev_env.py > .env.new && mv .env.new .env || { rm -f .env.new; exit 1; }

# Development server on the embedded defaults: SQLite file, local-memory cache, console email; the task
# worker runs next to it (it sends the queued emails, printed on the console) and stops with it.
# `make run PORT=8001` serves on another port (links in emails follow it).
run: install catalogs .env
	$(BIN)/python manage.py migrate --noinput
	SITE_URL=http://127.0.0.1:$(PORT) $(BIN)/python manage.py task_worker --worker-id dev-worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  SITE_URL=http://127.0.0.1:$(PORT) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# CI's proof that `make run` works on a fresh clone: it starts it on RUN_CHECK_PORT, waits for /readyz to answer
# 200 (the database migrated, the cache answering), then stops it and its task worker.
RUN_CHECK_PORT ?= 8765
run-check: install
	$(BIN)/python -m config.run_check --port $(RUN_CHECK_PORT)

# `make run` with the example single-page app (examples/spa) served next to it on SPA_PORT, another origin of
# the same site, which the service is told to allow (CORS_ALLOWED_ORIGINS) and to send people to (APP_URL).
# Ctrl-C stops all three processes.
spa: install .env
	@echo "The example app: http://127.0.0.1:$(SPA_PORT)/?auth=http://127.0.0.1:$(PORT)/api/auth/"
	$(BIN)/python -m http.server $(SPA_PORT) --bind 127.0.0.1 --directory examples/spa >/dev/null 2>&1 & app=$$!; \
	  trap 'kill $$app 2>/dev/null' EXIT INT TERM; \
	  CORS_ALLOWED_ORIGINS=http://127.0.0.1:$(SPA_PORT) \
	  APP_URL="http://127.0.0.1:$(SPA_PORT)/?auth=http://127.0.0.1:$(PORT)/api/auth/" \
	  $(MAKE) --no-print-directory run PORT=$(PORT)

# A local OAuth provider (django-oauth-toolkit, the one the connections tests use) for trying connected
# accounts against `make run`: prints the CONNECTIONS_PROVIDERS line to put in .env, then serves until Ctrl-C.
oauth-provider: install .env
	SITE_URL=http://127.0.0.1:$(PORT) DJANGO_SETTINGS_MODULE=config.settings $(BIN)/python -m connections.tests.oauth_provider

# A local SES (moto's server) on SES_PORT for running the flows with real emails through django-ses: verifies
# the sender identity of DEFAULT_FROM_EMAIL (SES refuses mail from an unverified one), prints the lines to put
# in .env, then prints every email it receives until Ctrl-C.
ses-emulator: install .env
	@DJANGO_SETTINGS_MODULE=config.settings $(BIN)/python -m config.ses_emulator --port $(SES_PORT)

# The lint gate (pyproject.toml), then the whole suite. DATABASE_URL / REDIS_URL select PostgreSQL and
# Redis; PYTEST_ARGS adds options.
test: install lint catalogs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# The reference pages (docs/reference/: settings, API, errors, security events, commands), written from the code
# on the code's defaults (no .env, no variables). config/tests/test_reference_docs.py fails when they are stale.
docs-reference: install
	$(BIN)/python docs/gen_reference.py

# The documentation site (mkdocs.yml, docs/), built into site/ with every link checked; docs-serve serves it on
# DOCS_PORT and rebuilds it as the files change.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:$(DOCS_PORT)

# The suite on SQLite under Django 6.0 and 6.1 (Python 3.12, noxfile.py); PYTEST_ARGS adds options.
matrix: install catalogs
	$(BIN)/nox -s "tests(django='6.0')" "tests(django='6.1')" -- $(PYTEST_ARGS)

# The benchmark against the simplejwt peer (bench/README.md). Installs wrk and redis-server (Debian) if missing
# and bench/requirements.txt into the virtualenv, starts and stops all it needs on 127.0.0.1 (PostgreSQL must
# be running there). BENCH_ARGS passes options to bench/run.py, e.g. BENCH_ARGS="--duration 20 --rounds 3".
bench: install
	@command -v wrk >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 || { \
	  s=$$([ "$$(id -u)" = 0 ] || echo sudo); $$s apt-get update -qq && \
	  $$s env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk redis-server; }
	$(BIN)/pip install --quiet -r bench/requirements.txt
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The scale targets (bench/README.md): GET sessions/ after 10,000 logins of one user, refresh during a purge of
# 500,000 dead sessions, GET me, refresh and login on grown tables; exits non-zero when a target is missed.
# About 45 minutes on 2 cores: a purge of 500,000 at the default pace takes about 11 of them, so the purge runs
# two rounds. BENCH_ARGS adds options (the last of a repeated option wins).
SCALE_ARGS = --scenarios me,refresh,login,sessions,purge --growth 1000000 --rounds 5 --duration 10 \
  --purge-rounds 2 --contestants ours,ours-grown,ours-purging,sessions-few,sessions-crowded --fail-on-miss
bench-scale: install
	@$(MAKE) --no-print-directory bench BENCH_ARGS="$(SCALE_ARGS) $(BENCH_ARGS)"

# The load check (bench/load_check.py): 2 gunicorn processes, 16 clients, 60 s of mixed traffic with replayed
# refresh tokens on PostgreSQL + Redis; fails on any 5xx, deadlock or inconsistent table. LOAD_ARGS passes
# options, e.g. LOAD_ARGS="--duration 10 --clients 8".
load-check: install
	@command -v redis-server >/dev/null 2>&1 || { \
	  s=$$([ "$$(id -u)" = 0 ] || echo sudo); $$s apt-get update -qq && \
	  $$s env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }
	$(BIN)/python bench/load_check.py $(LOAD_ARGS)

# The package (pyproject.toml): a wheel and an sdist in dist/.
dist: install
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .

# The fresh-project proof (packaging/fresh_project.py): the wheel in a new virtualenv, a new Django project with the
# tutorial's snippets (read from docs/tutorial.md), served by gunicorn, walked over HTTP; on the pinned Django, then
# on the newest supported series with Python 3.12 (NOX_PYTHON312 names that interpreter, as for `make matrix`).
NOX_PYTHON312 ?= /root/.pyenv/versions/3.12.1/bin/python3.12
fresh-project: install
	$(BIN)/python packaging/fresh_project.py
	$(BIN)/python packaging/fresh_project.py --python $(NOX_PYTHON312) --django "django~=6.1.0"
