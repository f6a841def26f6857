"""Request bodies the API must answer with a clear JSON error, never a 500 or Django's HTML page.

Found by probing (issue "Fix first"): a deeply nested JSON body raised RecursionError (500) on every
endpoint but the bulk import; a body over DATA_UPLOAD_MAX_MEMORY_SIZE got Django's HTML 400 page,
so the bulk import could not take its documented 10,000 rows.
"""

import json

import pytest
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from sales.models import ImportJob, Sale
from surveys.models import Idea
from tests.sales.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

NESTED = "[" * 1_000 + "]" * 1_000


def _client(user):
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def importer(manager_user):
    from django.contrib.auth.models import Permission

    manager_user.user_permissions.add(Permission.objects.get(content_type__app_label="sales", codename="add_importjob"))
    return manager_user


@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("admin_a", "/api/v1/ideas/"),
        ("admin_a", "/api/v1/redemptions/"),
        ("manager_user", "/api/v1/partners/"),
        ("manager_user", "/api/v1/contacts/"),
        ("manager_user", "/api/v1/interactions/"),
    ],
)
def test_a_deeply_nested_body_is_a_json_400_on_every_endpoint(request, persona, path):
    client = _client(request.getfixturevalue(persona))
    response = client.post(path, '{"title": ' + NESTED + ', "name": ' + NESTED + "}", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the body is nested too deeply."}


def test_a_nested_idea_writes_nothing(admin_a):
    _client(admin_a).post("/api/v1/ideas/", '{"title": ' + NESTED + ', "body": "x"}', content_type="application/json")
    assert not Idea.objects.exists()


def test_a_body_over_the_upload_limit_is_a_json_413_that_says_the_limit(admin_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = json.dumps({"title": "x" * (1024 * 1024), "body": "y"})
    response = _client(admin_a).post("/api/v1/ideas/", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is larger than the limit of 1 MB."}
    assert not Idea.objects.exists()


def test_a_form_body_over_the_limit_under_a_session_is_a_json_answer(client, admin_a, settings):
    """A form-encoded body is read by the CSRF check before any parser: still JSON, and no 500."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client.force_login(admin_a)
    response = client.post("/api/v1/ideas/", "title=" + "x" * 4096, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (413, 415)
    assert response["Content-Type"] == "application/json"


def test_a_body_refused_before_any_api_view_is_json_under_api(rf):
    from django.core.exceptions import RequestDataTooBig

    from partners.api_errors import api_bad_request

    response = api_bad_request(rf.post("/api/v1/ideas/"), RequestDataTooBig("too big"))
    assert response.status_code == 413
    assert json.loads(response.content)["detail"].startswith("The request body is larger than the limit of 2.5 MB")
    html = api_bad_request(rf.post("/partners/"), RequestDataTooBig("too big"))
    assert html.status_code == 400
    assert b"<" in html.content


def _full_row(number, partner, customer, product):
    return {
        "external_id": f"INV-2024-{number:06d}-LINE-0001",
        "partner_external_id": partner.external_id,
        "invoice_date": "2024-03-31",
        "amount": "12345.6789",
        "customer_external_id": customer.external_id,
        "product_sku": product.sku,
        "quantity": "12.5000",
        "paid_date": "2024-04-30",
        "currency": "SEK",
        "original_amount": "140000.0000",
    }


def test_the_bulk_import_takes_its_documented_10000_rows_with_every_column(importer, partner_a):
    customer = CustomerFactory(external_id="CUSTOMER-000000000000000001")
    product = ProductFactory(sku="PRODUCT-SKU-0000000000000001")
    rows = [_full_row(number, partner_a, customer, product) for number in range(10_000)]
    body = json.dumps({"rows": rows}, indent=1)
    assert len(body) > 2.5 * 1024 * 1024  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    response = _client(importer).post("/api/v1/sales/bulk/", body, content_type="application/json")
    assert response.status_code == 200, response.content[:500]
    assert response.json()["created"] == 10_000
    assert Sale.objects.count() == 10_000


def test_an_oversized_bulk_body_is_a_json_413_naming_the_row_limit(importer):
    with override_settings(PARTNERLOOP_BULK_API_MAX_ROWS=10):
        body = json.dumps({"rows": [{"external_id": "x" * 100_000}]})
        response = _client(importer).post("/api/v1/sales/bulk/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 0.1 MB; send at most 10 rows per call."}
    assert not ImportJob.objects.exists()
