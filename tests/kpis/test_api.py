"""The kpis API: scores (scoped reads), at-risk alerts and the channel overview (channel managers).

Tenancy of every route (another partner's snapshot is a 404, partner users get 403 on the manager
routes) is in tests/security/test_tenancy.py; here the behaviour a client of the API relies on.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from kpis import selectors, services
from kpis.models import Alert, AlertKind, Band, ChannelCube, ScoreSnapshot
from tests.partners.factories import PartnerFactory, TerritoryFactory
from tests.sales.factories import SalesMonthFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(manager_user):
    client = APIClient()
    client.force_authenticate(manager_user)
    return client


def _snapshot(partner, day, score, band=Band.WATCH):
    return ScoreSnapshot.objects.create(
        partner=partner, date=day, score_model=services.score_model_current(), score=Decimal(score), band=band, components={}
    )


def test_scores_filter_by_partner_period_and_band(api):
    alpha, beta = PartnerFactory(), PartnerFactory()
    today = timezone.localdate()
    _snapshot(alpha, today - timedelta(days=40), "70.00")
    recent = _snapshot(alpha, today, "45.50", Band.AT_RISK)
    _snapshot(beta, today, "82.00", Band.HEALTHY)

    rows = api.get("/api/v1/scores/", {"partner": alpha.pk, "date_from": today - timedelta(days=7)}).json()["results"]
    assert [(row["id"], row["score"], row["band"], row["score_model_version"]) for row in rows] == [(recent.pk, "45.50", "at_risk", 1)]
    at_risk = api.get("/api/v1/scores/", {"band": "at_risk"}).json()["results"]
    assert [row["partner"] for row in at_risk] == [alpha.pk]
    assert api.get("/api/v1/scores/", {"band": "excellent"}).status_code == 400


def test_alerts_are_listed_open_first_and_acknowledged_once(api, manager_user):
    partner = PartnerFactory()
    alert = Alert.objects.create(partner=partner, date=date(2026, 5, 1), kind=AlertKind.SHARP_DROP, score=40, message="Dropped.")
    assert [row["id"] for row in api.get("/api/v1/score-alerts/", {"open": "true"}).json()["results"]] == [alert.pk]

    first = api.post(f"/api/v1/score-alerts/{alert.pk}/acknowledge/")
    assert first.status_code == 200
    assert first.json()["acknowledged_by"] == manager_user.pk
    acknowledged_at = first.json()["acknowledged_at"]
    assert api.post(f"/api/v1/score-alerts/{alert.pk}/acknowledge/").json()["acknowledged_at"] == acknowledged_at
    assert api.get("/api/v1/score-alerts/", {"open": "true"}).json()["results"] == []
    assert api.post("/api/v1/score-alerts/999999/acknowledge/").status_code == 404


def test_the_overview_gives_the_pages_figures_and_builds_the_cube_once(api):
    north = TerritoryFactory()
    partner = PartnerFactory(territory=north, joined_on=date(2024, 1, 1))
    SalesMonthFactory(partner=partner, month=date(2025, 2, 1), revenue=Decimal("1200.50"))
    assert not ChannelCube.objects.exists()

    response = api.get("/api/v1/kpis/overview/", {"period": "custom", "start": "2025-01-01", "end": "2025-03-31", "territory": north.pk})

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {"start": "2025-01-01", "end": "2025-03-31"}
    assert body["previous_period"] == {"start": "2024-10-01", "end": "2024-12-31"}
    assert body["filters"] == {"territory": north.pk}
    assert body["kpis"]["revenue"] == {"value": 1200.5, "previous": 0, "change": 1200.5}  # numbers, as the rest of the API
    assert body["figures_as_of"] is not None
    assert ChannelCube.objects.count() == 1
    direct = selectors.channel_overview_direct(period_start=date(2025, 1, 1), period_end=date(2025, 3, 31), filters={"territory": north.pk})
    assert body["kpis"]["partners"]["value"] == direct["kpis"]["partners"]["value"] == 1


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"period": "custom", "start": "2025-03-01", "end": "2025-01-31"}, "end", "The period cannot end before it starts."),
        ({"period": "custom", "start": "2025-03-01"}, "end", "Give the last day of a custom period."),
        ({"period": "weekly"}, "period", "Select a valid choice."),
        ({"territory": "999999"}, "territory", "Select a valid choice."),
    ],
)
def test_bad_overview_filters_are_400_naming_the_field(api, params, field, message):
    response = api.get("/api/v1/kpis/overview/", params)
    assert response.status_code == 400
    assert any(message in text for text in response.json()[field])
