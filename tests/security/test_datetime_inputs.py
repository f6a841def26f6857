"""Date-time input with any ISO 8601 offset is an instant, never a 500.

Found by probing (issue "Fix first"): `?occurred_after=2026-01-01T00:00:00+16:00` reached PostgreSQL,
which refuses UTC offsets beyond ±15:59. Every date-time filter and form field now cleans to the
current time zone, and an instant outside the years 1 to 9999 is a field error.
"""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from partners.models import Interaction
from tests.partners.factories import InteractionFactory
from tests.surveys.factories import QuestionFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def api(manager_user):
    token, _ = Token.objects.get_or_create(user=manager_user)
    return APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def two_interactions(partner_a):
    before = InteractionFactory(partner=partner_a, summary="Before", occurred_at=dt.datetime(2025, 12, 31, 7, 59, tzinfo=UTC))
    after = InteractionFactory(partner=partner_a, summary="After", occurred_at=dt.datetime(2025, 12, 31, 8, 0, tzinfo=UTC))
    return before, after


def test_an_offset_beyond_postgresqls_range_filters_by_the_same_instant(api, two_interactions):
    """2026-01-01T00:00+16:00 is 2025-12-31T08:00Z."""
    before, after = two_interactions
    response = api.get("/api/v1/interactions/", {"occurred_after": "2026-01-01T00:00:00+16:00"})
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert after.pk in ids
    assert before.pk not in ids
    response = api.get("/api/v1/interactions/", {"occurred_before": "2025-12-31T00:00:00-08:00"})
    ids = {row["id"] for row in response.json()["results"]}
    assert before.pk in ids
    assert after.pk not in ids


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_an_instant_outside_the_calendar_is_a_400_naming_the_filter(api, value):
    response = api.get("/api/v1/interactions/", {"occurred_after": value})
    assert response.status_code == 400
    assert response.json() == {"occurred_after": ["Enter a date and time between the years 1 and 9999."]}


def test_the_api_takes_an_extreme_offset_on_write(api, partner_a):
    response = api.post(
        "/api/v1/interactions/",
        {"partner": partner_a.pk, "kind": "call", "summary": "Late call", "occurred_at": "2026-01-01T00:00:00+16:00"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Interaction.objects.get(summary="Late call").occurred_at == dt.datetime(2025, 12, 31, 8, 0, tzinfo=UTC)


def test_the_interaction_form_takes_an_extreme_offset(manager_client, partner_a):
    url = reverse("partners:interaction_create", args=[partner_a.pk])
    data = {"kind": "call", "occurred_at": "2026-01-01T00:00:00+16:00", "summary": "Offset call", "details": ""}
    response = manager_client.post(url, data)
    assert response.status_code == 302
    assert Interaction.objects.get(summary="Offset call").occurred_at == dt.datetime(2025, 12, 31, 8, 0, tzinfo=UTC)


def test_the_interaction_form_names_an_impossible_instant(manager_client, partner_a):
    url = reverse("partners:interaction_create", args=[partner_a.pk])
    data = {"kind": "call", "occurred_at": "0001-01-01T00:00:00+14:00", "summary": "Ancient call", "details": ""}
    response = manager_client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.context["interaction_form"].errors == {"occurred_at": ["Enter a date and time between the years 1 and 9999."]}
    assert not Interaction.objects.filter(summary="Ancient call").exists()


def test_the_wave_form_takes_an_extreme_offset(manager_client):
    survey = QuestionFactory().survey
    data = {"name": "Offset wave", "opens_at": "2036-01-01T00:00:00+16:00", "closes_at": "2036-02-01T00:00:00-15:30"}
    response = manager_client.post(reverse("surveys:wave_create", args=[survey.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    wave = survey.waves.get()
    assert wave.opens_at == dt.datetime(2035, 12, 31, 8, 0, tzinfo=UTC)
