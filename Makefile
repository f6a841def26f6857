# PartnerLoop: `make run` serves the app with demo data; `make test` runs the whole suite; `make crawl`
# requests every page of the demo world as four roles and fails on a server error.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEV_ENV := DEBUG=true DJANGO_SETTINGS_MODULE=config.settings.base
TEST_ENV := DJANGO_SETTINGS_MODULE=config.settings.test

.PHONY: run test crawl check lint venv migrate seed messages clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py compile_locales
	$(DEV_ENV) $(PY) manage.py seed_demo
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:8000

test: venv
	@$(PY) scripts/check_services.py
	$(TEST_ENV) $(PY) manage.py compile_locales
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

# The demo world on a fresh temporary SQLite file with `make run`'s settings, crawled as a manager,
# a partner admin, a partner user and the superuser; exit 1 on any 5xx (scripts/crawl_demo.py).
crawl: venv
	$(PY) scripts/crawl_demo.py $(CRAWL_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

check: venv lint
	$(DEV_ENV) $(PY) manage.py makemigrations --check --dry-run
	DEBUG=false SECRET_KEY=check-deploy-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') ALLOWED_HOSTS=partnerloop.example.com \
		DATABASE_URL=postgres://postgres@127.0.0.1:5432/partnerloop REDIS_URL=redis://127.0.0.1:6379/0 \
		$(PY) manage.py check --deploy --fail-level WARNING

messages: venv
	$(DEV_ENV) $(PY) manage.py makemessages -l nl -l de --ignore=.venv --ignore=staticfiles --ignore=static/vendor

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
