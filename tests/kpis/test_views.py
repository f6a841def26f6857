"""The manager KPI pages: who may open them, the filters, the CSV exports and the query counts."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kpis import services
from kpis.models import Alert, AlertKind, Band, ScoreSnapshot
from partners.models import MembershipRole, PartnerType
from tests.kpis.factories import build_world
from tests.partners.factories import ManagerFactory, MembershipFactory, PartnerFactory, TerritoryFactory, TierFactory
from tests.sales.factories import SalesMonthFactory
from tests.security.test_route_coverage import ROUTES

pytestmark = pytest.mark.django_db

# A custom period whose figures are hand-computed below: Q1 2025, against Q4 2024 and Q1 2024.
PERIOD = {"period": "custom", "start": "2025-01-01", "end": "2025-03-31"}
END = date(2025, 3, 31)
KPI_ROUTES = sorted((name, kwargs) for name, _route, kwargs, _callback in ROUTES if name and name.startswith("kpis:"))


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def _snapshot(partner, day, score, band=Band.WATCH, **components):
    return ScoreSnapshot.objects.create(
        partner=partner, date=day, score_model=services.score_model_current(), score=Decimal(score), band=band, components=components
    )


@pytest.fixture
def channel():
    """Alpha (North, Gold) sells 1,000 + 2,000 in Q1 2025, 1,500 in Q4 2024 and 2,000 in Q1 2024;
    Beta (South) sells 500 in Q1 2025. Alpha's score rose 40 -> 70 in March, Beta's fell 80 -> 60,
    Gamma (a formula for a name) is at risk with an alert."""
    north, south = TerritoryFactory(name="North"), TerritoryFactory(name="South")
    gold = TierFactory(name="Gold", rank=3)
    alpha = PartnerFactory(name="Alpha Resellers B.V.", territory=north, tier=gold, joined_on=date(2023, 1, 1))
    beta = PartnerFactory(name="Beta Distribution GmbH", territory=south, partner_type=PartnerType.DISTRIBUTOR, joined_on=date(2023, 1, 1))
    gamma = PartnerFactory(name='=HYPERLINK("http://evil.test")', territory=south, joined_on=date(2023, 1, 1))
    for month, revenue in [(date(2025, 1, 1), 1000), (date(2025, 2, 1), 2000), (date(2024, 11, 1), 1500), (date(2024, 2, 1), 2000)]:
        SalesMonthFactory(partner=alpha, month=month, revenue=Decimal(revenue))
    SalesMonthFactory(partner=beta, month=date(2025, 3, 1), revenue=Decimal("500"))
    _snapshot(alpha, date(2025, 3, 1), "40.00", Band.AT_RISK)
    _snapshot(alpha, END, "70.00")
    _snapshot(beta, date(2025, 3, 1), "80.00", Band.HEALTHY)
    _snapshot(beta, END, "60.00")
    _snapshot(gamma, END, "20.50", Band.AT_RISK)
    alert = Alert.objects.create(
        partner=gamma, date=END, kind=AlertKind.BELOW_THRESHOLD, score=Decimal("20.50"), message="-1+2 Loyalty score 20.50 is below 50."
    )
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "north": north, "gold": gold, "alert": alert}


# --- who may open the pages ----------------------------------------------------------------------


def test_every_kpi_route_is_tested_here():
    assert {name for name, _kwargs in KPI_ROUTES} == {
        "kpis:overview",
        "kpis:cube_refresh",
        "kpis:scorecard",
        "kpis:score_badge",
        "kpis:alert_acknowledge",
    }


def _kpi_url(name, kwargs, channel):
    if not kwargs:
        return reverse(name)
    pk = channel["alert"].pk if name == "kpis:alert_acknowledge" else channel["alpha"].pk
    return reverse(name, kwargs={"pk": pk})


@pytest.mark.parametrize("persona", ["admin_a", "user_a"])
@pytest.mark.parametrize(("name", "kwargs"), KPI_ROUTES, ids=[name for name, _ in KPI_ROUTES])
def test_partner_users_get_403_everywhere(request, persona, name, kwargs, channel):
    """Every manager dashboard URL refuses partner users outright, with GET and POST, and changes nothing."""
    client = _client(request.getfixturevalue(persona))
    url = _kpi_url(name, kwargs, channel)
    assert client.get(url).status_code == 403
    assert client.get(url, {"export": "movers"}).status_code == 403
    assert client.post(url).status_code == 403
    assert Alert.objects.get(pk=channel["alert"].pk).acknowledged_at is None


@pytest.mark.parametrize(("name", "kwargs"), KPI_ROUTES, ids=[name for name, _ in KPI_ROUTES])
def test_anonymous_users_are_sent_to_the_login_page(client, name, kwargs, channel):
    url = _kpi_url(name, kwargs, channel)
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_managers_open_the_overview_and_the_scorecard(manager_client, channel):
    overview = manager_client.get(reverse("kpis:overview"), PERIOD)
    assert overview.status_code == 200
    html = overview.content.decode()
    assert 'id="kpis-chart-data"' in html
    assert "js/kpis-charts.js" in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "<script>" not in html  # no inline script: the charts read a JSON block
    scorecard = manager_client.get(reverse("kpis:scorecard", args=[channel["alpha"].pk]))
    assert scorecard.status_code == 200
    assert "Alpha Resellers B.V." in scorecard.content.decode()


def test_a_staff_user_without_the_kpi_permission_is_refused(channel):
    manager = ManagerFactory()
    manager.groups.clear()
    assert _client(manager).get(reverse("kpis:overview")).status_code == 403


def test_the_unknown_partner_scorecard_is_404(manager_client):
    assert manager_client.get(reverse("kpis:scorecard", args=[2_147_483_000])).status_code == 404


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"period": "decade"}, "period", "Select a valid choice"),
        ({"period": "custom"}, "start", "Give the first day of a custom period."),
        ({"period": "custom", "start": "2025-01-01"}, "end", "Give the last day of a custom period."),
        ({"period": "custom", "start": "2025-13-01", "end": "2025-03-31"}, "start", "Enter a valid date."),
        ({"period": "custom", "start": "2025-03-01", "end": "2025-01-31"}, "end", "The period cannot end before it starts."),
        ({"period": "custom", "start": "0001-01-01", "end": "0001-02-01"}, None, "Choose dates between 1990 and 2200."),
        ({"period": "custom", "start": "2000-01-01", "end": "2025-01-31"}, "end", "Choose a period of at most 120 months."),
        ({"territory": "north"}, "territory", "Select a valid choice"),
        ({"tier": "2147483000"}, "tier", "Select a valid choice"),
        ({"partner_type": "alien"}, "partner_type", "Select a valid choice"),
        ({"account_manager": "x' OR 1=1"}, "account_manager", "Select a valid choice"),
    ],
)
def test_bad_filters_are_form_errors_not_500(manager_client, channel, params, field, message):
    for extra in ({}, {"export": "headline"}):
        response = manager_client.get(reverse("kpis:overview"), {**params, **extra})
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert any(message in error for error in errors[field or "__all__"])
        assert message.split("%")[0] in response.content.decode().replace("&#x27;", "'")


def test_an_unknown_export_is_a_form_error(manager_client, channel):
    response = manager_client.get(reverse("kpis:overview"), {**PERIOD, "export": "passwords"})
    assert response.status_code == 400
    assert "There is no table “passwords” to export." in response.content.decode()


def test_the_filters_narrow_every_section(manager_client, channel):
    response = manager_client.get(reverse("kpis:overview"), {**PERIOD, "territory": channel["north"].pk})
    assert response.status_code == 200
    revenue = next(row for row in response.context["headline"]["rows"] if row["name"] == "revenue")
    assert revenue["value"] == Decimal("3000")  # Alpha only: Beta's 500 is in the South
    assert [s.partner_id for s in response.context["movers"]["top"]] == [channel["alpha"].pk]
    assert response.context["movers"]["bottom"] == []
    assert response.context["at_risk"] == []


def test_the_default_period_is_the_last_complete_quarter(manager_client, channel):
    response = manager_client.get(reverse("kpis:overview"))
    assert response.status_code == 200
    period = response.context["headline"]["period"]
    today = timezone.localdate()
    assert period.end == date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    assert period.length == 3


# --- CSV exports -------------------------------------------------------------------------------


def _export(client, table, **params):
    return _csv(client.get(reverse("kpis:overview"), {**PERIOD, **params, "export": table}))


def test_headline_export(manager_client, channel):
    rows = {row[0]: row[1:] for row in _export(manager_client, "headline")[1:]}
    # Q1 2025: 1,000 + 2,000 + 500; Q4 2024: 1,500; growth on Q1 2024: (3,500 - 2,000) / 2,000.
    assert rows["Revenue"] == ["3500", "1500", "2000"]
    assert rows["Growth on last year"][0] == "0.75"
    assert rows["Average loyalty score"][0] == "50.17"  # (70 + 60 + 20.50) / 3, to the scores' two places
    assert rows["Partners at risk"][:1] == ["1"]


def test_revenue_export(manager_client, channel):
    rows = _export(manager_client, "revenue")
    assert rows[0] == ["grouping", "group", "month", "revenue"]
    by_territory = {(row[1], row[2]): row[3] for row in rows[1:] if row[0] == "territory"}
    assert by_territory[("North", "2025-02")] == "2000"
    assert by_territory[("South", "2025-03")] == "500"
    assert by_territory[("North", "2024-11")] == "1500"  # the chart shows the 12 months up to the period's end
    assert len([row for row in rows[1:] if row[0] == "territory"]) == 2 * 12


def test_movers_export_and_formula_safety(manager_client, channel):
    rows = _export(manager_client, "movers")
    assert rows[0] == ["direction", "partner", "external ID", "score then", "score", "change"]
    assert rows[1] == ["up", "Alpha Resellers B.V.", channel["alpha"].external_id, "40", "70", "30"]
    assert rows[2] == ["down", "Beta Distribution GmbH", channel["beta"].external_id, "80", "60", "-20"]  # a number stays a number


def test_at_risk_and_alert_exports_neutralise_formulas(manager_client, channel):
    at_risk = _export(manager_client, "at_risk")
    assert at_risk[1][0] == '\'=HYPERLINK("http://evil.test")'
    assert at_risk[1][3:6] == ["20.50", "2025-03-31", "2025-03-31"]
    assert at_risk[1][6] == "'-1+2 Loyalty score 20.50 is below 50."
    alerts = _export(manager_client, "alerts")
    assert alerts[1][:5] == [
        "2025-03-31",
        '\'=HYPERLINK("http://evil.test")',
        channel["gamma"].external_id,
        "Score below threshold",
        "20.50",
    ]


def test_distribution_exports(manager_client, channel):
    tiers = _export(manager_client, "tiers")
    assert ["Gold", "1"] in tiers
    assert ["—", "2"] in tiers
    scores = {row[0]: row[2] for row in _export(manager_client, "scores")[1:]}
    assert (scores["20"], scores["60"], scores["70"], scores["0"]) == ("1", "1", "1", "0")
    assert _export(manager_client, "nps")[0] == ["month", "NPS", "answers", "promoters", "detractors"]
    assert _export(manager_client, "cohorts")[0][:2] == ["joined in", "partners"]


def test_scorecard_exports(manager_client):
    """Sales of 150,000 last month only: sales 60, consistency 1/1 = 100, engagement 0, expansion 0, cases 100;
    growth and satisfaction absent. Score (20x60 + 10x100 + 10x100) / 70 = 45.71."""
    today = timezone.localdate()
    partner = PartnerFactory(joined_on=today - timedelta(days=800))
    SalesMonthFactory(partner=partner, month=(today.replace(day=1) - timedelta(days=1)).replace(day=1), revenue=Decimal("150000"))
    services.scores_recompute(on_date=today)
    url = reverse("kpis:scorecard", args=[partner.pk])
    trend = _csv(manager_client.get(url, {"export": "trend"}))
    assert trend == [["date", "score"], [today.isoformat(), "45.71"]]
    components = {row[0]: row[1:] for row in _csv(manager_client.get(url, {"export": "components"}))}
    assert components["component"] == ["raw value", "normalised", "weight", "share", "absent", "channel median"]
    assert components["sales performance"] == ["150000.0", "60.0", "20.0", "0.2857", "no", "60.0"]
    assert components["tenure and ordering consistency"][:2] == ["1.0", "100.0"]
    assert components["case load"][:2] == ["0.0", "100.0"]
    assert components["growth"] == ["", "", "15.0", "", "yes", ""]


# --- alerts -------------------------------------------------------------------------------------


def test_a_manager_acknowledges_an_alert_from_the_overview(manager_client, manager_user, channel):
    alert = channel["alert"]
    page = manager_client.get(reverse("kpis:overview"), PERIOD)
    assert reverse("kpis:alert_acknowledge", args=[alert.pk]) in page.content.decode()
    back = reverse("kpis:overview") + "?period=custom&start=2025-01-01&end=2025-03-31"
    response = manager_client.post(reverse("kpis:alert_acknowledge", args=[alert.pk]), {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    alert.refresh_from_db()
    assert alert.acknowledged_by == manager_user
    assert alert.acknowledged_at is not None
    assert "Acknowledged" in manager_client.get(back).content.decode()


def test_acknowledging_never_redirects_off_site(manager_client, channel):
    response = manager_client.post(reverse("kpis:alert_acknowledge", args=[channel["alert"].pk]), {"next": "https://evil.test/"})
    assert response["Location"] == reverse("kpis:overview")


def test_acknowledging_is_a_post(manager_client, channel):
    assert manager_client.get(reverse("kpis:alert_acknowledge", args=[channel["alert"].pk])).status_code == 405


# --- the scorecard and the partner page ------------------------------------------------------------


def test_the_scorecard_explains_the_latest_change(manager_client):
    partner = build_world(PartnerFactory(name="Worked Example B.V.", joined_on=date(2024, 1, 1)))
    today = timezone.localdate()
    services.scores_recompute(on_date=today - timedelta(days=1))
    _snapshot(partner, today - timedelta(days=40), "90.00", Band.HEALTHY)
    ScoreSnapshot.objects.filter(partner=partner, date=today - timedelta(days=40)).update(
        components=ScoreSnapshot.objects.get(partner=partner, date=today - timedelta(days=1)).components
    )
    response = manager_client.get(reverse("kpis:scorecard", args=[partner.pk]))
    card = response.context["card"]
    html = response.content.decode()
    assert card["explanation"].startswith("Score fell")
    assert card["explanation"] in html
    assert 'id="chart-components"' in html
    assert 'id="chart-score-trend"' in html
    assert "not measured (left out, not counted as zero)" in html  # satisfaction: no survey answers


def test_the_partner_page_loads_the_score_badge(manager_client, channel):
    detail = manager_client.get(reverse("partners:detail", args=[channel["alpha"].pk])).content.decode()
    badge_url = reverse("kpis:score_badge", args=[channel["alpha"].pk])
    assert f'hx-get="{badge_url}"' in detail
    assert reverse("kpis:scorecard", args=[channel["alpha"].pk]) in detail
    badge = manager_client.get(badge_url).content.decode()
    assert "70.0" in badge
    assert 'data-band="watch"' in badge


def test_the_badge_of_an_unscored_partner(manager_client):
    partner = PartnerFactory()
    assert "Not scored yet" in manager_client.get(reverse("kpis:score_badge", args=[partner.pk])).content.decode()


# --- query counts ------------------------------------------------------------------------------------


def _grow(count):
    """`count` more partners, each with sales, a snapshot a month ago and today, alerts and a portal user."""
    territory, tier = TerritoryFactory(), TierFactory()
    manager = ManagerFactory()
    today = timezone.localdate()
    for index in range(count):
        partner = PartnerFactory(territory=territory, tier=tier, account_manager=manager)
        SalesMonthFactory(partner=partner, month=today.replace(day=1) - timedelta(days=40), revenue=Decimal(1000 + index))
        _snapshot(partner, today - timedelta(days=30), "70.00")
        _snapshot(partner, today, str(20 + index), Band.AT_RISK)
        Alert.objects.create(partner=partner, date=today, kind=AlertKind.SHARP_DROP, score=Decimal(20 + index), message="Dropped.")
        MembershipFactory(partner=partner, role=MembershipRole.USER)


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_page_query_counts_do_not_grow_with_the_partners(manager_client):
    """The cube is refreshed after each growth, so the overview's first-visit build is never counted."""
    _grow(3)
    first = PartnerFactory()
    services.channel_cube_refresh()
    urls = [reverse("kpis:overview"), reverse("kpis:scorecard", args=[first.pk]), reverse("kpis:score_badge", args=[first.pk])]
    small = [_count(manager_client, url) for url in urls]
    _grow(27)
    services.channel_cube_refresh()
    large = [_count(manager_client, url) for url in urls]
    assert small == large
    page = manager_client.get(urls[0])
    assert len(page.context["at_risk"]) == 25  # the lowest 25 on the page, with the total and a pointer to the CSV
    assert page.context["scores"]["bands"]["at_risk"] == 30
    assert "the 25 lowest scores; the CSV lists every one" in page.content.decode()
    export = manager_client.get(urls[0], {"export": "at_risk"})
    assert len(export.content.decode().strip().splitlines()) == 1 + 30
