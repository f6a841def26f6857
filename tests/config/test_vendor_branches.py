"""No database-vendor branches in domain code (docs/architecture.md, "Fast paths and their fallbacks").

PostgreSQL runs production and the tests, SQLite runs `make run`. Where a write has a PostgreSQL fast
path and a portable fallback, both live in a fast-path module, one function per write, so a test can
run both on the same data (tests/kpis/test_fastpaths.py, tests/sales/test_rollup_fallback.py). Every
.py module of every app (migrations aside) is parsed, never imported, and any read of `.vendor`
(`connection.vendor`, `connections["x"].vendor`, `getattr(connection, "vendor")`) outside ALLOWED fails.
"""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ("core", "partners", "sales", "deals", "enablement", "cases", "incentives", "surveys", "kpis", "portal", "demo")
ALLOWED = {
    "kpis/fastpaths.py",  # snapshot upsert, alert insert, cube cell COPY, each with its ORM fallback
    "sales/imports/rollups.py",  # the rollup refresh as pl_affected SQL and as portable ORM code; rebuild_all picks
    "sales/imports/__init__.py",  # the sales import engine: COPY on PostgreSQL, Python elsewhere
    "sales/imports/sales_copy.py",  # the COPY engine itself
}


def vendor_reads(source, filename="<source>"):
    """[(line, text)] of every read of a `vendor` attribute in `source`."""
    tree = ast.parse(source, filename=filename)
    found = []
    for node in ast.walk(tree):
        attribute = isinstance(node, ast.Attribute) and node.attr == "vendor"
        by_name = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "hasattr"}
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "vendor"
        )
        if attribute or by_name:
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def _modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" not in relative.parts:
                yield relative.as_posix(), path


def test_the_checker_sees_every_form_of_a_vendor_read():
    source = """
from django.db import connection, connections
if connection.vendor == "postgresql":
    pass
engine = "copy" if connections["default"].vendor != "sqlite" else "python"
kind = getattr(connection, "vendor", None)
text = "the vendor's business"  # words are no branch
vendor = "acme"  # nor is a name
"""
    assert [line for line, _text in vendor_reads(source)] == [3, 5, 6]


def test_the_allowed_modules_exist_and_every_app_is_read():
    modules = dict(_modules())
    assert set(modules) >= ALLOWED
    assert {name.split("/")[0] for name in modules} == set(APPS)
    assert vendor_reads((ROOT / "kpis/fastpaths.py").read_text(encoding="utf-8"))  # the fast paths do choose


def test_domain_code_reads_no_database_vendor():
    offences = [
        f"{name}:{line}: {text}"
        for name, path in _modules()
        if name not in ALLOWED
        for line, text in vendor_reads(path.read_text(encoding="utf-8"), filename=name)
    ]
    assert offences == [], "move the vendor-specific write into a fast-path module (docs/architecture.md):\n" + "\n".join(offences)
