"""The import commands: `import_sales`, `import_partners`, `import_customers`, `import_products`.

They are a door to the import service (tested on its own): these tests check what the door adds,
the import record (channel "cli", counts, who), the summary, the table of rejected rows, the exit
status, the progress bar and the clear one-line errors.
"""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from partners.models import Partner, PartnerType
from sales.imports import jobs
from sales.models import Customer, ImportChannel, ImportJob, ImportStatus, Product, Sale, SalesMonth
from tests.partners.factories import PartnerFactory, UserFactory

GOOD_SALES = """external_id,partner_external_id,invoice_date,amount,product_sku,quantity
INV-1,P-ALPHA,2026-01-15,100.50,SKU-1,2
INV-2,P-ALPHA,2026-01-20,-20.00,SKU-1,-1
INV-3,P-BETA,2026-02-03,1234.5678,,1
"""

# Line 3: an unknown partner; line 4: not an amount and a bad date.
BAD_SALES = """external_id,partner_external_id,invoice_date,amount
INV-1,P-ALPHA,2026-01-15,100.00
INV-2,P-NOBODY,2026-01-16,50.00
INV-3,P-ALPHA,2026-13-01,twelve
"""


@pytest.fixture
def partners(db):
    return PartnerFactory(external_id="P-ALPHA", name="Alpha"), PartnerFactory(external_id="P-BETA", name="Beta")


@pytest.fixture
def product(db):
    return Product.objects.create(sku="SKU-1", name="Router", category="Networking")


def _file(tmp_path, text, name="sales.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _run(command, *args, **options):
    """Run a command; (stdout, stderr, error): the CommandError it ended with, or None."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *[str(arg) for arg in args], stdout=out, stderr=err, no_color=True, **options)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


@pytest.mark.parametrize("engine", ["copy", "python"])
def test_a_good_sales_file_is_imported_and_summarised(tmp_path, partners, product, engine):
    path = _file(tmp_path, GOOD_SALES)

    out, err, error = _run("import_sales", path, "--engine", engine)

    assert error is None
    alpha, beta = partners
    assert Sale.objects.count() == 3
    credit = Sale.objects.get(external_id="INV-2")
    assert (credit.partner, credit.amount, credit.is_credit_note, credit.source) == (alpha, Decimal("-20.0000"), True, "erp")
    assert Sale.objects.get(external_id="INV-3").amount == Decimal("1234.5678")
    assert SalesMonth.objects.get(partner=alpha).revenue == Decimal("80.5000")  # the rollups are kept up to date
    assert "Sales import" in out
    for label, figure in (("rows", 3), ("created", 3), ("updated", 0), ("unchanged", 0), ("rejected", 0)):
        assert f"  {label}" in out
        assert any(line.split() == [label, str(figure)] for line in out.splitlines()), (label, out)
    assert "duration" in out
    assert "outcome" in out
    assert "3 rows imported." in out
    assert "Rejected rows" not in out
    assert err == ""  # no progress bar: stderr is not a terminal and --progress was not given


def test_the_import_is_recorded_with_its_counts_and_the_cli_channel(tmp_path, partners, product):
    path = _file(tmp_path, GOOD_SALES, name="january.csv")

    _run("import_sales", path, "--source", "sap")

    job = ImportJob.objects.get()
    assert (job.entity, job.channel, job.status) == ("sales", ImportChannel.CLI, ImportStatus.SUCCEEDED)
    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_rejected) == (3, 3, 0, 0, 0)
    assert job.file_name == "january.csv"
    assert not job.file  # the command streams the file from disk; no copy is stored
    assert job.created_by is None
    assert job.options["source"] == "sap"
    assert job.started_at
    assert job.finished_at
    assert job.duration is not None
    assert set(Sale.objects.values_list("source", flat=True)) == {"sap"}


def test_user_records_who_started_the_import(tmp_path, partners, product):
    user = UserFactory(username="ops@example.test", email="ops@example.test")

    _run("import_sales", _file(tmp_path, GOOD_SALES), "--user", "OPS@example.test")

    assert ImportJob.objects.get().created_by == user


def test_an_unknown_user_is_a_clear_error_and_nothing_is_recorded(tmp_path, partners):
    _out, _err, error = _run("import_sales", _file(tmp_path, GOOD_SALES), "--user", "nobody@example.test")

    assert str(error) == "No user has the e-mail address nobody@example.test."
    assert not ImportJob.objects.exists()


def test_reimporting_the_same_file_changes_nothing(tmp_path, partners, product):
    path = _file(tmp_path, GOOD_SALES)
    _run("import_sales", path)

    out, _err, error = _run("import_sales", path)

    assert error is None
    assert Sale.objects.count() == 3
    assert any(line.split() == ["unchanged", "3"] for line in out.splitlines())
    second = ImportJob.objects.order_by("pk").last()
    assert (second.rows_created, second.rows_updated, second.rows_unchanged) == (0, 0, 3)


@pytest.mark.parametrize("engine", ["copy", "python"])
def test_a_bad_file_is_rejected_with_a_table_of_its_rows_and_writes_nothing(tmp_path, partners, engine):
    path = _file(tmp_path, BAD_SALES)

    out, _err, error = _run("import_sales", path, "--engine", engine)

    assert str(error) == "2 rows were rejected, so nothing was written."
    assert not Sale.objects.exists()
    assert not SalesMonth.objects.exists()
    table = out[out.index("Rejected rows:") :].splitlines()
    assert table[1].split() == ["line", "column", "reason"]
    rows = [line.split(None, 2) for line in table[3:]]
    assert [(line, column) for line, column, _reason in rows] == [
        ("3", "partner_external_id"),
        ("4", "invoice_date"),
        ("4", "amount"),
    ]
    assert "P-NOBODY" in rows[0][2]
    assert "twelve" in rows[2][2]
    assert "Rejected: 2 rows were rejected" in out
    job = ImportJob.objects.get()
    assert (job.status, job.rows_total, job.rows_rejected, job.rows_created) == (ImportStatus.REJECTED, 3, 2, 0)
    assert len(job.errors) == 3


def test_allow_partial_writes_the_good_rows_and_still_lists_the_bad_ones(tmp_path, partners):
    out, _err, error = _run("import_sales", _file(tmp_path, BAD_SALES), "--allow-partial")

    assert error is None
    assert list(Sale.objects.values_list("external_id", flat=True)) == ["INV-1"]
    assert "Rejected rows:" in out
    assert ImportJob.objects.get().status == ImportStatus.SUCCEEDED


def test_show_limits_the_table(tmp_path, partners):
    out, _err, _error = _run("import_sales", _file(tmp_path, BAD_SALES), "--show", "1")

    table = out[out.index("Rejected rows:") :].splitlines()
    assert len(table) == 5  # title, header, rule, one row, the rest
    assert table[-1] == "… and 2 more problems"


def test_values_from_the_file_cannot_drive_the_terminal(tmp_path, partners):
    path = _file(tmp_path, 'external_id,partner_external_id,invoice_date,amount\nINV-1,"P-\x1b[2J\rX",2026-01-15,1\n')

    out, _err, _error = _run("import_sales", path, "--engine", "python")

    assert "\x1b" not in out
    assert "\r" not in out
    assert "P-\\x1b[2J\\x0dX" in out


def test_dry_run_writes_nothing(tmp_path, partners, product):
    out, _err, error = _run("import_sales", _file(tmp_path, GOOD_SALES), "--dry-run")

    assert error is None
    assert not Sale.objects.exists()
    assert not SalesMonth.objects.exists()
    assert "dry run" in out
    assert any(line.split() == ["created", "3"] for line in out.splitlines())  # what would be created
    job = ImportJob.objects.get()
    assert (job.status, job.rows_created) == (ImportStatus.VALIDATED, 3)
    assert job.options["dry_run"] is True


def test_dry_run_of_a_bad_file_fails(tmp_path, partners):
    out, _err, error = _run("import_sales", _file(tmp_path, BAD_SALES), "--dry-run")

    message = "Dry run: 2 rows would be rejected, so nothing would be imported (all or nothing). 1 row is valid."
    assert str(error) == message
    assert message in out
    assert not Sale.objects.exists()
    job = ImportJob.objects.get()
    assert (job.status, job.rows_total, job.rows_rejected) == (ImportStatus.VALIDATED, 3, 2)


@pytest.mark.parametrize("engine", ["copy", "python"])
def test_a_partial_dry_run_says_what_would_be_imported_and_succeeds(tmp_path, partners, engine):
    out, _err, error = _run("import_sales", _file(tmp_path, BAD_SALES), "--dry-run", "--allow-partial", "--engine", engine)

    assert error is None
    assert "Dry run: 1 row would be imported, 2 rejected; nothing was written." in out
    assert "Rejected rows:" in out
    assert not Sale.objects.exists()
    job = ImportJob.objects.get()
    assert (job.status, job.rows_created, job.rows_rejected) == (ImportStatus.VALIDATED, 1, 2)


def test_a_partial_import_whose_good_rows_are_unchanged_is_not_reported_as_rejected(tmp_path, db):
    """Nothing new to write is not "nothing was written because of the bad rows": the import succeeded."""
    _run("import_products", _file(tmp_path, "sku,name\nSKU-1,Router\n"))

    out, _err, error = _run("import_products", _file(tmp_path, "sku,name\nSKU-1,Router\nSKU-2,\n"), "--allow-partial")

    assert error is None
    job = ImportJob.objects.latest("pk")
    assert (job.status, job.rows_unchanged, job.rows_rejected) == (ImportStatus.SUCCEEDED, 1, 1)
    assert job.message == "1 row imported; 1 rejected row was skipped."
    assert job.message in out


def test_a_partial_import_with_every_row_rejected_fails(tmp_path, partners):
    _out, _err, error = _run(
        "import_sales", _file(tmp_path, "external_id,partner_external_id,invoice_date,amount\nI,P-X,2026-01-01,1\n"), "--allow-partial"
    )

    assert str(error) == "1 row was rejected, so nothing was written."
    assert ImportJob.objects.get().status == ImportStatus.REJECTED


def test_an_interrupted_import_ends_with_one_line_and_a_failed_record(tmp_path, partners, monkeypatch):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs, "import_file", interrupted)

    _out, err, error = _run("import_sales", _file(tmp_path, GOOD_SALES), "--progress")

    assert str(error) == "The import was interrupted before it finished; nothing was written. Run it again."
    assert error.returncode == 130
    assert err.endswith("Failed\n")
    job = ImportJob.objects.get()
    assert (job.status, job.message) == (ImportStatus.FAILED, str(error))


def test_an_unexpected_error_ends_with_one_line_and_a_failed_record(tmp_path, partners, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "import_file", broken)

    _out, _err, error = _run("import_sales", _file(tmp_path, GOOD_SALES))

    assert str(error) == "The import failed unexpectedly; nothing was written. The error has been logged."
    assert error.returncode == 1
    assert ImportJob.objects.get().status == ImportStatus.FAILED


def test_create_missing_creates_unknown_products(tmp_path, partners):
    path = _file(tmp_path, "external_id,partner_external_id,invoice_date,amount,product_sku\nINV-1,P-ALPHA,2026-01-15,10,NEW-SKU\n")

    _out, _err, rejected = _run("import_sales", path)
    _out, _err, error = _run("import_sales", path, "--create-missing")

    assert rejected is not None
    assert error is None
    assert Sale.objects.get().product.sku == "NEW-SKU"


def test_file_format_options_reach_the_import(tmp_path, partners):
    text = "external_id\tpartner_external_id\tinvoice_date\tamount\nINV-1\tP-ALPHA\t31.01.2026\t1.234,56\n"
    path = _file(tmp_path, text, encoding="cp1252")

    _out, _err, error = _run(
        "import_sales", path, "--delimiter", "tab", "--date-format", "dmy", "--decimal", "comma", "--encoding", "cp1252"
    )

    assert error is None
    sale = Sale.objects.get()
    assert (str(sale.invoice_date), sale.amount) == ("2026-01-31", Decimal("1234.5600"))
    options = ImportJob.objects.get().options
    assert (options["delimiter"], options["date_format"], options["decimal"], options["encoding"]) == ("\t", "dmy", "comma", "cp1252")


def test_a_missing_file_is_a_clear_error(tmp_path):
    _out, _err, error = _run("import_sales", tmp_path / "nope.csv")

    assert str(error) == f"File not found: {tmp_path / 'nope.csv'}"


def test_a_missing_file_records_no_import(tmp_path, db):
    _run("import_products", tmp_path / "nope.csv")

    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty."),
        ("external_id,partner_external_id,amount\nINV-1,P-ALPHA,1\n", "Required column(s) missing: invoice_date."),
    ],
)
def test_a_rejected_file_gives_its_one_line_reason(tmp_path, db, text, message):
    out, _err, error = _run("import_sales", _file(tmp_path, text))

    assert str(error) == message
    assert f"Rejected: {message}" in out
    job = ImportJob.objects.get()
    assert (job.status, job.message) == (ImportStatus.REJECTED, message)


def test_progress_bar_with_progress(tmp_path, partners, product):
    _out, err, _error = _run("import_sales", _file(tmp_path, GOOD_SALES), "--progress")

    updates = err.split("\r")
    assert len(updates) > 3
    assert updates[1].startswith("[------------------------------]   0%")
    assert any("Checking rows" in update for update in updates)
    final = updates[-1]
    assert final.startswith("[" + "#" * 30 + "] 100% Imported")
    assert final.endswith("\n")
    assert err.count("\n") == 1  # the bar stays on one line


def test_progress_bar_ends_its_line_when_the_file_is_rejected(tmp_path, db):
    _out, err, error = _run("import_sales", _file(tmp_path, ""), "--progress")

    assert error is not None
    assert err.endswith("Rejected\n")


def test_source_and_engine_are_sales_options(tmp_path, db):
    path = _file(tmp_path, "sku,name\nSKU-9,Switch\n", name="products.csv")

    with pytest.raises(CommandError, match="unrecognized arguments: --source"):
        call_command("import_products", str(path), "--source", "x", stdout=io.StringIO())


def test_import_partners(tmp_path, db):
    text = (
        "external_id,name,partner_type,country,parent_external_id\n"
        "D-1,Delta Distribution,distributor,Germany,\n"
        "R-1,Rho Resellers,reseller,NL,D-1\n"
    )

    out, _err, error = _run("import_partners", _file(tmp_path, text, name="partners.csv"))

    assert error is None
    reseller = Partner.objects.get(external_id="R-1")
    assert (reseller.partner_type, reseller.country.code, reseller.parent.external_id) == (PartnerType.RESELLER, "NL", "D-1")
    assert Partner.objects.get(external_id="D-1").country.code == "DE"
    assert "Partners import" in out
    job = ImportJob.objects.get()
    assert (job.entity, job.channel, job.rows_created) == ("partners", ImportChannel.CLI, 2)


def test_import_partners_rejects_a_bad_row(tmp_path, db):
    text = "external_id,name,partner_type,country\nD-1,Delta,distributor,DE\nX-1,Xi,wholesaler,DE\n"

    out, _err, error = _run("import_partners", _file(tmp_path, text, name="partners.csv"))

    assert error is not None
    assert not Partner.objects.exists()
    assert any(line.split()[:2] == ["3", "partner_type"] for line in out.splitlines())


def test_import_customers(tmp_path, db):
    Customer.objects.create(external_id="C-1", name="Old name", country="NL")
    text = "external_id;name;country;segment\nC-1;Acme BV;NL;SMB\nC-2;Globex GmbH;DE;Enterprise\n"

    out, _err, error = _run("import_customers", _file(tmp_path, text, name="customers.csv"))

    assert error is None
    assert Customer.objects.get(external_id="C-1").name == "Acme BV"
    assert Customer.objects.get(external_id="C-2").segment == "Enterprise"
    assert any(line.split() == ["created", "1"] for line in out.splitlines())
    assert any(line.split() == ["updated", "1"] for line in out.splitlines())


def test_import_products(tmp_path, db):
    text = "sku;name;category;list_price\nSKU-1;Router;Networking;1.299,95\n"

    _out, _err, error = _run("import_products", _file(tmp_path, text, name="products.csv"))

    assert error is None
    assert Product.objects.get().list_price == Decimal("1299.9500")
    assert ImportJob.objects.get().entity == "products"
