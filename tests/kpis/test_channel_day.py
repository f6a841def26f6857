"""The channel figures of a scored day (`ChannelDay`): hand-computed, written by every recompute, read in one query."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kpis import selectors, services
from kpis.models import Band, ChannelDay, ScoreSnapshot
from partners.models import InteractionKind
from tests.partners.factories import InteractionFactory, PartnerFactory
from tests.sales.factories import SalesMonthFactory

from .factories import ON, at

pytestmark = pytest.mark.django_db


def _component(normalised):
    absent = normalised is None
    return {"raw": None if absent else 1.0, "normalised": normalised, "weight": 10.0, "share": None, "absent": absent}


def _snapshot(score, band, *, sales, growth):
    return ScoreSnapshot.objects.create(
        partner=PartnerFactory(),
        date=ON,
        score_model=services.score_model_current(),
        score=Decimal(score),
        band=band,
        components={"sales": _component(sales), "growth": _component(growth)},
    )


@pytest.fixture
def three():
    """Scores 40.50, 70, 90; sales 10, 20 and absent; growth 50, 60, 75."""
    _snapshot("40.50", Band.AT_RISK, sales=10.0, growth=50.0)
    _snapshot("70.00", Band.WATCH, sales=20.0, growth=60.0)
    _snapshot("90.00", Band.HEALTHY, sales=None, growth=75.0)


def test_the_figures_of_a_day_by_hand(three):
    services.channel_day_refresh(on_date=ON)

    day = ChannelDay.objects.get(date=ON)
    assert (day.partners, day.median_score, day.score_sum) == (3, Decimal("70"), Decimal("200.50"))
    assert day.bands == {"at_risk": 1, "watch": 1, "healthy": 1}
    assert [index for index, count in enumerate(day.histogram) for _ in range(count)] == [40, 70, 90]
    # The absent sales component is left out of its median: (10 + 20) / 2, not the median of 10, 20 and 0.
    assert day.components["sales"] == {"median": 15.0, "present": 2}
    assert day.components["growth"] == {"median": 60.0, "present": 3}
    assert day.components["engagement"] == {"median": None, "present": 0}


def test_the_scorecard_medians_read_one_stored_row_and_a_day_without_one_is_computed(three):
    with CaptureQueriesContext(connection) as computed:
        live = selectors.channel_component_medians(on_date=ON)
    services.channel_day_refresh(on_date=ON)
    with CaptureQueriesContext(connection) as stored:
        read = selectors.channel_component_medians(on_date=ON)
    assert live == read
    assert (read["sales"], read["growth"], read["cases"]) == (15.0, 60.0, None)
    assert (len(computed), len(stored)) == (2, 1)


def test_the_portal_aggregates_come_from_the_stored_day(three):
    services.channel_day_refresh(on_date=ON)
    ChannelDay.objects.filter(date=ON).update(score_sum=Decimal("300"))  # proof that the row is what is read

    channel = selectors.channel_score_aggregates(on_date=ON, min_partners=3)

    assert (channel["partners"], channel["median_score"], channel["average_score"]) == (3, Decimal("70"), Decimal("100.00"))
    assert (channel["components"]["growth"], channel["components"]["sales"]) == (60.0, None)  # sales: 2 partners, under 3


def test_every_recompute_stores_the_day_and_chunked_runs_store_the_same():
    for index in range(4):
        partner = PartnerFactory(joined_on=date(2024, 1, 1))
        SalesMonthFactory(partner=partner, month=date(2025, 9, 1), revenue=Decimal(40000 * (index + 1)))
        InteractionFactory(partner=partner, kind=InteractionKind.EVENT_ATTENDED, occurred_at=at(date(2026, 6, 1)))

    services.scores_recompute(on_date=ON)
    single = ChannelDay.objects.values("partners", "median_score", "score_sum", "bands", "histogram", "components").get(date=ON)
    ChannelDay.objects.all().delete()
    services.scores_recompute(on_date=ON, chunk=1)
    chunked = ChannelDay.objects.values("partners", "median_score", "score_sum", "bands", "histogram", "components").get(date=ON)

    assert single == chunked == {key: value for key, value in selectors.channel_day_figures(on_date=ON).items() if key != "date"}
    assert single["partners"] == 4
