"""The apps depend on each other in one direction only (docs/architecture.md, "Apps and the one-way rule").

    core  <-  partners  <-  sales  <-  deals  <-  incentives  <-  kpis  <-  portal  <-  demo
                        <-  enablement <-'        surveys  <-'
                        <-  cases  <-----------------------'

Every .py module of every app is parsed (never imported) and each reference to another app is checked
against ALLOWED: `import x`, `from x import y`, relative imports that climb out of the app
(`from ..kpis import y`), and the string forms `importlib.import_module("x")`, `__import__("x")` and
`apps.get_model("x", "Model")` / `get_model("x.Model")`; and `call_command("name")` of a management
command that an app above defines (a lower app must not run an upper app's command either).
"""

import ast
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)

_FEATURES = {"core", "partners", "sales", "deals", "enablement", "cases"}
ALLOWED = {
    "core": set(),
    "partners": {"core"},
    "sales": {"core", "partners"},
    "enablement": {"core", "partners"},
    "cases": {"core", "partners"},
    "deals": {"core", "partners", "sales"},
    "surveys": {"core", "partners"},
    "incentives": _FEATURES,
    "kpis": _FEATURES | {"incentives", "surveys"},
    "portal": _FEATURES | {"incentives", "surveys", "kpis"},
    "demo": _FEATURES | {"incentives", "surveys", "kpis", "portal"},
}
APPS = tuple(ALLOWED)
# Which app defines each management command (call_command reaches into that app).
COMMAND_APPS = {
    path.stem: path.parts[-4]
    for app in APPS
    for path in sorted((ROOT / app / "management" / "commands").glob("*.py"))
    if not path.stem.startswith("_")
}
EXISTING_APPS = [app for app in APPS if (ROOT / app / "__init__.py").is_file()]


def _module_name(path, root=ROOT):
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _resolve_relative(module, is_package, level, target):
    """The absolute name `from <level dots><target> import ...` refers to inside `module`."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(package):
        return None
    # Climbing to the project root (which Python refuses: it is no package) still names another app.
    base = package[: len(package) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _string_arg(call, index=0):
    if len(call.args) > index and isinstance(call.args[index], ast.Constant) and isinstance(call.args[index].value, str):
        return call.args[index].value
    return None


def _referenced_modules(source, module, is_package):
    """(line, dotted name) of every module or app the source refers to."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                name = _resolve_relative(module, is_package, node.level, node.module)
                if name is None:
                    continue
            else:
                name = node.module
            yield node.lineno, name
            # `from . import kpis` at the top of the project, or `from .. import portal` from inside an app.
            for alias in node.names:
                yield node.lineno, f"{name}.{alias.name}" if name else alias.name
        elif isinstance(node, ast.Call):
            func = node.func
            func_name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if func_name in ("import_module", "__import__"):
                target = _string_arg(node)
                if target and not target.startswith("."):
                    yield node.lineno, target
            elif func_name == "get_model":
                target = _string_arg(node)
                if target:
                    yield node.lineno, target.split(".")[0]
            elif func_name == "call_command":
                target = _string_arg(node)
                if target and target in COMMAND_APPS:
                    yield node.lineno, f"{COMMAND_APPS[target]}.management.commands.{target}"


def violations(source, module, is_package=False):
    """Messages for each reference in `source` (the code of `module`) that breaks the one-way rule."""
    own_app = module.split(".")[0]
    allowed = ALLOWED[own_app]
    found = []
    for lineno, name in _referenced_modules(source, module, is_package):
        target_app = name.split(".")[0]
        if target_app in ALLOWED and target_app != own_app and target_app not in allowed:
            found.append(f"{module}:{lineno} refers to {name} ({own_app} may use: {', '.join(sorted(allowed)) or 'no other app'})")
    return found


def _app_modules(app):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path


def test_the_apps_are_there():
    assert set(EXISTING_APPS) == set(ALLOWED), "an app of the map is missing, or a folder is not in the map"
    assert set(ALLOWED) <= {app.split(".")[0] for app in settings.INSTALLED_APPS}


def test_commands_are_known_by_app():
    assert COMMAND_APPS["seed_demo"] == "demo"
    assert COMMAND_APPS["import_sales"] == "sales"


@pytest.mark.parametrize("app", EXISTING_APPS)
def test_app_imports_only_the_apps_below_it(app):
    found = []
    for path in _app_modules(app):
        module, is_package = _module_name(path)
        found += violations(path.read_text(encoding="utf-8"), module, is_package)
    assert not found, "imports against the one-way app dependency rule (ARCHITECTURE.md):\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("module", "is_package", "source"),
    [
        ("partners.services", False, "from kpis.selectors import loyalty_score\n"),
        ("partners.services", False, "import portal.views\n"),
        ("partners.views", False, "def f():\n    from incentives import models\n"),
        ("partners.services.tiers", False, "from ...kpis import selectors\n"),
        ("partners.services", True, "from ...surveys.models import Survey\n"),
        ("partners", True, "from .. import kpis\n"),
        ("partners.tasks", False, "import importlib\nmod = importlib.import_module('kpis.tasks')\n"),
        ("partners.tasks", False, "from importlib import import_module\nimport_module('portal')\n"),
        ("partners.signals", False, "Snapshot = apps.get_model('kpis', 'Snapshot')\n"),
        ("partners.signals", False, "Snapshot = apps.get_model('kpis.Snapshot')\n"),
        ("incentives.services", False, "from surveys.models import Response\n"),
        ("surveys.services", False, "from incentives.models import Program\n"),
        ("kpis.jobs", False, "from portal.models import Course\n"),
        ("kpis", True, "from ..portal import models\n"),
        ("partners.management.commands.seed", False, "from django.core.management import call_command\ncall_command('seed_incentives')\n"),
        ("sales.seed", False, "call_command('seed_demo', verbosity=0)\n"),
    ],
)
def test_checker_flags_a_violation(module, is_package, source):
    assert violations(source, module, is_package), f"not flagged: {source!r} in {module}"


@pytest.mark.parametrize(
    ("module", "is_package", "source"),
    [
        ("partners.services", False, "from .models import Partner\nfrom . import selectors\nimport django.db\n"),
        ("partners.services", True, "from ..models import Partner\n"),
        ("partners.services.tiers", False, "from ..models import Tier\n"),
        ("partners.migrations.0002_x", False, "Group = apps.get_model('auth', 'Group')\n"),
        ("incentives.services", False, "from partners.models import Partner\n"),
        ("surveys.services", False, "from partners import selectors\n"),
        ("kpis.jobs", False, "from partners.models import Partner\nfrom incentives import services\nimport surveys.models\n"),
        ("portal.views", False, "from partners import selectors\nfrom kpis import selectors as k\nfrom incentives.models import Program\n"),
        ("portal.views", False, "from django.urls import path\nimport importlib\nimportlib.import_module('.x', 'portal')\n"),
        ("demo.management.commands.seed_demo", False, "call_command('seed_incentives')\ncall_command('migrate')\n"),
        ("kpis.management.commands.seed_scores", False, "call_command('import_sales', 'x.csv')\n"),
    ],
)
def test_checker_allows_the_rule(module, is_package, source):
    assert violations(source, module, is_package) == []


def test_module_names_and_relative_imports_resolve_like_python():
    assert _module_name(ROOT / "partners" / "services" / "__init__.py") == ("partners.services", True)
    assert _module_name(ROOT / "partners" / "views.py") == ("partners.views", False)
    assert _resolve_relative("partners.views", False, 1, "models") == "partners.models"
    assert _resolve_relative("partners.views", False, 2, "kpis") == "kpis"
    assert _resolve_relative("partners.services", True, 1, None) == "partners.services"
    assert _resolve_relative("partners.services", True, 2, "models") == "partners.models"
    assert _resolve_relative("partners.services.tiers", False, 3, "kpis") == "kpis"
