"""The sales data API: read-only sales, customers, products and monthly rollups, and the bulk import.

`POST /api/v1/sales/bulk/` turns its rows into a CSV file and runs the same import as an upload, so
these tests are about the door (shape of the answers, limits, who may call it), with enough of the
import itself (all or nothing, idempotency, exact decimals) to show the door passes everything through.
"""

import datetime as dt
import json
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sales.api import SalesBulkThrottle, SalesBulkView
from sales.imports import jobs
from sales.models import Customer, ImportChannel, ImportJob, ImportStatus, Product, Sale, SalesMonth
from tests.partners.factories import UserFactory

pytestmark = pytest.mark.django_db

BULK = "/api/v1/sales/bulk/"


def token_client(user):
    token, _ = Token.objects.get_or_create(user=user)
    return APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")


def _permission(codename):
    return Permission.objects.get(codename=codename)


@pytest.fixture
def importer(manager_user):
    """A channel manager allowed to import (granted explicitly, whatever the group holds)."""
    manager_user.user_permissions.add(_permission("add_importjob"))
    return manager_user


@pytest.fixture
def api(importer):
    return token_client(importer)


@pytest.fixture
def api_a(user_a):
    return token_client(user_a)


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _row(external_id, partner, amount="100.00", invoice_date="2024-01-31", **extra):
    return {"external_id": external_id, "partner_external_id": partner.external_id, "invoice_date": invoice_date, "amount": amount, **extra}


def _bulk(client, rows, **options):
    body = {"rows": rows}
    if options:
        body["options"] = options
    return client.post(BULK, body, format="json")


def _customer(external_id, **fields):
    return Customer.objects.create(external_id=external_id, name=fields.pop("name", f"Customer {external_id}"), **fields)


def _product(sku, **fields):
    return Product.objects.create(sku=sku, name=fields.pop("name", f"Product {sku}"), **fields)


def _sale(partner, external_id, amount="100.0000", invoice_date=dt.date(2024, 1, 15), **fields):
    amount = Decimal(amount)
    return Sale.objects.create(
        partner=partner, external_id=external_id, amount=amount, invoice_date=invoice_date, is_credit_note=amount < 0, **fields
    )


# --- bulk: happy path and idempotency ------------------------------------------------------------


class TestBulkImport:
    def test_rows_are_imported_and_the_import_is_recorded(self, api, importer, partner_a, partner_b):
        customer = _customer("C-1")
        product = _product("SKU-1", category="Hardware")
        rows = [
            _row("INV-1", partner_a, amount="1234.5678", customer_external_id="C-1", product_sku="SKU-1", quantity="2"),
            _row("INV-2", partner_a, amount="-99.95", invoice_date="2024-02-02", quantity="-1", currency="usd", original_amount="-110"),
            _row("INV-3", partner_b, amount="10", paid_date="2024-02-15"),
        ]
        response = _bulk(api, rows)

        assert response.status_code == 200, response.json()
        body = response.json()
        job = ImportJob.objects.get()
        assert body == {
            "job": job.pk,
            "status": "succeeded",
            "rows": 3,
            "created": 3,
            "updated": 0,
            "unchanged": 0,
            "rejected": 0,
            "errors": [],
        }
        # recorded like every other import, with the API as its door
        assert (job.entity, job.channel, job.status, job.created_by) == ("sales", ImportChannel.API, ImportStatus.SUCCEEDED, importer)
        assert (job.rows_total, job.rows_created) == (3, 3)
        assert job.options["source"] == "erp"
        assert job.finished_at is not None

        first, credit, other = (Sale.objects.get(external_id=ext) for ext in ("INV-1", "INV-2", "INV-3"))
        assert first.amount == Decimal("1234.5678")  # 4 decimals kept exactly
        assert (first.partner, first.customer, first.product, first.quantity) == (partner_a, customer, product, Decimal("2"))
        assert (first.source, first.invoice_date, first.is_credit_note) == ("erp", dt.date(2024, 1, 31), False)
        assert (credit.amount, credit.is_credit_note, credit.currency, credit.original_amount) == (
            Decimal("-99.95"),
            True,
            "USD",
            Decimal("-110"),
        )
        assert (other.partner, other.paid_date) == (partner_b, dt.date(2024, 2, 15))
        # and rolled up, as by every import
        months = {(m.partner_id, m.month): m.revenue for m in SalesMonth.objects.all()}
        assert months == {
            (partner_a.pk, dt.date(2024, 1, 1)): Decimal("1234.5678"),
            (partner_a.pk, dt.date(2024, 2, 1)): Decimal("-99.95"),
            (partner_b.pk, dt.date(2024, 1, 1)): Decimal("10"),
        }

    def test_json_numbers_are_read_exactly_not_as_floats(self, api, partner_a):
        """A float would make 12345678901234.5678 into 12345678901234.568; strings stay the recommended form."""
        ext = partner_a.external_id
        raw = (
            '{"rows": ['
            f'{{"external_id": "N-1", "partner_external_id": "{ext}", "invoice_date": "2024-01-31", "amount": 12345678901234.5678}},'
            f'{{"external_id": "N-2", "partner_external_id": "{ext}", "invoice_date": "2024-01-31", "amount": 0.1, "quantity": 3}},'
            f'{{"external_id": "N-3", "partner_external_id": "{ext}", "invoice_date": "2024-01-31", "amount": 1E+3}},'
            f'{{"external_id": 4, "partner_external_id": "{ext}", "invoice_date": "2024-01-31", "amount": -5.25, "quantity": -1}}'
            "]}"
        )
        response = api.post(BULK, raw, content_type="application/json")
        assert response.status_code == 200, response.json()
        amounts = dict(Sale.objects.values_list("external_id", "amount"))
        assert amounts == {"N-1": Decimal("12345678901234.5678"), "N-2": Decimal("0.1"), "N-3": Decimal("1000"), "4": Decimal("-5.25")}
        assert Sale.objects.get(external_id="N-2").quantity == Decimal("3")

    def test_a_second_identical_call_changes_nothing(self, api, partner_a):
        rows = [_row("INV-1", partner_a, amount="1.0001"), _row("INV-2", partner_a, amount="2.0002")]
        assert _bulk(api, rows).json()["created"] == 2
        before = list(Sale.objects.order_by("pk").values_list("pk", "amount", "updated_at"))

        again = _bulk(api, rows)
        assert again.status_code == 200
        assert {key: again.json()[key] for key in ("status", "rows", "created", "updated", "unchanged")} == {
            "status": "succeeded",
            "rows": 2,
            "created": 0,
            "updated": 0,
            "unchanged": 2,
        }
        assert list(Sale.objects.order_by("pk").values_list("pk", "amount", "updated_at")) == before
        assert ImportJob.objects.count() == 2  # but every call is recorded

    def test_a_changed_row_is_updated_in_place(self, api, partner_a):
        _bulk(api, [_row("INV-1", partner_a, amount="1.00"), _row("INV-2", partner_a, amount="2.00")])
        response = _bulk(api, [_row("INV-1", partner_a, amount="1.50"), _row("INV-2", partner_a, amount="2.00")])
        assert (response.json()["created"], response.json()["updated"], response.json()["unchanged"]) == (0, 1, 1)
        assert Sale.objects.get(external_id="INV-1").amount == Decimal("1.50")
        assert Sale.objects.count() == 2

    def test_the_source_option_keeps_systems_apart(self, api, partner_a):
        _bulk(api, [_row("INV-1", partner_a)])
        response = _bulk(api, [_row("INV-1", partner_a)], source="shop")
        assert response.json()["created"] == 1
        assert sorted(Sale.objects.values_list("source", flat=True)) == ["erp", "shop"]

    def test_commas_quotes_and_non_ascii_survive_the_csv_in_between(self, api, partner_a):
        customer = _customer('Müller, "Kunde" 7')
        product = _product("SKU;1")
        rows = [_row('INV,"1"', partner_a, customer_external_id=customer.external_id, product_sku="SKU;1"), _row("Фактура-2", partner_a)]
        response = _bulk(api, rows)
        assert response.status_code == 200, response.json()
        sale = Sale.objects.get(external_id='INV,"1"')
        assert (sale.customer, sale.product) == (customer, product)
        assert Sale.objects.filter(external_id="Фактура-2").exists()

    def test_unknown_keys_are_ignored_and_null_is_empty(self, api, partner_a):
        row = _row("INV-1", partner_a, customer_external_id=None, note={"free": ["text"]}, External_Id="not a column")
        response = _bulk(api, [row])
        assert response.status_code == 200, response.json()
        assert Sale.objects.get().customer is None


# --- bulk: rejected rows and all or nothing ------------------------------------------------------


def _bad_rows(partner):
    return [
        _row("INV-1", partner),
        {**_row("INV-2", partner), "partner_external_id": "NOPE"},
        _row("INV-3", partner, amount="12.34567", invoice_date="2024-02-30"),
    ]


class TestBulkRejectedRows:
    def test_rejected_rows_are_a_400_listing_every_error_and_nothing_is_written(self, api, partner_a):
        response = _bulk(api, _bad_rows(partner_a))

        assert response.status_code == 400
        body = response.json()
        job = ImportJob.objects.get()
        assert {key: body[key] for key in ("job", "status", "rows", "created", "updated", "unchanged", "rejected")} == {
            "job": job.pk,
            "status": "rejected",
            "rows": 3,
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "rejected": 2,
        }
        assert body["errors"] == [
            {"line": 3, "column": "partner_external_id", "reason": "No partner has the external ID “NOPE”.", "row": 1},
            {"line": 4, "column": "invoice_date", "reason": "“2024-02-30” is not a valid date in the file's date format.", "row": 2},
            {"line": 4, "column": "amount", "reason": "“12.34567” has more than 4 decimals.", "row": 2},
        ]
        assert body["detail"] == "2 rows were rejected, so nothing was written."
        assert not Sale.objects.exists()  # not even the good first row
        assert not SalesMonth.objects.exists()
        assert job.status == ImportStatus.REJECTED
        assert len(job.errors) == 3

    def test_allow_partial_writes_the_good_rows_and_reports_the_others(self, api, partner_a):
        response = _bulk(api, _bad_rows(partner_a), allow_partial=True)
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["created"], body["rejected"]) == ("succeeded", 1, 2)
        assert [error["row"] for error in body["errors"]] == [1, 2, 2]
        assert list(Sale.objects.values_list("external_id", flat=True)) == ["INV-1"]

    def test_a_duplicate_external_id_in_one_call_is_rejected(self, api, partner_a):
        response = _bulk(api, [_row("INV-1", partner_a), _row("INV-1", partner_a, amount="5")])
        assert response.status_code == 400
        assert [(error["row"], error["column"]) for error in response.json()["errors"]] == [(0, "external_id"), (1, "external_id")]
        assert not Sale.objects.exists()

    def test_missing_required_values_are_reported_per_column(self, api, partner_a):
        response = _bulk(api, [_row("INV-1", partner_a), {"external_id": "INV-2", "amount": "1"}])
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert [(e["row"], e["column"], e["reason"]) for e in errors] == [
            (1, "partner_external_id", "A value is required."),
            (1, "invoice_date", "A value is required."),
        ]

    def test_unknown_products_and_customers_are_rejected_unless_asked_to_create_them(self, api, partner_a):
        rows = [_row("INV-1", partner_a, product_sku="NEW-SKU", customer_external_id="NEW-CUST")]
        refused = _bulk(api, rows)
        assert refused.status_code == 400
        assert [error["column"] for error in refused.json()["errors"]] == ["customer_external_id", "product_sku"]
        assert not Product.objects.exists()

        created = _bulk(api, rows, create_missing=True)
        assert created.status_code == 200, created.json()
        sale = Sale.objects.select_related("product", "customer").get()
        assert (sale.product.sku, sale.customer.external_id) == ("NEW-SKU", "NEW-CUST")

    def test_a_request_the_import_refuses_as_a_whole_is_a_400_with_a_detail(self, api, partner_a):
        with override_settings(PARTNERLOOP_IMPORT_MAX_BYTES=50):
            response = _bulk(api, [_row("INV-1", partner_a)])
        assert response.status_code == 400
        assert set(response.json()) == {"detail"}
        assert "limit" in response.json()["detail"]
        assert ImportJob.objects.get().status == ImportStatus.REJECTED
        assert not Sale.objects.exists()


# --- bulk: dry run -------------------------------------------------------------------------------


class TestBulkDryRun:
    def test_a_dry_run_counts_and_writes_nothing(self, api, partner_a):
        _bulk(api, [_row("INV-1", partner_a, amount="1")])
        response = _bulk(api, [_row("INV-1", partner_a, amount="2"), _row("INV-2", partner_a)], dry_run=True)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["status"], body["created"], body["updated"], body["unchanged"]) == ("validated", 1, 1, 0)
        assert list(Sale.objects.values_list("external_id", "amount")) == [("INV-1", Decimal("1.0000"))]
        assert ImportJob.objects.get(pk=body["job"]).status == ImportStatus.VALIDATED

    def test_a_dry_run_with_bad_rows_is_a_400(self, api, partner_a):
        response = _bulk(api, _bad_rows(partner_a), dry_run=True)
        assert response.status_code == 400
        body = response.json()
        assert (body["status"], body["rows"], body["rejected"]) == ("validated", 3, 2)
        assert body["detail"] == "Dry run: 2 rows would be rejected, so nothing would be imported (all or nothing). 1 row is valid."
        assert not Sale.objects.exists()

    def test_a_partial_dry_run_with_bad_rows_says_what_would_be_imported(self, api, partner_a):
        response = _bulk(api, _bad_rows(partner_a), dry_run=True, allow_partial=True)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["status"], body["created"], body["rejected"]) == ("validated", 1, 2)
        assert [error["row"] for error in body["errors"]] == [1, 2, 2]
        job = ImportJob.objects.get(pk=body["job"])
        assert job.message == "Dry run: 1 row would be imported, 2 rejected; nothing was written."
        assert not Sale.objects.exists()

    def test_one_rejected_row_is_said_in_the_singular(self, api, partner_a):
        response = _bulk(api, [_row("INV-1", partner_a), {**_row("INV-2", partner_a), "partner_external_id": "NOPE"}])
        assert response.status_code == 400
        assert response.json()["detail"] == "1 row was rejected, so nothing was written."


# --- bulk: the request itself --------------------------------------------------------------------


class TestBulkRequestValidation:
    def test_more_rows_than_the_limit_is_a_400_with_a_clear_message(self, api, partner_a):
        rows = [_row(f"INV-{n}", partner_a) for n in range(4)]
        with override_settings(PARTNERLOOP_BULK_API_MAX_ROWS=3):
            too_many = _bulk(api, rows)
            just_enough = _bulk(api, rows[:3])
        assert too_many.status_code == 400
        assert too_many.json() == {"rows": ["At most 3 rows can be sent in one call; this request has 4. Split it into several calls."]}
        assert just_enough.status_code == 200
        assert just_enough.json()["created"] == 3
        assert ImportJob.objects.count() == 1  # the refused call never reached the import

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"rows": []}, {"rows": ["Send at least one row."]}),
            ({"rows": {"external_id": "INV-1"}}, {"rows": ["Expected a list of rows but got dict."]}),
            ({"rows": "INV-1,P,2024-01-31,1"}, {"rows": ["Expected a list of rows but got str."]}),
            ({"rows": None}, {"rows": ["This field may not be null."]}),
            ({}, {"rows": ["This field is required."]}),
            ({"rows": ["INV-1"]}, {"rows": {"0": ["Each row must be an object of column names and values."]}}),
        ],
    )
    def test_a_malformed_rows_value_is_a_400(self, api, body, expected):
        response = api.post(BULK, body, format="json")
        assert response.status_code == 400
        assert response.json() == expected
        assert not ImportJob.objects.exists()

    def test_a_row_without_any_sales_column_is_a_400(self, api, partner_a):
        """Most likely misspelt keys ("externalId"): say so rather than report four missing values."""
        response = _bulk(api, [_row("INV-1", partner_a), {"externalId": "INV-2", "amount ": "1"}])
        assert response.status_code == 400
        assert response.json()["rows"]["1"] == [
            "The row has none of the sales columns (external_id, partner_external_id, invoice_date, amount, customer_external_id, "
            "product_sku, quantity, paid_date, currency, original_amount)."
        ]
        assert not ImportJob.objects.exists()

    @pytest.mark.parametrize(
        "value",
        [
            "true",
            '{"value": "1"}',
            "[1]",
            r'"1\n2"',  # a line break
            r'"1\r"',
            r'"1\u0000"',  # a NUL character
            r'"\ud800"',  # an unpaired surrogate: valid JSON, not UTF-8
        ],
    )
    def test_a_value_that_is_not_a_plain_string_or_number_is_a_400_naming_row_and_column(self, api, partner_a, value):
        good = json.dumps(_row("INV-1", partner_a))
        bad = json.dumps(_row("INV-2", partner_a, amount="AMOUNT")).replace('"AMOUNT"', value)
        response = api.post(BULK, f'{{"rows": [{good}, {bad}]}}', content_type="application/json")
        assert response.status_code == 400
        assert list(response.json()["rows"]) == ["1"]
        assert list(response.json()["rows"]["1"]) == ["amount"]
        assert not Sale.objects.exists()
        assert not ImportJob.objects.exists()

    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"dryrun": True}, "non_field_errors"),
            ({"source": ""}, "source"),
            ({"source": "x" * 41}, "source"),
            ({"dry_run": "maybe"}, "dry_run"),
        ],
    )
    def test_bad_options_are_a_400_and_nothing_is_written(self, api, partner_a, options, field):
        response = _bulk(api, [_row("INV-1", partner_a)], **options)
        assert response.status_code == 400
        assert field in response.json()["options"]
        assert not Sale.objects.exists()

    def test_a_misspelt_option_is_named(self, api, partner_a):
        response = _bulk(api, [_row("INV-1", partner_a)], dryrun=True)
        assert response.json() == {"options": {"non_field_errors": ["Unknown option(s): dryrun."]}}

    @pytest.mark.parametrize("raw", ["not json", '{"rows": [', '[{"external_id": "x"}]', '{"rows": [{"external_id": "x", "amount": NaN}]}'])
    def test_a_body_that_is_not_a_json_object_is_a_400(self, api, raw):
        response = api.post(BULK, raw, content_type="application/json")
        assert response.status_code == 400
        assert not ImportJob.objects.exists()

    def test_only_json_is_accepted(self, api, partner_a):
        response = api.post(BULK, {"rows": "x"}, format="multipart")
        assert response.status_code == 415

    def test_an_oversized_body_is_refused_before_parsing(self, api, partner_a):
        with override_settings(PARTNERLOOP_BULK_API_MAX_ROWS=1):
            response = _bulk(api, [_row("INV-1", partner_a, note="x" * 80_000)])
        assert response.status_code == 413
        assert "send at most 1 row per call" in response.json()["detail"]
        assert not ImportJob.objects.exists()

    def test_a_body_nested_too_deeply_is_a_400_not_a_500(self, api):
        response = api.post(BULK, "[" * 100_000 + "]" * 100_000, content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {"detail": "JSON parse error - the body is nested too deeply."}
        assert not ImportJob.objects.exists()

    def test_a_limit_of_one_row_is_said_in_the_singular(self, api, partner_a):
        with override_settings(PARTNERLOOP_BULK_API_MAX_ROWS=1):
            response = _bulk(api, [_row("INV-1", partner_a), _row("INV-2", partner_a)])
        assert response.json() == {"rows": ["At most 1 row can be sent in one call; this request has 2. Split it into several calls."]}

    def test_an_unexpected_failure_is_recorded_as_failed(self, importer, partner_a):
        client = APIClient(raise_request_exception=False)
        client.force_authenticate(importer)
        with mock.patch.object(jobs, "import_file", side_effect=RuntimeError("boom")):
            response = _bulk(client, [_row("INV-1", partner_a)])
        assert response.status_code == 500
        job = ImportJob.objects.get()
        assert (job.status, job.message) == (
            ImportStatus.FAILED,
            "The import failed unexpectedly; nothing was written. The error has been logged.",
        )

    def test_get_is_not_offered(self, api):
        assert api.get(BULK).status_code == 405


# --- bulk: who may call it -----------------------------------------------------------------------


class TestBulkPermissions:
    @pytest.mark.parametrize("persona", ["user_a", "admin_a"])
    def test_partner_users_get_403_and_nothing_is_written(self, request, persona, partner_a):
        response = _bulk(token_client(request.getfixturevalue(persona)), [_row("INV-1", partner_a)])
        assert response.status_code == 403
        assert not Sale.objects.exists()
        assert not ImportJob.objects.exists()

    def test_a_partner_user_holding_the_permission_by_mistake_still_gets_403(self, user_a, partner_a):
        user_a.user_permissions.add(_permission("add_importjob"), _permission("view_partner"))
        response = _bulk(token_client(user_a), [_row("INV-1", partner_a)])
        assert response.status_code == 403
        assert not Sale.objects.exists()

    def test_a_channel_manager_without_the_import_permission_gets_403(self, partner_a):
        manager = UserFactory(is_staff=True)
        manager.user_permissions.add(_permission("view_partner"))
        client = token_client(manager)
        assert client.get("/api/v1/sales/").status_code == 200  # a channel manager all right
        assert _bulk(client, [_row("INV-1", partner_a)]).status_code == 403
        assert not ImportJob.objects.exists()

    def test_anonymous_is_refused(self, partner_a):
        response = _bulk(APIClient(), [_row("INV-1", partner_a)])
        assert response.status_code in (401, 403)
        assert not ImportJob.objects.exists()

    def test_the_channel_managers_group_may_import(self, manager_user, partner_a):
        """partners/roles.py grants the group the import permission; no explicit grant here."""
        assert not manager_user.user_permissions.exists()
        assert _bulk(token_client(manager_user), [_row("INV-1", partner_a)]).status_code == 200

    def test_a_superuser_may_import(self, superuser, partner_a):
        assert _bulk(token_client(superuser), [_row("INV-1", partner_a)]).status_code == 200

    def test_session_auth_works_too(self, importer, partner_a):
        client = APIClient()
        client.force_login(importer)
        assert _bulk(client, [_row("INV-1", partner_a)]).status_code == 200

    def test_calls_are_throttled_per_user(self, api, partner_a, monkeypatch):
        assert SalesBulkThrottle in SalesBulkView.throttle_classes
        assert SalesBulkThrottle.rate == "120/minute"
        monkeypatch.setattr(SalesBulkThrottle, "rate", "2/minute")
        monkeypatch.setattr(SalesBulkThrottle, "cache", LocMemCache("sales-bulk-throttle-test", {}))
        assert [_bulk(api, [_row("INV-1", partner_a)]).status_code for _ in range(3)] == [200, 200, 429]
        assert ImportJob.objects.count() == 2


# --- reading: sales, customers, products, monthly rollups ----------------------------------------


@pytest.fixture
def world(partner_a, partner_b):
    """Sales of both partners; one customer buys through both, each partner also has a customer of its own."""
    shared = _customer("C-SHARED", name="Shared Customer")
    only_a = _customer("C-A", name="Alpha End Customer")
    only_b = _customer("C-B", name="Beta End Customer")
    nobody = _customer("C-NONE", name="Customer Without Sales")
    laptop = _product("SKU-LAPTOP", category="Hardware", list_price=Decimal("999.0000"))
    support = _product("SKU-SUPPORT", category="Services", is_active=False)
    return {
        "shared": shared,
        "only_a": only_a,
        "only_b": only_b,
        "nobody": nobody,
        "laptop": laptop,
        "support": support,
        "a_jan": _sale(partner_a, "A-1", "1000.0000", dt.date(2024, 1, 10), customer=shared, product=laptop),
        "a_jan_2": _sale(partner_a, "A-2", "250.5000", dt.date(2024, 1, 20), customer=shared, product=support),
        "a_feb": _sale(partner_a, "A-3", "-100.0000", dt.date(2024, 2, 5), customer=only_a, product=laptop, quantity=-1),
        "a_mar_shop": _sale(partner_a, "A-4", "75.0000", dt.date(2024, 3, 1), source="shop"),
        "b_jan": _sale(partner_b, "B-1", "5000.0000", dt.date(2024, 1, 15), customer=shared, product=laptop),
        "b_feb": _sale(partner_b, "B-2", "20.0000", dt.date(2024, 2, 28), customer=only_b),
        "a_month_jan": SalesMonth.objects.create(partner=partner_a, month=dt.date(2024, 1, 1), revenue=Decimal("1250.5")),
        "a_month_feb": SalesMonth.objects.create(partner=partner_a, month=dt.date(2024, 2, 1), revenue=Decimal("-100")),
        "b_month_jan": SalesMonth.objects.create(partner=partner_b, month=dt.date(2024, 1, 1), revenue=Decimal("5000")),
    }


class TestReadingAsPartnerUser:
    def test_sales_are_only_its_own(self, api_a, world):
        response = api_a.get("/api/v1/sales/")
        assert _ids(response) == [world[k].pk for k in ("a_mar_shop", "a_feb", "a_jan_2", "a_jan")]  # newest first
        assert "B-1" not in response.content.decode()

    def test_sale_detail(self, api_a, world, partner_a):
        response = api_a.get(f"/api/v1/sales/{world['a_jan'].pk}/")
        assert response.status_code == 200
        body = response.json()
        assert body["amount"] == "1000.0000"
        assert (body["partner"], body["partner_external_id"]) == (partner_a.pk, partner_a.external_id)
        assert (body["customer_external_id"], body["product_sku"], body["source"], body["external_id"]) == (
            "C-SHARED",
            "SKU-LAPTOP",
            "erp",
            "A-1",
        )
        shop = api_a.get(f"/api/v1/sales/{world['a_mar_shop'].pk}/").json()
        assert (shop["customer"], shop["customer_external_id"], shop["product_sku"]) == (None, None, None)

    def test_another_partners_sale_is_404_like_a_missing_one(self, api_a, world):
        other = api_a.get(f"/api/v1/sales/{world['b_jan'].pk}/")
        missing = api_a.get("/api/v1/sales/999999999/")
        assert other.status_code == missing.status_code == 404
        assert other.json() == missing.json()

    def test_filtering_by_another_partner_does_not_leak(self, api_a, world, partner_b):
        response = api_a.get("/api/v1/sales/", {"partner": partner_b.pk})
        assert response.status_code == 400 or response.json()["count"] == 0
        assert "B-1" not in response.content.decode()
        assert _ids(api_a.get("/api/v1/sales/", {"customer_external_id": "C-SHARED"})) == [world["a_jan_2"].pk, world["a_jan"].pk]

    def test_sales_months_are_only_its_own(self, api_a, world):
        response = api_a.get("/api/v1/sales-months/")
        assert _ids(response) == [world["a_month_jan"].pk, world["a_month_feb"].pk]
        assert response.json()["results"][0]["revenue"] == "1250.5000"
        assert api_a.get(f"/api/v1/sales-months/{world['a_month_jan'].pk}/").status_code == 200
        assert api_a.get(f"/api/v1/sales-months/{world['b_month_jan'].pk}/").status_code == 404

    def test_customers_are_those_that_bought_through_it(self, api_a, world):
        response = api_a.get("/api/v1/customers/")
        assert _ids(response) == [world["only_a"].pk, world["shared"].pk]  # by name, each once despite several sales
        assert response.json()["count"] == 2
        assert api_a.get(f"/api/v1/customers/{world['shared'].pk}/").status_code == 200
        assert api_a.get(f"/api/v1/customers/{world['only_a'].pk}/").json()["name"] == "Alpha End Customer"

    @pytest.mark.parametrize("key", ["only_b", "nobody"])
    def test_other_customers_are_404(self, api_a, world, key):
        other = api_a.get(f"/api/v1/customers/{world[key].pk}/")
        missing = api_a.get("/api/v1/customers/999999999/")
        assert other.status_code == missing.status_code == 404
        assert other.json() == missing.json()
        assert api_a.get("/api/v1/customers/", {"search": world[key].external_id}).json()["count"] == 0

    def test_products_are_the_whole_catalogue(self, api_a, world):
        response = api_a.get("/api/v1/products/")
        assert _ids(response) == [world["laptop"].pk, world["support"].pk]
        assert response.json()["results"][0]["list_price"] == "999.0000"
        assert api_a.get(f"/api/v1/products/{world['support'].pk}/").status_code == 200

    def test_a_user_without_a_partner_sees_no_sales_data(self, world):
        client = token_client(UserFactory())
        for path in ("/api/v1/sales/", "/api/v1/sales-months/", "/api/v1/customers/"):
            assert client.get(path).json()["count"] == 0, path
        assert client.get(f"/api/v1/customers/{world['shared'].pk}/").status_code == 404

    def test_the_sales_list_takes_a_fixed_number_of_queries(self, api_a, partner_a, world, django_assert_num_queries):
        def list_sales():
            with django_assert_num_queries(5):  # token + user, lockout check, membership + partner, count, the page
                response = api_a.get("/api/v1/sales/", {"page_size": 500})
            return response.json()["results"]

        assert len(list_sales()) == 4
        for n in range(10):
            _sale(partner_a, f"A-MORE-{n}", "1", customer=_customer(f"C-MORE-{n}"), product=_product(f"SKU-MORE-{n}"))
        assert len(list_sales()) == 14


class TestReadingAsManager:
    @pytest.fixture
    def manager_api(self, manager_user):
        return token_client(manager_user)

    def test_managers_see_everything(self, manager_api, world):
        assert len(_ids(manager_api.get("/api/v1/sales/"))) == 6
        assert len(_ids(manager_api.get("/api/v1/sales-months/"))) == 3
        assert set(_ids(manager_api.get("/api/v1/customers/"))) == {world[k].pk for k in ("shared", "only_a", "only_b", "nobody")}
        assert manager_api.get(f"/api/v1/customers/{world['nobody'].pk}/").status_code == 200

    def test_sales_filters(self, manager_api, world, partner_a, partner_b):
        def ids(**params):
            return set(_ids(manager_api.get("/api/v1/sales/", params)))

        w = world
        assert ids(partner=partner_b.pk) == {w["b_jan"].pk, w["b_feb"].pk}
        assert ids(source="shop") == {w["a_mar_shop"].pk}
        assert ids(invoice_after="2024-02-05") == {w["a_feb"].pk, w["b_feb"].pk, w["a_mar_shop"].pk}  # inclusive
        assert ids(invoice_before="2024-01-15") == {w["a_jan"].pk, w["b_jan"].pk}  # inclusive
        assert ids(invoice_after="2024-01-11", invoice_before="2024-01-31") == {w["a_jan_2"].pk, w["b_jan"].pk}
        assert ids(is_credit_note="true") == {w["a_feb"].pk}
        assert len(ids(is_credit_note="false")) == 5
        assert ids(product_sku="SKU-SUPPORT") == {w["a_jan_2"].pk}
        assert ids(customer_external_id="C-SHARED", partner=partner_a.pk) == {w["a_jan"].pk, w["a_jan_2"].pk}

    def test_sales_ordering(self, manager_api, world):
        def order(value):
            return [row["external_id"] for row in manager_api.get("/api/v1/sales/", {"ordering": value}).json()["results"]]

        assert order("amount") == ["A-3", "B-2", "A-4", "A-2", "A-1", "B-1"]
        assert order("-amount") == ["B-1", "A-1", "A-2", "A-4", "B-2", "A-3"]
        assert order("invoice_date") == ["A-1", "B-1", "A-2", "A-3", "B-2", "A-4"]

    def test_sales_months_filters(self, manager_api, world, partner_a):
        def ids(**params):
            return _ids(manager_api.get("/api/v1/sales-months/", params))

        assert ids(partner=partner_a.pk) == [world["a_month_jan"].pk, world["a_month_feb"].pk]
        assert set(ids(month_after="2024-02")) == {world["a_month_feb"].pk}
        assert set(ids(month_before="2024-01")) == {world["a_month_jan"].pk, world["b_month_jan"].pk}
        assert set(ids(month_after="2024-01-31", month_before="2024-01-01")) == {world["a_month_jan"].pk, world["b_month_jan"].pk}

    def test_product_filters(self, manager_api, world):
        assert _ids(manager_api.get("/api/v1/products/", {"category": "Services"})) == [world["support"].pk]
        assert _ids(manager_api.get("/api/v1/products/", {"is_active": "false"})) == [world["support"].pk]
        assert _ids(manager_api.get("/api/v1/products/", {"search": "laptop"})) == [world["laptop"].pk]

    @pytest.mark.parametrize(
        ("path", "param", "value"),
        [
            ("sales", "invoice_after", "yesterday"),
            ("sales", "invoice_before", "2024-02-30"),
            ("sales", "is_credit_note", "maybe"),
            ("sales", "partner", "abc"),
            ("sales", "partner", "999999999"),
            ("sales", "ordering", "password"),
            ("sales-months", "month_after", "2024-13"),
            ("sales-months", "month_before", "soon"),
            ("sales-months", "month_before", "2024-02-30"),
            ("sales-months", "partner", "x"),
            ("products", "is_active", "perhaps"),
        ],
    )
    def test_a_bad_filter_value_is_a_json_400_naming_the_field(self, manager_api, world, path, param, value):
        response = manager_api.get(f"/api/v1/{path}/", {param: value})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/json")
        assert param in response.json()

    @pytest.mark.parametrize("path", ["sales", "sales-months", "customers", "products"])
    def test_writes_are_not_offered(self, manager_api, world, path):
        obj = {"sales": world["a_jan"], "sales-months": world["a_month_jan"], "customers": world["shared"], "products": world["laptop"]}[
            path
        ]
        assert manager_api.post(f"/api/v1/{path}/", {}, format="json").status_code == 405
        for method in ("put", "patch", "delete"):
            assert getattr(manager_api, method)(f"/api/v1/{path}/{obj.pk}/", {}, format="json").status_code == 405
        assert Sale.objects.filter(pk=world["a_jan"].pk, amount=Decimal("1000")).exists()


class TestImportedSalesReadBack:
    def test_a_partner_user_reads_its_rollups_after_a_bulk_import(self, api, api_a, partner_a, partner_b):
        rows = [
            _row("X-1", partner_a, amount="10.1234", invoice_date="2024-05-02"),
            _row("X-2", partner_a, amount="5", invoice_date="2024-05-30"),
            _row("X-3", partner_b, amount="99", invoice_date="2024-05-15"),
        ]
        assert _bulk(api, rows).status_code == 200
        months = api_a.get("/api/v1/sales-months/").json()["results"]
        assert [(m["month"], m["revenue"], m["line_count"]) for m in months] == [("2024-05-01", "15.1234", 2)]
        assert {row["external_id"] for row in api_a.get("/api/v1/sales/").json()["results"]} == {"X-1", "X-2"}


class TestSchema:
    def test_the_bulk_endpoint_is_documented_with_its_bodies(self, signed_in_client):
        schema = signed_in_client.get("/api/schema/", {"format": "json"}).json()
        operation = schema["paths"][BULK]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/SalesBulkRequest")
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SalesBulkResult")
        assert operation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/SalesBulkRejected")
        rows = schema["components"]["schemas"]["SalesBulkRequest"]["properties"]["rows"]
        assert rows["maxItems"] == 10_000
        assert rows["items"]["required"] == ["external_id", "partner_external_id", "invoice_date", "amount"]
        for path in ("/api/v1/sales/", "/api/v1/customers/", "/api/v1/products/", "/api/v1/sales-months/"):
            assert set(schema["paths"][path]) == {"get"}
            assert "Read-only" in schema["paths"][path]["get"]["description"]
