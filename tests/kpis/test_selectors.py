"""Dashboard and scorecard reads: figures, explanations, and query counts that do not grow with partners."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from kpis import selectors, services
from kpis.models import ScoreSnapshot
from partners.models import InteractionKind
from tests.partners.factories import InteractionFactory, PartnerFactory, TerritoryFactory, TierFactory
from tests.sales.factories import SalesMonthFactory

from .factories import ON, at, build_world

pytestmark = pytest.mark.django_db


def _many(count, territory, tier):
    for index in range(count):
        partner = PartnerFactory(joined_on=date(2024, 1, 1), territory=territory, tier=tier)
        SalesMonthFactory(partner=partner, month=date(2026, 2, 1), revenue=Decimal(100 * (index + 1)))
        SalesMonthFactory(partner=partner, month=date(2025, 2, 1), revenue=Decimal(50))
        InteractionFactory(partner=partner, kind=InteractionKind.EVENT_ATTENDED, occurred_at=at(date(2026, 2, 3)))


def _read_everything(partner):
    filters = {"territory": partner.territory_id}
    selectors.channel_overview(period_start=date(2026, 1, 1), period_end=date(2026, 3, 31), filters=filters)
    selectors.revenue_trend(period_start=date(2026, 1, 1), period_end=date(2026, 3, 31), by="tier")
    selectors.tier_distribution()
    selectors.score_distribution(on_date=ON)
    selectors.nps_trend(period_start=date(2026, 1, 1), period_end=date(2026, 3, 31))
    selectors.retention_cohorts(as_of=ON)
    selectors.movers(on_date=ON)
    list(selectors.at_risk_list(on_date=ON))
    list(selectors.alert_list())
    selectors.partner_scorecard(partner=partner, on_date=ON)


def test_query_counts_do_not_grow_with_partners(django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    territory, tier = TerritoryFactory(), TierFactory(rank=1)
    _many(3, territory, tier)
    services.scores_recompute(on_date=ON - timedelta(days=30))
    services.scores_recompute(on_date=ON)
    services.channel_cube_refresh()
    partner = ScoreSnapshot.objects.filter(date=ON).first().partner
    with CaptureQueriesContext(connection) as small:
        _read_everything(partner)
    _many(27, territory, tier)
    services.scores_recompute(on_date=ON - timedelta(days=30))
    services.scores_recompute(on_date=ON)
    services.channel_cube_refresh()
    with CaptureQueriesContext(connection) as large:
        _read_everything(partner)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_channel_overview_headline_against_previous_period():
    territory = TerritoryFactory()
    partner = PartnerFactory(joined_on=date(2024, 1, 1), territory=territory)
    SalesMonthFactory(partner=partner, month=date(2026, 1, 1), revenue=Decimal("300"))
    SalesMonthFactory(partner=partner, month=date(2025, 10, 1), revenue=Decimal("200"))
    SalesMonthFactory(partner=partner, month=date(2025, 1, 1), revenue=Decimal("150"))
    PartnerFactory(joined_on=date(2024, 1, 1))  # another territory: filtered out
    services.channel_cube_refresh()
    overview = selectors.channel_overview(period_start=date(2026, 1, 1), period_end=date(2026, 3, 31), filters={"territory": territory.pk})
    revenue = overview["kpis"]["revenue"]
    assert (revenue["value"], revenue["previous"], revenue["change"]) == (Decimal("300"), Decimal("200"), Decimal("100"))
    assert overview["kpis"]["growth"]["value"] == Decimal(1)  # 300 against 150 in Q1 2025
    assert overview["kpis"]["partners"]["value"] == 1


def test_revenue_trend_by_type():
    partner = PartnerFactory(partner_type="msp")
    SalesMonthFactory(partner=partner, month=date(2026, 2, 1), revenue=Decimal("70"))
    services.channel_cube_refresh()
    trend = selectors.revenue_trend(period_start=date(2026, 1, 1), period_end=date(2026, 3, 31), by="partner_type")
    assert trend["months"] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert trend["series"] == [{"key": "msp", "label": "Managed service provider", "values": [0, Decimal("70"), 0]}]


def test_scorecard_explains_the_latest_change():
    partner = build_world(PartnerFactory(joined_on=date(2024, 1, 1)))
    other = PartnerFactory(joined_on=date(2024, 1, 1))
    services.scores_recompute(on_date=ON)
    InteractionFactory(partner=partner, kind=InteractionKind.EVENT_ATTENDED, occurred_at=at(ON + timedelta(days=1)))
    services.scores_recompute(on_date=ON + timedelta(days=1))
    card = selectors.partner_scorecard(partner=partner, on_date=ON + timedelta(days=1))
    # Engagement 17 -> 23 points (the event, and build_world's training of the 16th): 56.67 -> 76.67.
    assert card["snapshot"].score == Decimal("60.98")
    assert card["explanation"] == "Score rose 5 points: engagement up 20"
    assert card["sales"]["revenue"] == Decimal("150000")
    assert card["engagement"]["events"] == 2
    assert card["satisfaction"] is None
    engagement = next(c for c in card["components"] if c["name"] == "engagement")
    assert engagement["median"] == pytest.approx((76.67 + 0) / 2)
    assert [day for day, _score in card["trend"]] == [ON, ON + timedelta(days=1)]
    assert other.pk != partner.pk


def test_movers_and_at_risk_list():
    riser, faller = PartnerFactory(joined_on=date(2024, 1, 1)), PartnerFactory(joined_on=date(2024, 1, 1))
    model = services.score_model_current()
    for partner, before in ((riser, 10), (faller, 90)):
        ScoreSnapshot.objects.create(partner=partner, date=ON - timedelta(days=30), score_model=model, score=before, band="watch")
    services.scores_recompute(on_date=ON)  # both score 33.33
    moved = selectors.movers(on_date=ON)
    assert [s.partner_id for s in moved["top"]] == [riser.pk]
    assert [s.partner_id for s in moved["bottom"]] == [faller.pk]
    assert moved["bottom"][0].change == Decimal("33.33") - 90
    at_risk = list(selectors.at_risk_list(on_date=ON))
    assert {s.partner_id for s in at_risk} == {riser.pk, faller.pk}
    assert selectors.score_distribution(on_date=ON)["bands"] == {"at_risk": 2}
