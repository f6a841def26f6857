#!/usr/bin/env python
"""Benchmark of the sales import (issue 3, "Speed"): the COPY engine against a bare COPY of the same file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import_sales.py \
        [--rows 1000000] [--partners 10000] [--small-rows 100000] [--out bench/out] [--explain]

DATABASE_URL (or the settings module named by DJANGO_SETTINGS_MODULE, default config.settings.base)
must point at PostgreSQL: the script refuses SQLite. It only uses that URL to reach the server: every
run drops and re-creates its own database `partnerloop_bench` there, migrates it and loads the
reference data (partners, 50,000 customers, 500 products), so nothing else is touched; the database
is left in place afterwards for inspection.

In one run, on the same generated files (cached in --out, keyed by their parameters), it measures:

(a) a bare `COPY` of the file into a plain, unindexed table of text columns: the floor (the median
    of three runs, as it is short enough for any other process on the machine to skew);
(b) the full import through `sales.imports.import_file` (the COPY engine), with every SQL statement
    timed through `connection.execute_wrapper` and the COPY and the COMMIT measured as the gaps
    around them;
(c) the ratio b / a; (d) the peak resident set size of the importing process, for the small and the
    large file, to show that memory does not grow with the file; (e) a re-import of the same file,
    which must create nothing and leave the number of sales unchanged; (f) rows per second.

Every phase runs in a fresh child process (multiprocessing, spawn), which reports its own peak RSS
(VmHWM) and the RSS it had before the phase began (Python + Django). Before each timed phase the
tables are vacuumed and analysed and a CHECKPOINT is taken, so no phase pays for the previous one's
dirty pages or missing statistics. With --explain the large import is run once more, in a separate
database state that is rolled back, with EXPLAIN (ANALYZE, BUFFERS) of every heavy statement written
to <out>/import_sales_plans.txt.

The Markdown table is printed and written to <out>/import_sales.md.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import random
import re
import resource
import sys
import time
import traceback
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "partnerloop_bench"
GENERATOR_VERSION = 1  # bump when the generator changes, so cached files are rebuilt
COLUMNS = [
    "external_id",
    "partner_external_id",
    "invoice_date",
    "amount",
    "quantity",
    "customer_external_id",
    "product_sku",
    "paid_date",
    "currency",
]
PERIOD_START, PERIOD_END = date(2023, 1, 1), date(2026, 1, 1)  # three years of invoices
CATEGORIES = ["Hardware", "Software licences", "Subscriptions", "Services", "Training", "Accessories"]
COUNTRIES = ["NL", "BE", "DE", "AT", "CH", "GB", "IE", "SE", "DK", "US", "CA", "AU"]
TABLES = ["partners_sale", "partners_salesmonth", "partners_salesmonthdetail"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large file (default 1,000,000)")
    parser.add_argument("--partners", type=int, default=10_000, help="partners the sales are spread over (default 10,000)")
    parser.add_argument("--small-rows", type=int, default=100_000, help="rows of the small file, to compare memory (default 100,000)")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--explain", action="store_true", help="also write EXPLAIN ANALYZE of every heavy statement of the import")
    return parser.parse_args(argv)


# --- Django, in each process ----------------------------------------------------------------------------


def django_setup(db_name=None):
    """Set Django up in this process; with `db_name`, point the default database at it."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    # The base settings want a key unless DEBUG is on; DEBUG stays off (no query log in memory).
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(
            f"The benchmark measures the PostgreSQL COPY engine; DATABASE_URL points at {database['ENGINE']}. "
            "Set DATABASE_URL=postgres://user@host:5432/anydb (the script creates its own database there)."
        )
    if db_name:
        connections.close_all()
        database["NAME"] = db_name  # the handler reads this same dict when it connects
    return database


def _status_kb(field):
    """A figure of /proc/self/status in KB (0 where there is no /proc)."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_now_kb():
    return _status_kb("VmRSS")


def rss_peak_kb():
    """This process's peak RSS. VmHWM starts afresh at exec; `ru_maxrss` of a spawned child would also
    count the pages of the parent it was forked from (Linux carries the high-water mark across exec)."""
    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child_main(function, kwargs, pipe):
    try:
        before = rss_now_kb()
        result = function(**kwargs)
        result["rss_start_kb"] = result.get("rss_start_kb", before)
        result["rss_peak_kb"] = rss_peak_kb()
        pipe.send(("ok", result))
    except BaseException:  # noqa: B036 - everything goes back to the parent, which stops the run
        pipe.send(("error", traceback.format_exc()))
    finally:
        pipe.close()


def in_child(function, **kwargs):
    """Run `function(**kwargs)` in a fresh spawned process and return its result dict."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child_main, args=(function, kwargs, send))
    process.start()
    send.close()
    try:
        status, payload = receive.recv()
    except EOFError:  # the child died without a word (killed, out of memory)
        status, payload = "error", f"exit code {process.exitcode}"
    process.join()
    if status != "ok":
        raise SystemExit(f"{function.__name__} failed in its child process:\n{payload}")
    return payload


# --- The files ------------------------------------------------------------------------------------------


def generate(path, *, rows, partners, customers, products):
    """Write a sales CSV of `rows` lines, reproducible from its parameters; reuse it when it exists.

    Lines come in invoice order (as an ERP exports them), spread over three years, with partners of
    very different sizes (a few large ones, a long tail), an end customer on half the lines, a product
    on almost all, 2% credit notes (negative amount and quantity), a paid date on most older lines, and
    amounts with 4 decimals.
    """
    meta = {"version": GENERATOR_VERSION, "rows": rows, "partners": partners, "customers": customers, "products": products}
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists() and json.loads(meta_path.read_text()) == meta:
        return False
    rng = random.Random(f"partnerloop-bench-{rows}-{partners}-{customers}-{products}")
    days = (PERIOD_END - PERIOD_START).days
    day_text = [(PERIOD_START + timedelta(days=n)).isoformat() for n in range(days + 61)]
    currencies = ["EUR"] * 17 + ["USD", "GBP", "CHF"]
    invoice_days = sorted(rng.randrange(days) for _ in range(rows))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(COLUMNS) + "\n")
        chunk = []
        for number, day in enumerate(invoice_days, start=1):
            partner = int(partners * rng.random() ** 2.5) + 1  # skewed: the first partners are the big ones
            quantity = rng.choice((1, 1, 1, 2, 2, 3, 5, 10, 20, 50))
            amount = quantity * rng.lognormvariate(5.5, 1.1)
            if rng.random() < 0.02:
                amount, quantity = -amount, -quantity
            customer = f"BC-{rng.randrange(customers) + 1:06d}" if rng.random() < 0.5 else ""
            product = f"BP-{rng.randrange(products) + 1:04d}" if rng.random() < 0.97 else ""
            paid = day_text[day + rng.randint(30, 60)] if day < days - 45 and rng.random() < 0.93 else ""
            chunk.append(
                f"INV-{number:09d},BENCH-{partner:06d},{day_text[day]},{amount:.4f},{quantity},{customer},{product},{paid},"
                f"{rng.choice(currencies)}\n"
            )
            if len(chunk) == 10_000:
                handle.write("".join(chunk))
                chunk.clear()
        handle.write("".join(chunk))
    tmp.replace(path)
    meta_path.write_text(json.dumps(meta))
    return True


# --- Phases (each in its own child process) -------------------------------------------------------------


def phase_setup(*, db_name, partners, customers, products):
    """Migrate the fresh database and load the partners, customers and products the files refer to."""
    django_setup(db_name)
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scopes_disabled

    from partners.models import Partner, PartnerStatus, PartnerType
    from sales.models import Customer, Product

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    rng = random.Random("partnerloop-bench-reference")
    with scopes_disabled():
        Partner.objects.bulk_create(
            (
                Partner(
                    name=f"Bench Partner {n:06d}",
                    external_id=f"BENCH-{n:06d}",
                    partner_type=PartnerType.RESELLER if n > 50 else PartnerType.DISTRIBUTOR,
                    status=PartnerStatus.ACTIVE,
                    country=rng.choice(COUNTRIES),
                )
                for n in range(1, partners + 1)
            ),
            batch_size=5000,
        )
        Customer.objects.bulk_create(
            (
                Customer(external_id=f"BC-{n:06d}", name=f"Customer {n:06d}", country=rng.choice(COUNTRIES), segment="SMB")
                for n in range(1, customers + 1)
            ),
            batch_size=5000,
        )
        Product.objects.bulk_create(
            (
                Product(sku=f"BP-{n:04d}", name=f"Product {n:04d}", category=CATEGORIES[n % 6], list_price=rng.randint(5, 5000))
                for n in range(1, products + 1)
            ),
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return {"seconds": time.perf_counter() - started}


def _settle(cursor):
    """Not timed: fresh statistics and no dirty pages left over from the previous phase."""
    cursor.execute(f"VACUUM (ANALYZE) {', '.join(TABLES)}")
    from django.db import DatabaseError

    # CHECKPOINT needs superuser (or pg_checkpoint); without it the figures are only a little noisier.
    with contextlib.suppress(DatabaseError):
        cursor.execute("CHECKPOINT")


def phase_floor(*, db_name, path):
    """(a) The floor: a bare COPY of the whole file into a plain, unindexed table of text columns."""
    django_setup(db_name)
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute(f"CREATE TABLE bench_floor ({', '.join(f'{name} text' for name in COLUMNS)})")
        _settle(cursor)
        rss_start = rss_now_kb()
        started = time.perf_counter()
        with open(path, "rb") as handle, transaction.atomic():  # COPY and COMMIT, like the import
            cursor.copy_expert("COPY bench_floor FROM STDIN WITH (FORMAT csv, HEADER true)", handle, 1024 * 1024)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_floor")
        rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_floor")
    return {"seconds": seconds, "rows": rows, "rss_start_kb": rss_start}


def _label(sql):
    text = " ".join(sql.split())
    for pattern, label in STATEMENT_LABELS:
        if re.search(pattern, text):
            return label
    return "other statements (DDL, SET, savepoints, ANALYZE)"


STATEMENT_LABELS = [
    (r"^CREATE TEMP TABLE pl_rows", "resolve: CREATE TEMP TABLE pl_rows AS (parse, look up ids and sales, checks, duplicate window)"),
    (r"^CREATE TEMP TABLE pl_errors", "validate: CREATE TEMP TABLE pl_errors AS (the bad rows only)"),
    (r"^INSERT INTO partners_sale ", "write: INSERT INTO partners_sale (new lines)"),
    (r"^UPDATE partners_sale ", "write: UPDATE partners_sale (changed lines)"),
    (r"^INSERT INTO pl_affected", "write: months touched (pl_affected)"),
    (r"^CREATE TEMP TABLE pl_dates", "resolve: CREATE TEMP TABLE pl_dates (each distinct date text parsed once)"),
    (r"^DELETE FROM partners_salesmonth m", "rollups: DELETE partners_salesmonth of the months touched"),
    (r"^DELETE FROM partners_salesmonthdetail", "rollups: DELETE partners_salesmonthdetail of the months touched"),
    (r"^INSERT INTO partners_salesmonth \(", "rollups: INSERT partners_salesmonth (grouped)"),
    (r"^INSERT INTO partners_salesmonthdetail", "rollups: INSERT partners_salesmonthdetail (grouped, 3 joins)"),
    (r"^INSERT INTO partners_customerfirstsale", "first sales: INSERT partners_customerfirstsale (first invoice per partner and customer)"),
    (r"(pl_first_lost|FROM partners_customerfirstsale)", "first sales: pairs whose first month was touched"),
    (r"^INSERT INTO partners_marketfirstsale", "first sales: INSERT partners_marketfirstsale (first month per partner and market)"),
    (r"(pl_market_lost|FROM partners_marketfirstsale)", "first sales: markets whose first month was touched"),
    (r"^SELECT count\(\*\), count\(\*\) FILTER \(WHERE bad\) FROM pl_rows$", "count rows"),
    (r"^SELECT count\(\*\) FROM pl_errors$", "count errors"),
]
HEAVY = (
    "pl_rows",
    "pl_errors",
    "pl_dates",
    "pl_affected",
    "INSERT INTO partners_sale",
    "UPDATE partners_sale",
    "DELETE FROM partners_salesmonth",
)


def phase_import(*, db_name, path, source, explain_to=None):
    """(b)/(e) One import through the service, timed statement by statement."""
    django_setup(db_name)
    from django.conf import settings
    from django.db import connection, transaction

    from sales.imports import ImportOptions, import_file

    size = os.path.getsize(path)
    settings.PARTNERLOOP_IMPORT_MAX_BYTES = max(settings.PARTNERLOOP_IMPORT_MAX_BYTES, size)
    with connection.cursor() as cursor:
        _settle(cursor)
        cursor.execute("SELECT count(*) FROM partners_sale")
        sales_before = cursor.fetchone()[0]

    log = []  # (label, start, end)
    plans = []

    def timed(execute, sql, params, many, context):
        start = time.perf_counter()
        if (
            explain_to
            and any(word in sql for word in HEAVY)
            and not sql.lstrip().startswith(("DROP", "ANALYZE", "CREATE TEMP TABLE pl_affected"))
        ):
            plans.append(_explain(context["cursor"].cursor, sql, params))  # the raw cursor: no wrapper
        try:
            return execute(sql, params, many, context)
        finally:
            log.append((" ".join(sql.split()), start, time.perf_counter()))

    marks = {}

    def on_progress(phase, percent):
        if percent >= 100:
            marks["done"] = time.perf_counter()

    rss_start = rss_now_kb()
    outcome = None
    with open(path, "rb") as handle, connection.execute_wrapper(timed):
        arguments = {"entity": "sales", "stream": handle, "size": size, "options": ImportOptions(source=source), "on_progress": on_progress}
        started = time.perf_counter()
        if explain_to:
            # Profile only: the same import inside an outer transaction that is rolled back.
            with transaction.atomic():
                outcome = import_file(**arguments)
                transaction.set_rollback(True)
        else:
            outcome = import_file(**arguments)
        finished = time.perf_counter()
    if explain_to:
        Path(explain_to).write_text("\n\n".join(plans))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM partners_sale")
        sales_after = cursor.fetchone()[0]
    return {
        "seconds": finished - started,
        "rss_start_kb": rss_start,
        "breakdown": _breakdown(log, started, marks.get("done", finished), finished),
        "created": outcome.created,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "rejected": outcome.rejected,
        "rows_total": outcome.rows_total,
        "written": outcome.written,
        "sales_before": sales_before,
        "sales_after": sales_after,
    }


def _explain(cursor, sql, params):
    """EXPLAIN ANALYZE one statement in a savepoint that is rolled back (deferred constraints checked at once, so they show)."""
    cursor.execute("SAVEPOINT bench_explain")
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, TIMING) " + sql, params)
    plan = "\n".join(row[0] for row in cursor.fetchall())
    cursor.execute("ROLLBACK TO SAVEPOINT bench_explain")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return f"-- {' '.join(sql.split())[:300]}\n{plan}"


def _breakdown(log, started, committed, finished):
    """Seconds per step: every statement, the COPY (the gap inside the pl_copy savepoint), the COMMIT and Python."""
    steps = {}
    copy_start = next((end for sql, _start, end in log if sql == "SAVEPOINT pl_copy"), None)
    copy_end = next((start for sql, start, _end in log if sql == "RELEASE SAVEPOINT pl_copy"), None)
    if copy_start is not None and copy_end is not None:
        steps["COPY file -> temp table pl_stage (streamed)"] = copy_end - copy_start
    for sql, start, end in log:
        label = _label(sql)
        steps[label] = steps.get(label, 0.0) + (end - start)
    last_statement_end = max((end for _sql, _start, end in log), default=started)
    steps["COMMIT"] = max(0.0, committed - last_statement_end)
    accounted = sum(steps.values())
    steps["Python between statements"] = max(0.0, (finished - started) - accounted)
    return sorted(steps.items(), key=lambda item: -item[1])


def phase_truncate(*, db_name):
    django_setup(db_name)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)}")
    return {}


# --- The run --------------------------------------------------------------------------------------------


def recreate_database(database, name):
    import psycopg2

    params = {"user": database.get("USER") or None, "password": database.get("PASSWORD") or None}
    params.update(host=database.get("HOST") or None, port=database.get("PORT") or None)
    last_error = None
    for maintenance_db in ("postgres", database["NAME"]):
        if maintenance_db == name:
            continue
        try:
            conn = psycopg2.connect(dbname=maintenance_db, **{k: v for k, v in params.items() if v})
        except psycopg2.OperationalError as error:
            last_error = error
            continue
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return
    raise SystemExit(f"Cannot reach the PostgreSQL server to create {name}: {last_error}")


def server_facts(db_name):
    django_setup(db_name)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('shared_buffers', 'work_mem', 'max_wal_size', 'wal_level', 'synchronous_commit', 'jit', 'autovacuum')"
        )
        settings = dict(cursor.fetchall())
    return {"version": version, "settings": settings}


def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as info:
            memory = f"{int(info.readline().split()[1]) / 1024 / 1024:.0f} GB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory}, Python {platform.python_version()}"


def code_version():
    """The commit measured, and whether the import code had uncommitted changes."""
    import subprocess

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        except OSError:
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "partners/imports", "partners/models.py")
    return f"commit {commit}" + (" with uncommitted changes to the import code" if dirty else "")


def mb(kb):
    return f"{kb / 1024:,.0f} MB"


def report(args, files, results, facts):
    small, large = results["small"], results["large"]
    reimport = results["reimport"]
    lines = [
        "# Sales import benchmark",
        "",
        f"`{' '.join(['python', 'bench/import_sales.py', *sys.argv[1:]])}` ({code_version()}) on {machine()}; "
        f"PostgreSQL {facts['version']} ({', '.join(f'{k}={v}' for k, v in sorted(facts['settings'].items()))}); "
        f"{args.partners:,} partners, {args.customers:,} customers, {args.products:,} products.",
        "",
        f"| | {small['rows']:,} rows ({files['small'] / 1e6:.1f} MB) | {large['rows']:,} rows ({files['large'] / 1e6:.1f} MB) |",
        "| --- | ---: | ---: |",
        f"| (a) bare COPY into a plain text table (floor, median of 3) | {small['floor']:.2f} s | {large['floor']:.2f} s |",
        f"| (b) import through `import_file` (COPY engine) | {small['import']['seconds']:.2f} s | {large['import']['seconds']:.2f} s |",
        f"| (c) ratio b / a (target <= 3) | {small['import']['seconds'] / small['floor']:.1f}x | "
        f"{large['import']['seconds'] / large['floor']:.1f}x |",
        f"| (d) peak RSS of the importing process | {mb(small['import']['rss_peak_kb'])} | {mb(large['import']['rss_peak_kb'])} |",
        f"| (d) of which before the import (Python + Django) | {mb(small['import']['rss_start_kb'])} | "
        f"{mb(large['import']['rss_start_kb'])} |",
        f"| (e) re-import of the same file | | {reimport['seconds']:.2f} s: created {reimport['created']:,}, "
        f"updated {reimport['updated']:,}, unchanged {reimport['unchanged']:,}; sales {reimport['sales_before']:,} -> "
        f"{reimport['sales_after']:,} |",
        f"| (f) rows per second (import) | {small['rows'] / small['import']['seconds']:,.0f} | "
        f"{large['rows'] / large['import']['seconds']:,.0f} |",
        f"| (f) rows per second (floor) | {small['rows'] / small['floor']:,.0f} | {large['rows'] / large['floor']:,.0f} |",
        "",
        f"Where the {large['rows']:,}-row import and its re-import spend their time:",
        "",
        "| step | import | share | re-import | share |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    again = dict(reimport["breakdown"])
    for label, seconds in large["import"]["breakdown"]:
        other = again.get(label, 0.0)
        lines.append(
            f"| {label} | {seconds:.2f} s | {seconds / large['import']['seconds']:.0%} | {other:.2f} s | "
            f"{other / reimport['seconds']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    server = django_setup()  # refuses SQLite before any work
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = {"small": args.small_rows, "large": args.rows}
    paths = {}
    for key, rows in sizes.items():
        paths[key] = args.out / f"sales_{rows}_p{args.partners}_c{args.customers}_s{args.products}.csv"
        started = time.perf_counter()
        made = generate(paths[key], rows=rows, partners=args.partners, customers=args.customers, products=args.products)
        note = f"generated in {time.perf_counter() - started:.1f} s" if made else "cached"
        print(f"{paths[key].name}: {paths[key].stat().st_size / 1e6:.1f} MB, {note}", flush=True)

    recreate_database(server, BENCH_DB)
    setup = in_child(phase_setup, db_name=BENCH_DB, partners=args.partners, customers=args.customers, products=args.products)
    print(f"database {BENCH_DB}: migrated and loaded in {setup['seconds']:.1f} s", flush=True)

    results = {}
    for key in ("small", "large"):
        # The floor is short, so one stray process skews it: take the median of three.
        floors = [in_child(phase_floor, db_name=BENCH_DB, path=str(paths[key])) for _ in range(3)]
        floor = sorted(floors, key=lambda result: result["seconds"])[1]
        runs = ", ".join(f"{result['seconds']:.2f}" for result in floors)
        print(f"{key}: bare COPY of {floor['rows']:,} rows: {floor['seconds']:.2f} s (median of {runs})", flush=True)
        imported = in_child(phase_import, db_name=BENCH_DB, path=str(paths[key]), source=f"bench-{key}")
        print(
            f"{key}: import {imported['seconds']:.2f} s, created {imported['created']:,}, rejected {imported['rejected']:,}, "
            f"peak RSS {mb(imported['rss_peak_kb'])}",
            flush=True,
        )
        if imported["rejected"] or not imported["written"]:
            raise SystemExit(f"The {key} import rejected rows: the generator and the reference data disagree.")
        results[key] = {"rows": floor["rows"], "floor": floor["seconds"], "import": imported}
        if key == "small":
            in_child(phase_truncate, db_name=BENCH_DB)  # the large import starts on empty tables too
    reimport = in_child(phase_import, db_name=BENCH_DB, path=str(paths["large"]), source="bench-large")
    print(f"large: re-import {reimport['seconds']:.2f} s, created {reimport['created']:,}, updated {reimport['updated']:,}", flush=True)
    results["reimport"] = reimport
    if reimport["created"] or reimport["updated"] or reimport["sales_after"] != reimport["sales_before"]:
        print("WARNING: the re-import changed the sales table", flush=True)

    if args.explain:
        in_child(phase_truncate, db_name=BENCH_DB)
        plans = args.out / "import_sales_plans.txt"
        profiled = in_child(phase_import, db_name=BENCH_DB, path=str(paths["large"]), source="bench-large", explain_to=str(plans))
        print(f"EXPLAIN ANALYZE of the heavy statements ({profiled['seconds']:.0f} s, rolled back): {plans}", flush=True)

    facts = in_child(server_facts, db_name=BENCH_DB)
    table = report(args, {key: path.stat().st_size for key, path in paths.items()}, results, facts)
    (args.out / "import_sales.md").write_text(table)
    print()
    print(table)


if __name__ == "__main__":
    main()
