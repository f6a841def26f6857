"""The portal scorecard: a partner sees its own score and only channel aggregates, never another partner's figures."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kpis import selectors, services
from kpis.models import Band, ScoreSnapshot
from partners.models import MembershipRole
from tests.partners.factories import MembershipFactory, PartnerFactory, TerritoryFactory
from tests.sales.factories import SalesMonthFactory

pytestmark = pytest.mark.django_db

URL = "/portal/scorecard/"


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _components(**normalised):
    """Snapshot components: the given ones present with weight 10 each (shares renormalised), the others absent."""
    names = ["sales", "growth", "engagement", "satisfaction", "consistency", "expansion", "cases"]
    share = round(1 / len(normalised), 4)
    return {
        name: {"raw": normalised[name], "normalised": normalised[name], "weight": 10.0, "share": share, "absent": False}
        if name in normalised
        else {"raw": None, "normalised": None, "weight": 10.0, "share": None, "absent": True}
        for name in names
    }


def _snapshot(partner, day, score, **normalised):
    return ScoreSnapshot.objects.create(
        partner=partner,
        date=day,
        score_model=services.score_model_current(),
        score=Decimal(score),
        band=Band.WATCH if Decimal(score) >= 50 else Band.AT_RISK,
        components=_components(**normalised),
    )


@pytest.fixture
def today():
    return timezone.localdate()


def test_the_route_is_the_portal_scorecard():
    assert reverse("portal:scorecard") == URL


def test_a_partner_user_sees_its_own_score_and_the_change_in_words(partner_a, user_a, partner_b, today):
    _snapshot(partner_a, today - timedelta(days=1), "61.25", sales=80, engagement=50, cases=40)
    _snapshot(partner_a, today, "57.35", sales=80, engagement=40, cases=40)
    _snapshot(partner_b, today, "88.75", sales=99, engagement=77, cases=100)
    response = _client(user_a).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "57.4" in html
    assert 'data-band="watch"' in html
    assert "Score fell 4 points: engagement down 10" in html
    for leak in ("88.8", "88.75", "Beta Distribution", "99.0", "77.0"):
        assert leak not in html


def test_another_partners_score_never_shows(partner_a, partner_b, admin_b, today):
    _snapshot(partner_a, today, "73.45", sales=73)
    response = _client(admin_b).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "73.4" not in html
    assert "73.5" not in html
    assert "Alpha Resellers" not in html
    assert response.context["card"]["snapshot"] is None
    assert "has not been scored yet" in html


def test_channel_figures_are_aggregates_of_five_partners_or_more(partner_a, user_a, today):
    """With the partner and one other, a median would be their average and give the other's figure away."""
    _snapshot(partner_a, today, "50.00", sales=50)
    other = PartnerFactory()
    _snapshot(other, today, "90.00", sales=90)
    card = _client(user_a).get(URL).context["card"]
    assert card["channel"]["median_score"] is None
    assert card["channel"]["average_score"] is None
    assert all(entry["median"] is None for entry in card["components"])
    for score in ("10.00", "20.00", "70.00"):
        _snapshot(PartnerFactory(), today, score, sales=float(score))
    response = _client(user_a).get(URL)
    card = response.context["card"]
    # Scores 10, 20, 50, 70, 90: median 50, average 48; sales medians likewise.
    assert card["channel"]["median_score"] == Decimal("50.00")
    assert card["channel"]["average_score"] == Decimal("48.00")
    assert next(entry for entry in card["components"] if entry["name"] == "sales")["median"] == 50
    assert next(entry for entry in card["components"] if entry["name"] == "growth")["median"] is None  # absent everywhere
    html = response.content.decode()
    assert "Channel median 50.0, average 48.0." in html
    for other_score in ("10.0", "20.0", "70.0", "90.0"):
        assert other_score not in html


def test_what_would_raise_the_score(partner_a, user_a, today):
    """Gain = share x (100 - normalised): engagement 0.25 x 80 = 20, cases 0.25 x 60 = 15, sales 0.25 x 10 = 2.5;
    consistency at its target gains nothing; satisfaction is unmeasured."""
    _snapshot(partner_a, today, "62.50", sales=90, engagement=20, cases=40, consistency=100)
    response = _client(user_a).get(URL)
    hints = response.context["card"]["hints"]
    assert [(hint["name"], hint["gain"]) for hint in hints["raise"]] == [
        ("engagement", Decimal("20.0")),
        ("cases", Decimal("15.0")),
        ("sales", Decimal("2.5")),
    ]
    assert "satisfaction" in [hint["name"] for hint in hints["unmeasured"]]
    html = response.content.decode()
    assert "What would raise your score" in html
    assert "up to +20.0 points" in html
    assert "answer the partner survey" in html


def test_the_share_of_territory_revenue_is_not_shown(partner_a, user_a, today):
    """Under the partner's scope the share reads 100%; unscoped it would give the territory's total away."""
    north = TerritoryFactory(name="North")
    partner_a.territory = north
    partner_a.save()
    month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    SalesMonthFactory(partner=partner_a, month=month, revenue=Decimal("1000"))
    SalesMonthFactory(partner=PartnerFactory(territory=north), month=month, revenue=Decimal("3000"))
    _snapshot(partner_a, today, "50.00", sales=1)
    services.channel_cube_refresh()  # the territory's total comes from the channel cube
    manager_view = selectors.partner_scorecard(partner=partner_a, on_date=today)
    assert manager_view["sales"]["share"] == Decimal("0.25")  # what the manager scorecard shows
    response = _client(user_a).get(URL)
    card = response.context["card"]
    assert card["sales"]["revenue"] == Decimal("1000")
    assert "share" not in card["sales"]
    assert "territory_id" not in card["sales"]
    html = response.content.decode()
    assert "Share of territory" not in html
    assert 'data-kpi="share"' not in html


def test_managers_are_sent_home_and_anonymous_users_to_login(manager_client, client):
    assert manager_client.get(URL)["Location"] == reverse("home")
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))


def test_the_home_page_links_to_the_scorecard(user_a):
    assert f'href="{URL}"' in _client(user_a).get(reverse("portal:home")).content.decode()


def test_query_count_does_not_grow_with_the_channel(partner_a, user_a, today):
    _snapshot(partner_a, today, "50.00", sales=50)
    client = _client(user_a)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    for index in range(3):
        _snapshot(MembershipFactory(role=MembershipRole.USER).partner, today, str(10 + index), sales=index)
    small = count()
    for index in range(27):
        _snapshot(PartnerFactory(), today, str(40 + index), sales=index)
    assert count() == small
