"""Fuzz the API with schemathesis against its own OpenAPI schema, as a manager and as a partner admin.

A bounded run on loopback: a throwaway PostgreSQL database `partnerloop_fuzz` on the server that
DATABASE_URL points at (default: the local one), the demo world, a dev server on 127.0.0.1, then
schemathesis with a manager token and a partner-admin token. Checks: no server error, status codes
and response bodies as documented. Exits non-zero on any failure.

    .venv/bin/python scripts/fuzz_api.py [--max-examples 25] [--port 8765]

schemathesis is a development dependency (requirements-dev.txt).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
MANAGER = "manager@demo.partnerloop.test"


def _env(database_url):
    return {
        **os.environ,
        # Production error handling (DEBUG off: Django's own 404 and 500 pages are not in play).
        "DEBUG": "false",
        "SECRET_KEY": "fuzz-" + os.urandom(24).hex(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "API_THROTTLE_USER": "1000000/minute",
        "API_THROTTLE_ANON": "1000000/minute",
    }


def _manage(env, *args, capture=False):
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=capture, text=True)
    return result.stdout if capture else None


def _fresh_database(server_url):
    import psycopg2

    parsed = urlparse(server_url)
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS partnerloop_fuzz WITH (FORCE)")
        cursor.execute("CREATE DATABASE partnerloop_fuzz")
    connection.close()
    return parsed._replace(path="/partnerloop_fuzz").geturl()


TOKENS = """
from django_scopes import scopes_disabled
from rest_framework.authtoken.models import Token
from partners.models import Membership, MembershipRole
from django.contrib.auth import get_user_model
with scopes_disabled():
    manager = get_user_model().objects.get(username="{manager}")
    admin = Membership.objects.filter(role=MembershipRole.ADMIN, user__is_active=True).select_related("user").order_by("pk").first().user
    print(Token.objects.get_or_create(user=manager)[0].key, Token.objects.get_or_create(user=admin)[0].key, admin.username)
"""


def _wait(url, token, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer {url} within {seconds} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25, help="test cases per operation and phase (default 25)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    schemathesis = shutil.which("schemathesis", path=str(Path(PYTHON).parent)) or shutil.which("schemathesis")
    if not schemathesis:
        raise SystemExit("schemathesis is not installed: pip install -r requirements-dev.txt")

    database_url = _fresh_database(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    env = _env(database_url)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_demo", capture=True)
    output = _manage(env, "shell", "-c", TOKENS.format(manager=MANAGER), capture=True)
    manager_token, admin_token, admin_name = output.strip().splitlines()[-1].split()

    base = f"http://127.0.0.1:{options.port}"
    server = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{options.port}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    failed = False
    try:
        _wait(f"{base}/api/schema/?format=json", manager_token)
        for who, token in ((f"manager ({MANAGER})", manager_token), (f"partner admin ({admin_name})", admin_token)):
            print(f"== schemathesis as {who}", flush=True)
            result = subprocess.run(
                [
                    schemathesis, "run", f"{base}/api/schema/?format=json",
                    "--header", f"Authorization: Token {token}",
                    "--checks", CHECKS,
                    "--phases", "examples,coverage,fuzzing",
                    "--max-examples", str(options.max_examples),
                    "--seed", str(options.seed),
                    "--workers", "1",
                    "--no-color",
                ],
                cwd=ROOT,
            )
            failed |= result.returncode != 0
    finally:
        server.terminate()
        server.wait(timeout=30)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
