"""The manager UI door of the import service: upload, job page with live progress, rejected rows, list."""

import csv
import importlib
import io
import os
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import Client, override_settings
from django.urls import Resolver404, URLResolver, clear_url_caches, reverse
from django.urls.resolvers import RegexPattern
from django.utils import timezone
from django.views.static import serve
from kombu.exceptions import OperationalError

from partners.roles import SALES_PERMISSIONS
from partners.tenancy import MANAGER_GROUP
from sales.forms import ImportUploadForm
from sales.imports import ImportOptions, jobs
from sales.models import ImportChannel, ImportEntity, ImportJob, ImportStatus, Sale
from sales.tasks import run_import_job
from sales.uploads import ENVELOPE_ALLOWANCE, ImportSizeLimitHandler
from tests.partners.factories import ManagerFactory, PartnerFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("sales:imports")
NEW_URL = reverse("sales:import_new")

GOOD_SALES = (
    b"external_id,partner_external_id,invoice_date,amount,quantity\n"
    b"S-1,P-1,2025-01-15,100.00,1\n"
    b"S-2,P-1,2025-02-01,250.50,2\n"
    b"S-3,P-2,2025-02-03,99.99,1\n"
)
BAD_SALES = (
    b"external_id,partner_external_id,invoice_date,amount\nS-1,P-1,2025-01-15,100.00\nS-2,P-404,2025-02-01,250.50\nS-3,P-1,2025-02-30,10\n"
)


@pytest.fixture
def sales_partners(db):
    return PartnerFactory(external_id="P-1"), PartnerFactory(external_id="P-2")


def _upload(client, content=GOOD_SALES, name="sales.csv", **fields):
    data = {"entity": "sales", "date_format": "iso", "decimal": "auto", "source": "erp", **fields}
    if content is not None:
        data["file"] = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(NEW_URL, data)


def _upload_and_run(client, django_capture_on_commit_callbacks, **kwargs):
    """Upload, then run the on-commit callbacks (the Celery task, eager in tests) as a commit would."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _upload(client, **kwargs)
        if response.status_code == 302:
            # Enqueued after commit, not inside the request: until then the job only waits.
            assert ImportJob.objects.latest("pk").status == ImportStatus.PENDING
    return response, callbacks


def _import_callbacks(callbacks):
    """The commit callbacks the upload registered; the import itself adds the KPI overview's refresh."""
    return [callback for callback in callbacks if "ImportCreateView" in callback.__qualname__]


def _counts(html):
    """{label: figure} of the result's count boxes."""
    boxes = re.findall(r'<div class="fs-4">([^<]*)</div><div class="small[^"]*">([^<]*)</div>', html)
    return {label: value for value, label in boxes}


def _table_rows(html, table_id):
    """The text of each cell of each body row of the table with this id, whitespace collapsed."""
    body = html.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in row] for row in cells]


def _job(**fields):
    fields = {"entity": ImportEntity.SALES, "channel": ImportChannel.CLI, "file_name": "sales.csv", **fields}
    return ImportJob.objects.create(**fields)


def _finished_job(**fields):
    started = timezone.now() - timedelta(seconds=3)
    fields = {
        "status": ImportStatus.SUCCEEDED,
        "started_at": started,
        "finished_at": started + timedelta(seconds=2.5),
        "progress": 100,
        **fields,
    }
    return _job(**fields)


# Upload and the job page.


def test_uploading_a_good_sales_file_imports_it_and_shows_the_result(
    manager_client, manager_user, sales_partners, django_capture_on_commit_callbacks
):
    response, callbacks = _upload_and_run(manager_client, django_capture_on_commit_callbacks)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("sales:import_detail", args=[job.pk])
    assert len(_import_callbacks(callbacks)) == 1
    assert (job.entity, job.channel, job.created_by, job.file_name) == ("sales", "upload", manager_user, "sales.csv")
    assert job.status == ImportStatus.SUCCEEDED, job.message
    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_rejected) == (3, 3, 0, 0)
    assert sorted(Sale.objects.values_list("external_id", flat=True)) == ["S-1", "S-2", "S-3"]

    page = manager_client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Imported" in html
    counts = {"Rows": "3", "Created": "3", "Updated": "0", "Unchanged": "0", "Rejected": "0", "Duration": page.context["duration"]}
    assert _counts(html) == counts
    assert page.context["duration"].endswith(" s")
    assert "hx-trigger" not in html
    assert 'id="import-errors"' not in html


def test_re_uploading_the_same_file_updates_nothing(manager_client, sales_partners, django_capture_on_commit_callbacks):
    _upload_and_run(manager_client, django_capture_on_commit_callbacks)
    response, _ = _upload_and_run(manager_client, django_capture_on_commit_callbacks)

    html = manager_client.get(response.url).content.decode()
    assert _counts(html)["Unchanged"] == "3"
    assert _counts(html)["Created"] == "0"
    assert Sale.objects.count() == 3


def test_a_bad_file_shows_the_rejected_rows_and_writes_nothing(manager_client, sales_partners, django_capture_on_commit_callbacks):
    response, _ = _upload_and_run(manager_client, django_capture_on_commit_callbacks, content=BAD_SALES, name="bad.CSV")

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.REJECTED
    assert job.rows_rejected == 2
    assert Sale.objects.count() == 0

    html = manager_client.get(response.url).content.decode()
    assert "Rejected" in html
    assert "nothing was written" in html
    rows = _table_rows(html, "import-errors")
    assert ["3", "partner_external_id", "No partner has the external ID “P-404”."] in rows
    assert ["4", "invoice_date", "“2025-02-30” is not a valid date in the file&#x27;s date format."] in rows
    assert reverse("sales:import_errors_csv", args=[job.pk]) in html


def test_the_errors_csv_has_every_rejected_row(manager_client, sales_partners, django_capture_on_commit_callbacks):
    _upload_and_run(manager_client, django_capture_on_commit_callbacks, content=BAD_SALES)
    job = ImportJob.objects.get()

    response = manager_client.get(reverse("sales:import_errors_csv", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-sales-rejected-rows.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["line", "column", "reason"],
        ["3", "partner_external_id", "No partner has the external ID “P-404”."],
        ["4", "invoice_date", "“2025-02-30” is not a valid date in the file's date format."],
    ]


def test_the_errors_csv_neutralises_spreadsheet_formulas(manager_client):
    nasty = ['=HYPERLINK("http://evil")', "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain"]
    job = _finished_job(status=ImportStatus.REJECTED, errors=[{"line": 2, "column": value, "reason": value} for value in nasty])

    response = manager_client.get(reverse("sales:import_errors_csv", args=[job.pk]))

    rows = list(csv.reader(io.StringIO(response.content.decode(), newline="")))[1:]
    assert [row[1] for row in rows] == [f"'{value}" for value in nasty[:-1]] + ["plain"]
    assert [row[2] for row in rows] == [row[1] for row in rows]


def test_the_job_page_lists_the_first_200_rejected_rows_and_counts_the_rest(manager_client):
    errors = [{"line": line, "column": "amount", "reason": f"bad {line}"} for line in range(2, 207)]
    job = _finished_job(status=ImportStatus.REJECTED, rows_total=205, rows_rejected=205, errors=errors)

    response = manager_client.get(reverse("sales:import_detail", args=[job.pk]))

    html = response.content.decode()
    assert len(response.context["errors"]) == 200
    assert "bad 201" in html
    assert "bad 202" not in html
    assert "And 5 more problems" in html
    download = manager_client.get(reverse("sales:import_errors_csv", args=[job.pk]))
    assert len(list(csv.reader(io.StringIO(download.content.decode())))) == 206


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a CSV file: it is a PNG image."),
        (b"PK\x03\x04\x14\x00\x06\x00binary", "This is not a CSV file: it is a ZIP archive (an Excel .xlsx workbook is one)."),
        (b"external_id,amount\n\x00\x01\x02\n", "This is not a CSV file: it contains binary data."),
        ("external_id,amount\n".encode("utf-16"), "This is not a CSV file: it is UTF-16 text, which this import does not read."),
        (b"\xef\xbb\xbf\r\n \n", "The file is empty: it holds no header and no rows."),
    ],
    ids=["png", "zip", "binary", "utf-16", "blank-lines"],
)
def test_a_file_that_is_not_csv_gets_one_clear_form_error(manager_client, content, message):
    response = _upload(manager_client, content=content, name="sales.csv")

    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["file"]
    (error,) = form.errors["file"]
    assert error.startswith(message)
    assert not ImportJob.objects.exists()


def test_the_upload_is_stored_in_chunks_under_a_name_nobody_can_guess(manager_client, sales_partners, settings):
    """A large upload arrives as a temporary file; it is never read into memory as a whole."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload becomes a TemporaryUploadedFile
    reads = []

    def read_spy(self):
        inner = self.file.read

        def read(*args):
            reads.append(args)
            return inner(*args)

        return read

    with mock.patch.object(TemporaryUploadedFile, "read", property(read_spy)):
        response = _upload(manager_client, name="Q1 sales of ACME.csv")

    assert response.status_code == 302
    assert reads, "the form looks at the first bytes"
    assert all(args and 0 < args[0] <= 64 * 1024 for args in reads), reads
    job = ImportJob.objects.get()
    assert job.file_name == "Q1 sales of ACME.csv"
    assert re.fullmatch(r"imports/\d{4}/\d{2}/[0-9a-f]{32}\.csv", job.file.name), job.file.name
    with job.file.open("rb") as stored:
        assert stored.read() == GOOD_SALES


def test_dry_run_validates_and_writes_nothing(manager_client, sales_partners, django_capture_on_commit_callbacks):
    response, _ = _upload_and_run(manager_client, django_capture_on_commit_callbacks, dry_run="on")

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.VALIDATED
    assert job.options["dry_run"] is True
    assert job.rows_total == 3
    assert Sale.objects.count() == 0
    html = manager_client.get(response.url).content.decode()
    assert "Validated (dry run)" in html
    assert "Dry run: 3 rows would be imported; nothing was written." in html
    assert 'id="dry-run-note"' in html


def test_a_partial_dry_run_with_bad_rows_says_what_would_be_imported(manager_client, sales_partners, django_capture_on_commit_callbacks):
    response, _ = _upload_and_run(manager_client, django_capture_on_commit_callbacks, content=BAD_SALES, dry_run="on", allow_partial="on")

    job = ImportJob.objects.get()
    assert (job.status, job.rows_total, job.rows_created, job.rows_rejected) == (ImportStatus.VALIDATED, 3, 1, 2)
    assert job.message == "Dry run: 1 row would be imported, 2 rejected; nothing was written."
    assert Sale.objects.count() == 0
    html = manager_client.get(response.url).content.decode()
    assert job.message in html
    assert "alert-warning" in html
    assert len(_table_rows(html, "import-errors")) == 2


def test_an_all_or_nothing_dry_run_with_bad_rows_says_the_file_would_import_nothing(
    manager_client, sales_partners, django_capture_on_commit_callbacks
):
    _upload_and_run(manager_client, django_capture_on_commit_callbacks, content=BAD_SALES, dry_run="on")

    job = ImportJob.objects.get()
    assert (job.status, job.rows_total, job.rows_rejected) == (ImportStatus.VALIDATED, 3, 2)
    assert job.message == "Dry run: 2 rows would be rejected, so nothing would be imported (all or nothing). 1 row is valid."
    assert Sale.objects.count() == 0


def test_a_partial_import_says_in_the_singular_what_it_skipped(manager_client, sales_partners, django_capture_on_commit_callbacks):
    content = b"external_id,partner_external_id,invoice_date,amount\nS-1,P-1,2025-01-15,100.00\nS-2,P-404,2025-02-01,250.50\n"
    response, _ = _upload_and_run(manager_client, django_capture_on_commit_callbacks, content=content, allow_partial="on")

    job = ImportJob.objects.get()
    assert (job.status, job.message) == (ImportStatus.SUCCEEDED, "1 row imported; 1 rejected row was skipped.")
    assert job.message in manager_client.get(response.url).content.decode()


def test_a_queue_that_cannot_be_reached_fails_the_job_instead_of_leaving_it_waiting(
    manager_client, sales_partners, django_capture_on_commit_callbacks
):
    with mock.patch.object(run_import_job, "delay", side_effect=OperationalError("Error 111 connecting to redis")):
        response, _ = _upload_and_run(manager_client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "could not be handed to a worker" in job.message
    html = manager_client.get(response.url).content.decode()
    assert "hx-trigger" not in html
    assert "could not be handed to a worker" in html


def test_the_options_reach_the_job(manager_client, sales_partners, django_capture_on_commit_callbacks):
    content = b"external_id;partner_external_id;invoice_date;amount\nS-9;P-1;15-01-2025;1.234,50\n"
    _upload_and_run(
        manager_client,
        django_capture_on_commit_callbacks,
        content=content,
        date_format="dmy",
        decimal="comma",
        source="sap",
        allow_partial="on",
        create_missing="on",
    )

    job = ImportJob.objects.get()
    assert job.status == ImportStatus.SUCCEEDED, job.message
    assert {k: job.options[k] for k in ("date_format", "decimal", "source", "allow_partial", "create_missing", "dry_run")} == {
        "date_format": "dmy",
        "decimal": "comma",
        "source": "sap",
        "allow_partial": True,
        "create_missing": True,
        "dry_run": False,
    }
    sale = Sale.objects.get()
    assert (sale.source, str(sale.amount), sale.invoice_date.isoformat()) == ("sap", "1234.5000", "2025-01-15")


def test_create_missing_is_dropped_for_other_entities(manager_client, django_capture_on_commit_callbacks):
    _upload_and_run(
        manager_client, django_capture_on_commit_callbacks, entity="products", content=b"sku,name\nX-1,Widget\n", create_missing="on"
    )

    assert ImportJob.objects.get().options["create_missing"] is False


@pytest.mark.parametrize(
    ("kwargs", "settings_override", "message"),
    [
        ({"content": None}, {}, "This field is required."),
        ({"name": "sales.xlsx"}, {}, "the name must end in .csv or .txt"),
        ({}, {"PARTNERLOOP_IMPORT_MAX_BYTES": 50}, "the limit is 50"),
        ({"content": b""}, {}, "The submitted file is empty."),
    ],
    ids=["no-file", "wrong-extension", "too-large", "empty"],
)
def test_upload_form_errors_are_400_and_create_no_job(manager_client, kwargs, settings_override, message):
    with override_settings(**settings_override):
        response = _upload(manager_client, **kwargs)

    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["file"]
    (error,) = form.errors["file"]  # one clear error
    assert message in error
    assert "nothing was imported" in response.content.decode()
    assert not ImportJob.objects.exists()


# The size limit bites while the upload streams in, before the file is stored.

OPTIONS = {"entity": "products", "date_format": "dmy", "decimal": "comma", "source": "sap", "dry_run": "on", "allow_partial": "on"}


def _csv_of(size):
    """A CSV file of exactly `size` bytes: a header and padding rows."""
    header = b"sku,name\n"
    row = b"X-1,Widget\n"
    body = header + row * ((size - len(header)) // len(row))
    return body + b"#" * (size - len(body))


def _stored_files(storage, path="imports"):
    if not storage.exists(path):
        return []
    dirs, files = storage.listdir(path)
    return [f"{path}/{name}" for name in files] + [name for d in dirs for name in _stored_files(storage, f"{path}/{d}")]


@pytest.fixture
def temp_file_spy():
    """What reached the temporary-file handler: bytes written, and the paths of the files it created."""
    spy = {"bytes": 0, "paths": []}
    new_file, receive = TemporaryFileUploadHandler.new_file, TemporaryFileUploadHandler.receive_data_chunk

    def spy_new_file(self, *args, **kwargs):
        new_file(self, *args, **kwargs)
        spy["paths"].append(self.file.temporary_file_path())

    def spy_receive(self, raw_data, start):
        spy["bytes"] += len(raw_data)
        return receive(self, raw_data, start)

    with (
        mock.patch.object(TemporaryFileUploadHandler, "new_file", spy_new_file),
        mock.patch.object(TemporaryFileUploadHandler, "receive_data_chunk", spy_receive),
    ):
        yield spy


def _assert_refused_with_options_kept(response, limit_text, stored_before):
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["file"]
    (error,) = form.errors["file"]
    assert error.startswith("The file is ")
    assert error.endswith(f"; the limit is {limit_text}.")
    html = response.content.decode()
    assert "nothing was imported" in html
    for name, value in [("entity", "products"), ("date_format", "dmy"), ("decimal", "comma")]:
        assert re.search(rf'<select name="{name}".*?<option value="{value}" selected>', html, re.S), name
    assert re.search(r'<input type="text" name="source" value="sap"', html)
    assert re.search(r'<input type="checkbox" name="dry_run"[^>]* checked', html)
    assert re.search(r'<input type="checkbox" name="allow_partial"[^>]* checked', html)
    assert not re.search(r'<input type="checkbox" name="create_missing"[^>]* checked', html)
    assert not ImportJob.objects.exists()
    assert _stored_files(default_storage) == stored_before  # the storage outlives a test: compare


@override_settings(PARTNERLOOP_IMPORT_MAX_BYTES=100 * 1024, FILE_UPLOAD_MAX_MEMORY_SIZE=0)
def test_an_upload_over_the_limit_is_stopped_while_it_streams(manager_client, temp_file_spy):
    stored_before = _stored_files(default_storage)

    response = _upload(manager_client, content=_csv_of(150 * 1024), name="big.csv", **OPTIONS)

    _assert_refused_with_options_kept(response, "100.0\xa0KB", stored_before)
    (limiter,) = [h for h in response.wsgi_request.upload_handlers if isinstance(h, ImportSizeLimitHandler)]
    assert limiter.refused
    # Stopped at the first chunk (64 KB at most) past the limit ...
    assert 100 * 1024 < limiter.received <= 100 * 1024 + limiter.chunk_size
    # ... of which the temporary file only got the chunks within the limit, and was deleted.
    assert 0 < temp_file_spy["bytes"] <= 100 * 1024
    assert limiter.received - temp_file_spy["bytes"] <= limiter.chunk_size
    (path,) = temp_file_spy["paths"]
    assert not os.path.exists(path)


@override_settings(PARTNERLOOP_IMPORT_MAX_BYTES=1024, FILE_UPLOAD_MAX_MEMORY_SIZE=0)
def test_an_upload_announced_over_the_limit_is_refused_before_its_first_byte(manager_client, temp_file_spy):
    content = _csv_of(1024 + ENVELOPE_ALLOWANCE + 1)
    stored_before = _stored_files(default_storage)

    response = _upload(manager_client, content=content, name="big.csv", **OPTIONS)

    _assert_refused_with_options_kept(response, "1.0\xa0KB", stored_before)
    (error,) = response.context["form"].errors["file"]
    assert error.startswith("The file is 65.")  # the request's size: the file and its small envelope
    (limiter,) = [h for h in response.wsgi_request.upload_handlers if isinstance(h, ImportSizeLimitHandler)]
    assert (limiter.refused, limiter.received) == (True, 0)
    assert (temp_file_spy["bytes"], temp_file_spy["paths"]) == (0, [])


def test_a_file_just_within_the_limit_is_imported_as_before(manager_client, sales_partners, django_capture_on_commit_callbacks, settings):
    settings.PARTNERLOOP_IMPORT_MAX_BYTES = len(GOOD_SALES)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0

    response, callbacks = _upload_and_run(manager_client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert len(_import_callbacks(callbacks)) == 1
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.SUCCEEDED, job.message
    with job.file.open("rb") as stored:
        assert stored.read() == GOOD_SALES

    settings.PARTNERLOOP_IMPORT_MAX_BYTES = len(GOOD_SALES) - 1
    response = _upload(manager_client)
    assert response.status_code == 400
    assert ImportJob.objects.count() == 1


@override_settings(PARTNERLOOP_IMPORT_MAX_BYTES=50)
def test_options_a_stopped_upload_cut_off_take_their_defaults_with_still_one_error(manager_client):
    """A client that sends the file first loses the options after it; they are not errors of their own."""
    data = {"file": SimpleUploadedFile("sales.csv", GOOD_SALES), "entity": "products", "decimal": "comma"}

    response = manager_client.post(NEW_URL, data)

    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["file"]
    assert "the limit is 50\xa0bytes" in form.errors["file"][0]
    assert (form.data["entity"], form.data["decimal"], form.data["date_format"]) == ("sales", "auto", "iso")
    assert not ImportJob.objects.exists()


@pytest.fixture
def csrf_client(manager_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager_user)
    return client


def test_an_upload_without_a_csrf_token_is_refused(csrf_client, sales_partners):
    response = _upload(csrf_client)

    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_an_upload_with_a_wrong_csrf_token_is_refused_even_over_the_limit(csrf_client, settings):
    csrf_client.get(NEW_URL)
    settings.PARTNERLOOP_IMPORT_MAX_BYTES = 50

    response = _upload(csrf_client, csrfmiddlewaretoken="x" * 64)

    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_an_upload_with_the_csrf_token_is_imported_or_refused_for_its_size(
    csrf_client, sales_partners, django_capture_on_commit_callbacks, settings
):
    token = csrf_client.get(NEW_URL).context["csrf_token"]
    html = csrf_client.get(NEW_URL).content.decode()
    form_html = html.split('enctype="multipart/form-data"', 1)[1].split("</form>", 1)[0]
    # A browser sends the fields in page order: the token and every option arrive before the file.
    order = [form_html.index(f'name="{name}"') for name in ["csrfmiddlewaretoken", *ImportUploadForm.base_fields]]
    assert max(order) == form_html.index('name="file"')

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(csrf_client, csrfmiddlewaretoken=str(token))
    assert response.status_code == 302
    assert ImportJob.objects.get().status == ImportStatus.SUCCEEDED

    settings.PARTNERLOOP_IMPORT_MAX_BYTES = 50
    response = _upload(csrf_client, csrfmiddlewaretoken=str(token))
    assert response.status_code == 400
    assert "the limit is 50\xa0bytes" in response.context["form"].errors["file"][0]
    assert ImportJob.objects.count() == 1


def test_the_upload_page_preselects_the_entity_and_shows_the_formats(manager_client):
    response = manager_client.get(NEW_URL, {"entity": "partners"})

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].initial == {"entity": "partners"}
    assert 'enctype="multipart/form-data"' in html
    assert "external_id, partner_external_id, invoice_date, amount" in html
    assert manager_client.get(NEW_URL, {"entity": "bogus"}).context["form"].initial == {}


# Progress: the partial the job page polls.


def test_a_pending_job_polls_for_progress(manager_client):
    job = jobs.import_job_create(entity="sales", channel="upload", options=ImportOptions(), file_name="sales.csv", content=GOOD_SALES)
    progress_url = reverse("sales:import_progress", args=[job.pk])

    partial = manager_client.get(progress_url).content.decode()
    page = manager_client.get(reverse("sales:import_detail", args=[job.pk])).content.decode()

    for html in (partial, page):
        assert f'hx-get="{progress_url}"' in html
        assert 'hx-trigger="every 1s"' in html
        assert 'hx-swap="outerHTML"' in html
        assert "Waiting for a worker" in html
    assert "<html" not in partial


def test_a_running_job_shows_its_live_phase_and_percent(manager_client):
    job = _job(status=ImportStatus.RUNNING, started_at=timezone.now())
    cache.set(jobs._progress_key(job.pk), ("Reading the file", 42))
    try:
        html = manager_client.get(reverse("sales:import_progress", args=[job.pk])).content.decode()
    finally:
        cache.delete(jobs._progress_key(job.pk))

    assert "Reading the file" in html
    assert 'aria-valuenow="42"' in html
    assert 'data-width-percent="42"' in html
    assert 'hx-trigger="every 1s"' in html


def test_a_finished_job_stops_the_polling(manager_client):
    job = _finished_job(rows_total=7, rows_created=7, message="Imported.")

    response = manager_client.get(reverse("sales:import_progress", args=[job.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "hx-trigger" not in html
    assert "hx-get" not in html
    assert 'id="import-status"' in html
    assert _counts(html)["Created"] == "7"
    assert _counts(html)["Duration"] == "2.5 s"
    assert "no-cache" in response["Cache-Control"]


def test_a_running_job_says_since_when_it_runs(manager_client):
    job = _job(status=ImportStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=5, seconds=10))

    html = manager_client.get(reverse("sales:import_detail", args=[job.pk])).content.decode()

    assert "Started 5\xa0minutes ago." in html
    assert 'hx-trigger="every 1s"' in html


@pytest.mark.parametrize("name", ["sales:import_detail", "sales:import_progress"])
def test_a_job_whose_worker_died_is_shown_failed_and_the_polling_stops(manager_client, name):
    job = _job(status=ImportStatus.RUNNING, started_at=timezone.now() - jobs.STALE_AFTER - timedelta(minutes=1))
    cache.set(jobs._progress_key(job.pk), ("Checking rows", 72))

    html = manager_client.get(reverse(name, args=[job.pk])).content.decode()

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.finished_at is not None
    assert job.message == "The import stopped without finishing (its worker or command was stopped or crashed); nothing was written."
    assert job.message in html
    assert "hx-trigger" not in html
    assert cache.get(jobs._progress_key(job.pk)) is None


def test_a_job_no_worker_ever_started_is_given_up(manager_client):
    job = _job(status=ImportStatus.PENDING, created_at=timezone.now() - jobs.STALE_AFTER - timedelta(minutes=1))

    html = manager_client.get(reverse("sales:import_progress", args=[job.pk])).content.decode()

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "No worker started this import" in html
    assert "hx-trigger" not in html


def test_a_long_import_that_is_still_within_the_limit_keeps_running(manager_client):
    job = _job(status=ImportStatus.RUNNING, started_at=timezone.now() - jobs.STALE_AFTER + timedelta(minutes=1))

    html = manager_client.get(reverse("sales:import_progress", args=[job.pk])).content.decode()

    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING
    assert 'hx-trigger="every 1s"' in html


# The list of every import.


def test_the_list_shows_imports_from_every_channel(manager_client, manager_user):
    _finished_job(channel=ImportChannel.CLI, file_name="from-cli.csv", rows_total=10, rows_created=4, rows_updated=3, rows_unchanged=2)
    _job(channel=ImportChannel.API, entity=ImportEntity.SALES, file_name="", status=ImportStatus.REJECTED, rows_rejected=5)
    _job(channel=ImportChannel.UPLOAD, entity=ImportEntity.PRODUCTS, file_name="products.csv", created_by=manager_user)

    response = manager_client.get(LIST_URL)

    assert response.status_code == 200
    rows = [row[1:] for row in _table_rows(response.content.decode(), "import-table")]  # without the date
    assert rows == [
        ["Maria Manager Upload", "Products", "products.csv", "—", "—", "Waiting"],
        ["— API", "Sales", "—", "0", "0", "0", "0", "5", "—", "Rejected"],
        ["— Command line", "Sales", "from-cli.csv", "10", "4", "3", "2", "0", "2.5 s", "Imported"],
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"entity": "sales"}, {"s-ok.csv", "s-bad.csv"}),
        ({"entity": "products"}, {"p-ok.csv"}),
        ({"status": "rejected"}, {"s-bad.csv"}),
        ({"channel": "api"}, {"p-ok.csv"}),
        ({"entity": "sales", "status": "succeeded"}, {"s-ok.csv"}),
        ({"status": "bogus"}, {"s-ok.csv", "s-bad.csv", "p-ok.csv"}),
    ],
)
def test_the_list_filters_by_entity_status_and_channel(manager_client, params, expected):
    _finished_job(file_name="s-ok.csv")
    _job(file_name="s-bad.csv", status=ImportStatus.REJECTED)
    _finished_job(file_name="p-ok.csv", entity=ImportEntity.PRODUCTS, channel=ImportChannel.API)

    response = manager_client.get(LIST_URL, params)

    assert response.status_code == 200
    assert {job.file_name for job in response.context["page_obj"]} == expected


def test_the_list_paginates_and_survives_a_bad_page(manager_client):
    for n in range(30):
        _job(file_name=f"file-{n}.csv")

    assert len(manager_client.get(LIST_URL).context["page_obj"]) == 25
    assert len(manager_client.get(LIST_URL, {"page": 2}).context["page_obj"]) == 5
    for page in ("abc", "999", "-1"):
        assert manager_client.get(LIST_URL, {"page": page}).status_code == 200
    assert "entity=sales&amp;page=2" in manager_client.get(LIST_URL, {"entity": "sales"}).content.decode()


def test_the_list_has_an_empty_state(manager_client):
    assert "No imports yet" in manager_client.get(LIST_URL).content.decode()
    _job()
    assert "No imports match these filters" in manager_client.get(LIST_URL, {"entity": "customers"}).content.decode()


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_query_count_does_not_grow_with_the_data(manager_client, django_assert_num_queries, count):
    for n in range(count):
        _finished_job(created_by=ManagerFactory(), file_name=f"file-{n}.csv", errors=[{"line": 2, "column": "amount", "reason": "x"}])

    with django_assert_num_queries(6):
        # 1 session, 2 user, 3-4 the user's own and group permissions (is_channel_manager),
        # 5 COUNT for the paginator, 6 the page of jobs with who started them (one JOIN).
        response = manager_client.get(LIST_URL)

    assert response.status_code == 200
    assert len(response.context["page_obj"]) == min(count, 25)


# Who may see what.

IMPORT_PAGES = [
    "sales:imports",
    "sales:import_new",
    "sales:import_detail",
    "sales:import_progress",
    "sales:import_errors_csv",
]


def _import_url(name, job):
    return reverse(name, args=[job.pk]) if name not in ("sales:imports", "sales:import_new") else reverse(name)


@pytest.mark.parametrize("persona", ["admin_a", "user_a"])
@pytest.mark.parametrize("name", IMPORT_PAGES)
def test_partner_users_get_403_on_every_import_page(request, client, persona, name):
    client.force_login(request.getfixturevalue(persona))
    job = _finished_job(errors=[{"line": 2, "column": "amount", "reason": "secret"}])

    response = client.get(_import_url(name, job))

    assert response.status_code == 403
    assert "secret" not in response.content.decode()


@pytest.mark.parametrize("persona", ["admin_a", "user_a"])
def test_partner_users_cannot_upload(request, client, persona, sales_partners, django_capture_on_commit_callbacks):
    client.force_login(request.getfixturevalue(persona))

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client)

    assert response.status_code == 403
    assert not ImportJob.objects.exists()
    assert not Sale.objects.exists()


@pytest.mark.parametrize("name", IMPORT_PAGES)
def test_anonymous_users_are_sent_to_sign_in(client, name):
    url = _import_url(name, _job())

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert _upload(client).status_code == 302
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize("persona", ["admin_a", "user_a", None])
@pytest.mark.parametrize("name", IMPORT_PAGES)
def test_partner_users_and_anonymous_cannot_post_to_any_import_url(request, client, persona, name):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    job = _finished_job()

    response = client.post(_import_url(name, job), {"entity": "sales"})

    assert response.status_code == (403 if persona else 302)
    assert ImportJob.objects.count() == 1


def test_uploaded_files_are_not_served_from_the_media_url_even_in_debug(manager_client, sales_partners, settings):
    """The stored import file has no public URL: only manager views read imports."""
    _upload(manager_client)
    path = ImportJob.objects.get().file.name
    settings.DEBUG = True
    try:
        urls = importlib.reload(importlib.import_module("config.urls"))
        resolver = URLResolver(RegexPattern(r"^/"), urls.urlpatterns)
        with pytest.raises(Resolver404):
            resolver.resolve(f"/media/{path}")
        assert not any(getattr(p, "callback", None) is serve for p in urls.urlpatterns)
    finally:
        settings.DEBUG = False
        importlib.reload(importlib.import_module("config.urls"))
        clear_url_caches()


@pytest.mark.parametrize("name", ["sales:import_detail", "sales:import_progress", "sales:import_errors_csv"])
def test_a_missing_job_is_404(manager_client, name):
    assert manager_client.get(reverse(name, args=[999999])).status_code == 404


def test_a_manager_without_the_add_permission_cannot_upload(manager_client):
    Group.objects.get(name=MANAGER_GROUP).permissions.remove(Permission.objects.get(codename="add_importjob"))

    assert manager_client.get(NEW_URL).status_code == 403
    assert _upload(manager_client).status_code == 403
    list_page = manager_client.get(LIST_URL)
    assert list_page.status_code == 200
    assert NEW_URL not in list_page.content.decode()


def test_the_channel_managers_group_can_view_sales_data_and_imports():
    assert SALES_PERMISSIONS["importjob"] == ("view", "add")
    codenames = set(Group.objects.get(name=MANAGER_GROUP).permissions.values_list("codename", flat=True))
    assert {"view_importjob", "add_importjob", "view_sale", "view_customer", "view_product", "view_salesmonth"} <= codenames
    assert "delete_importjob" not in codenames


def test_the_navigation_and_the_partner_list_link_to_imports(manager_client):
    html = manager_client.get(reverse("partners:list")).content.decode()

    assert f'href="{LIST_URL}"' in html
    assert f'href="{NEW_URL}?entity=partners"' in html
