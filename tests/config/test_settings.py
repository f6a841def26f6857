"""Settings from the environment: secure when DEBUG is off, zero-configuration when it is on.

The environment-dependent cases run `manage.py` / `python -c` in a subprocess with an environment built
from scratch, because settings are read once per process (and the test settings set their own defaults).
"""

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.test import override_settings

from config.settings import base

ROOT = settings.BASE_DIR
LOCAL_DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/partnerloop")
LOCAL_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")

needs_no_dotenv = pytest.mark.skipif((ROOT / ".env").exists(), reason="a local .env file fills in settings the test means to leave unset")


def run(args, **env):
    """Run `python <args>` in the project with only PATH/HOME/LANG and `env` in the environment."""
    clean = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    clean.update(env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def production_env(**overrides):
    env = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "partnerloop.example.com",
        "DATABASE_URL": LOCAL_DATABASE_URL,
        "REDIS_URL": LOCAL_REDIS_URL,
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def test_passwords_are_hashed_with_argon2():
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        hashed = make_password("correct-horse-battery-staple")
        assert hashed.startswith("argon2")
        assert check_password("correct-horse-battery-staple", hashed)


def test_locale_middleware_and_languages():
    middleware = base.MIDDLEWARE
    assert "django.middleware.locale.LocaleMiddleware" in middleware
    locale = middleware.index("django.middleware.locale.LocaleMiddleware")
    # Django: after SessionMiddleware, before CommonMiddleware.
    assert middleware.index("django.contrib.sessions.middleware.SessionMiddleware") < locale
    assert locale < middleware.index("django.middleware.common.CommonMiddleware")
    assert [code for code, _name in base.LANGUAGES] == ["en", "nl", "de"]
    assert base.USE_I18N is True


@needs_no_dotenv
def test_check_deploy_passes_with_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@needs_no_dotenv
def test_check_deploy_fails_with_debug_on():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production_env(DEBUG="true", SECRET_KEY=None))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "security.W018" in output  # DEBUG on
    assert "security.W009" in output  # the development SECRET_KEY


@needs_no_dotenv
def test_settings_refuse_to_load_without_secret_key_when_debug_is_off():
    result = run(["manage.py", "check"], **production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


@needs_no_dotenv
def test_offline_commands_run_without_secret_key_and_the_rest_refuse_clearly():
    """`makemigrations --check` signs nothing, so it works in a bare shell; `migrate` still needs SECRET_KEY."""
    bare = {"DEBUG": "false"}
    offline = run(["manage.py", "makemigrations", "--check", "--dry-run"], **bare)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "No changes detected" in offline.stdout
    refused = run(["manage.py", "migrate", "--plan"], **bare)
    assert refused.returncode != 0
    assert "ImproperlyConfigured: Set the SECRET_KEY environment variable" in refused.stderr
    assert "AppRegistryNotReady" not in refused.stderr


@needs_no_dotenv
def test_defaults_without_services_are_sqlite_and_eager_celery():
    script = (
        "import json, django; django.setup();"
        "from django.conf import settings; from config import celery_app;"
        "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], 'name': str(settings.DATABASES['default']['NAME']),"
        " 'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'app_eager': celery_app.conf.task_always_eager,"
        " 'broker': celery_app.conf.broker_url, 'cache': settings.CACHES['default']['BACKEND']}))"
    )
    result = run(["-c", script], DEBUG="true")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(ROOT / "db.sqlite3")
    assert values["eager"] is True
    assert values["app_eager"] is True
    assert values["broker"] == "memory://"
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_healthz_answers_json_without_database(client):
    response = client.get("/healthz/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_healthz_is_not_redirected_to_https(client):
    """The compose healthcheck calls plain http inside the container, also when SECURE_SSL_REDIRECT is on."""
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert client.get("/healthz/", HTTP_HOST="127.0.0.1:8000").status_code == 200
        assert client.get("/accounts/login/", HTTP_HOST="127.0.0.1:8000").status_code == 301
