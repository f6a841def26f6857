"""docker-compose.yml and the Dockerfile describe a stack that can start: the services are there, healthy
when they should be, and every command names code that exists (modules, attributes, management commands).

Nothing here runs Docker: the files are parsed and each reference is resolved against the code.
"""

import importlib
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands
from django.urls import resolve

ROOT = Path(settings.BASE_DIR)
SERVICES = ("web", "worker", "beat", "db", "redis")
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def _argv_lists(command):
    """The simple commands in a compose `command`/healthcheck (string or list), through `sh -c` and &&, ||, ;."""
    argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command]
    if argv and argv[0] in ("CMD", "CMD-SHELL"):
        kind, argv = argv[0], argv[1:]
        if kind == "CMD-SHELL":
            argv = ["sh", "-c", " ".join(argv)]
    if len(argv) >= 3 and argv[0] in ("sh", "bash", "/bin/sh", "/bin/bash") and argv[1] == "-c":
        result = []
        for part in re.split(r"&&|\|\||;", argv[2]):
            if part.strip():
                result += _argv_lists(part)
        return result
    return [argv] if argv else []


def _option(argv, *names):
    """The value of `-A x`, `--app x` or `--app=x` in argv, or None."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if name.startswith("--") and arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def _import_attribute(reference):
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    assert hasattr(module, attribute), f"{module_name} has no attribute {attribute!r} (from {reference!r})"
    return getattr(module, attribute)


def check_argv(argv):
    """Resolve what one command refers to; returns a short description of what was checked."""
    program = Path(argv[0]).name
    if program == "gunicorn":
        targets = [arg for arg in argv[1:] if ":" in arg and not arg.startswith("-") and re.fullmatch(r"[\w.]+:\w+", arg)]
        assert targets, f"gunicorn without an app (module:attribute): {argv}"
        application = _import_attribute(targets[0])
        assert callable(application), f"{targets[0]} is not a WSGI callable"
        return f"gunicorn {targets[0]}"
    if program == "celery":
        from celery import Celery
        from celery.app.utils import find_app

        app_name = _option(argv, "-A", "--app")
        assert app_name, f"celery without -A/--app: {argv}"
        module = importlib.import_module(app_name)
        assert isinstance(getattr(module, "celery_app", None), Celery), f"{app_name}.celery_app is not the Celery app"
        assert find_app(app_name) is module.celery_app, f"celery -A {app_name} does not find {app_name}.celery_app"
        scheduler = _option(argv, "-S", "--scheduler")
        if scheduler:
            scheduler_class = _import_attribute(scheduler)
            assert isinstance(scheduler_class, type), f"{scheduler} is not a class"
        return f"celery -A {app_name}" + (f" --scheduler {scheduler}" if scheduler else "")
    if program.startswith("python") and len(argv) >= 3 and Path(argv[1]).name == "manage.py":
        assert (ROOT / argv[1]).is_file(), f"{argv[1]} does not exist"
        name = argv[2]
        assert name in get_commands(), f"`manage.py {name}` is not a management command"
        return f"manage.py {name}"
    return None


def test_services_exist(services):
    assert set(SERVICES) <= set(services), f"missing services: {set(SERVICES) - set(services)}"


def test_backing_service_images(services):
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"


@pytest.mark.parametrize("name", ["db", "redis", "web", "worker"])
def test_service_has_a_healthcheck(services, name):
    healthcheck = services[name].get("healthcheck")
    assert healthcheck, f"{name} has no healthcheck"
    assert not healthcheck.get("disable")
    assert healthcheck.get("test"), f"{name}'s healthcheck has no test"


def test_web_healthcheck_calls_the_health_endpoint(services):
    test = " ".join(services["web"]["healthcheck"]["test"])
    paths = [urlparse(url).path for url in re.findall(r"https?://[^\s'\"]+", test)]
    assert paths, "the web healthcheck requests no URL"
    for path in paths:
        assert resolve(path).url_name == "healthz", f"{path} is not the health endpoint"


def test_db_keeps_its_data_in_a_named_volume(compose, services):
    named = set(compose.get("volumes") or {})
    mounts = [volume if isinstance(volume, str) else f"{volume['source']}:{volume['target']}" for volume in services["db"]["volumes"]]
    data_mounts = [mount.split(":")[0] for mount in mounts if mount.split(":")[1] == "/var/lib/postgresql/data"]
    assert data_mounts, "db does not mount a volume at /var/lib/postgresql/data"
    assert data_mounts[0] in named, f"{data_mounts[0]} is not a named volume (top-level `volumes:`)"


def test_depends_on_names_services_and_waits_for_health(services):
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        for dependency in depends_on:
            assert dependency in services, f"{name} depends on an unknown service {dependency}"
            condition = depends_on[dependency].get("condition") if isinstance(depends_on, dict) else None
            if condition == "service_healthy":
                assert services[dependency].get("healthcheck"), f"{name} waits for {dependency} to be healthy; it has no healthcheck"


def test_app_services_reach_db_and_redis_by_service_name(services):
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert urlparse(environment["DATABASE_URL"]).hostname == "db", name
        assert urlparse(environment["DATABASE_URL"]).scheme.startswith("postgres"), name
        assert urlparse(environment["REDIS_URL"]).hostname == "redis", name
        assert str(environment["DEBUG"]).lower() == "false", name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_service_commands_refer_to_real_code(services, name):
    commands = _argv_lists(services[name]["command"])
    healthcheck = services[name].get("healthcheck")
    if healthcheck:
        commands += _argv_lists(healthcheck["test"])
    checked = [description for description in map(check_argv, commands) if description]
    assert checked, f"nothing to check in {name}'s command"


def test_each_app_service_runs_its_role(services):
    web = [check_argv(argv) for argv in _argv_lists(services["web"]["command"])]
    assert "gunicorn config.wsgi:application" in web
    assert "manage.py migrate" in web
    worker = _argv_lists(services["worker"]["command"])
    assert worker[0][0] == "celery"
    assert "worker" in worker[0]
    beat = _argv_lists(services["beat"]["command"])
    assert beat[0][0] == "celery"
    assert "beat" in beat[0]
    assert _option(beat[0], "-S", "--scheduler") == settings.CELERY_BEAT_SCHEDULER


def test_dockerfile_cmd_serves_the_wsgi_application():
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    cmd_lines = [line.split(None, 1)[1] for line in lines if line.strip().upper().startswith("CMD ")]
    assert cmd_lines, "the Dockerfile has no CMD"
    cmd = cmd_lines[-1].strip()
    argv = json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)
    assert "config.wsgi:application" in argv
    assert check_argv(argv) == "gunicorn config.wsgi:application"


def test_command_parsing():
    assert _argv_lists('sh -c "python manage.py migrate && gunicorn a.b:c"') == [
        ["python", "manage.py", "migrate"],
        ["gunicorn", "a.b:c"],
    ]
    assert _argv_lists(["CMD-SHELL", "celery -A config inspect ping || exit 1"]) == [
        ["celery", "-A", "config", "inspect", "ping"],
        ["exit", "1"],
    ]
    assert _argv_lists(["CMD", "redis-cli", "ping"]) == [["redis-cli", "ping"]]
    with pytest.raises(AssertionError):
        check_argv(["python", "manage.py", "no_such_command_here"])
    with pytest.raises(AssertionError):
        check_argv(["gunicorn", "config.wsgi:no_such_app"])
