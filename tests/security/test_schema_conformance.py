"""API answers that contradicted the OpenAPI schema (issue "Fix first"), checked against the schema itself."""

import json

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partners.models import InteractionKind
from tests.incentives.factories import RuleFactory
from tests.openapi import api_schema, assert_documented
from tests.partners.factories import InteractionFactory

pytestmark = pytest.mark.django_db


def _api(user):
    token, _ = Token.objects.get_or_create(user=user)
    return APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def schema(manager_user):
    return api_schema(manager_user)


def test_a_system_interaction_kind_is_in_the_documented_enum(schema, manager_user, partner_a):
    InteractionFactory(partner=partner_a, kind=InteractionKind.STATUS_CHANGED, summary="Status: active")
    response = _api(manager_user).get("/api/v1/interactions/")
    assert response.json()["results"][0]["kind"] == "status_changed"
    assert_documented(schema, path="/api/v1/interactions/", method="GET", response=response)


def test_a_system_kind_is_still_refused_on_write_and_the_schema_says_so(schema, manager_user, partner_a):
    request_enum = schema["components"]["schemas"]["ManualInteractionKindEnum"]["enum"]
    assert "status_changed" not in request_enum
    assert "call" in request_enum
    response = _api(manager_user).post(
        "/api/v1/interactions/", {"partner": partner_a.pk, "kind": "status_changed", "summary": "Forged"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"kind": ['"status_changed" is not a valid choice.']}
    assert_documented(schema, path="/api/v1/interactions/", method="POST", response=response)


def test_programs_for_a_partner_token_match_the_schema_with_a_null_budget(schema, admin_a, partner_a):
    RuleFactory()
    response = _api(admin_a).get("/api/v1/programs/")
    assert response.status_code == 200
    assert response.json()["results"], "the partner sees the running program"
    assert all(program["budget"] is None for program in response.json()["results"])
    assert_documented(schema, path="/api/v1/programs/", method="GET", response=response)


def test_the_bulk_import_with_an_empty_body_matches_its_documented_error(schema, manager_user):
    manager_user.user_permissions.add(Permission.objects.get(content_type__app_label="sales", codename="add_importjob"))
    for body in ("", "{}", json.dumps({"rows": [], "options": {"dry_run": "maybe"}})):
        response = _api(manager_user).post("/api/v1/sales/bulk/", body, content_type="application/json")
        assert response.status_code == 400
        assert_documented(schema, path="/api/v1/sales/bulk/", method="POST", response=response)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/interactions/", {"occurred_after": "yesterday"}),
        ("/api/v1/partners/", {"status": "dormant"}),
        ("/api/v1/payouts/", {"created_after": "2026-13-01"}),
        ("/api/v1/sales/", {"invoice_after": "2026-02-30"}),
    ],
)
def test_a_bad_list_filter_is_a_documented_400(schema, manager_user, path, query):
    response = _api(manager_user).get(path, query)
    assert response.status_code == 400
    assert_documented(schema, path=path, method="GET", response=response)


@pytest.mark.parametrize("path", ["/api/v1/partners/", "/api/v1/ideas/", "/api/v1/scores/", "/api/v1/redemptions/"])
def test_a_page_past_the_end_is_a_documented_404(schema, manager_user, path):
    response = _api(manager_user).get(path, {"page": 999})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}
    assert_documented(schema, path=path, method="GET", response=response)


def test_an_oversized_body_is_a_documented_json_413(schema, admin_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = _api(admin_a).post("/api/v1/ideas/", {"title": "x" * 2000, "body": "y"}, format="json")
    assert response.status_code == 413
    assert_documented(schema, path="/api/v1/ideas/", method="POST", response=response)


def test_another_partners_object_is_a_documented_404(schema, admin_b, partner_a):
    contact = InteractionFactory(partner=partner_a)
    response = _api(admin_b).get(f"/api/v1/interactions/{contact.pk}/")
    assert response.status_code == 404
    assert_documented(schema, path="/api/v1/interactions/{id}/", method="GET", response=response)


def test_an_unknown_token_is_a_documented_answer(schema):
    response = APIClient(HTTP_AUTHORIZATION="Token nope").get("/api/v1/partners/")
    assert response.status_code in (401, 403)
    assert_documented(schema, path="/api/v1/partners/", method="GET", response=response)


@pytest.mark.parametrize("path", ["/api/v1/territories/0.5/", "/api/v2/partners/", "/api/v1/nothing-here/"])
def test_a_path_no_route_matches_is_a_json_404_under_the_api(manager_user, path):
    response = _api(manager_user).get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_page_outside_the_api_keeps_the_html_404(manager_client):
    response = manager_client.get("/partners/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/rewards/", "/api/v1/surveys/", "/api/v1/partners/"])
def test_a_nul_character_in_the_search_is_a_documented_400_naming_the_parameter(schema, manager_user, path):
    response = _api(manager_user).get(path, {"search": "abc\x00"})
    assert response.status_code == 400
    assert response.json() == {"search": ["Null characters are not allowed."]}
    assert_documented(schema, path=path, method="GET", response=response)
