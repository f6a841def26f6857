"""The snapshot upsert (one INSERT ... SELECT FROM unnest on PostgreSQL) and the earlier scores the alerts compare with."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from kpis import fastpaths, scoring, services
from kpis.models import Alert, AlertKind, Band, ScoreModel, ScoreSnapshot
from partners.models import InteractionKind, PartnerStatus
from tests.cases.factories import CaseFactory
from tests.partners.factories import InteractionFactory, PartnerFactory
from tests.sales.factories import SalesMonthFactory

from .factories import ON, at, build_world

pytestmark = pytest.mark.django_db


def _rows(day=ON):
    return {row.partner_id: (row.score, row.band, row.components, row.score_model_id) for row in ScoreSnapshot.objects.filter(date=day)}


def _channel():
    """Four partners in the channel (watch, at risk, healthy, no sales yet) and one applicant, who is not scored."""
    worked = build_world(PartnerFactory(joined_on=date(2024, 1, 1)))
    quiet = PartnerFactory(joined_on=date(2024, 1, 1))
    star = PartnerFactory(joined_on=date(2024, 1, 1))
    for month in range(6, 13):
        SalesMonthFactory(partner=star, month=date(2025, month, 1), revenue=Decimal("40000"))
    for month in range(1, 6):
        SalesMonthFactory(partner=star, month=date(2026, month, 1), revenue=Decimal("40000"))
    for day in range(1, 11):
        InteractionFactory(partner=star, kind=InteractionKind.EVENT_ATTENDED, occurred_at=at(date(2026, 5, day)))
    newcomer = PartnerFactory(joined_on=date(2026, 6, 1))
    CaseFactory(partner=newcomer, opened_at=at(date(2026, 6, 2)))
    PartnerFactory(status=PartnerStatus.APPLICANT, joined_on=None)
    return worked, quiet, star, newcomer


def test_snapshot_rows_equal_the_computed_scores_on_postgresql():
    assert connection.vendor == "postgresql"
    worked, quiet, star, newcomer = _channel()
    model = services.score_model_current()
    expected = scoring.compute_scores(on_date=ON, model=model)
    result = services.scores_recompute(on_date=ON)
    assert result.snapshots == 4
    assert _rows() == {pid: (item.score, item.band, item.components, model.pk) for pid, item in expected.items()}
    # Hand-computed: docs/kpis.md's worked example, no sales (0 x 20 + 100 x 10) / 30, and a partner
    # with 480,000 of revenue, 12 of 12 months, 30 engagement points and no growth data:
    # (20 x 100 + 20 x 100 + 10 x 100 + 10 x 0 + 10 x 100) / 70 = 85.71.
    scores = {pid: (score, band) for pid, (score, band, _components, _model) in _rows().items()}
    assert scores[worked.pk] == (Decimal("56.28"), Band.WATCH)
    assert scores[quiet.pk] == (Decimal("33.33"), Band.AT_RISK)
    assert scores[star.pk] == (Decimal("85.71"), Band.HEALTHY)
    assert scores[newcomer.pk] == (Decimal("26.67"), Band.AT_RISK)  # (0 x 20 + 80 x 10) / 30: one case of the 5
    components = ScoreSnapshot.objects.get(partner=worked, date=ON).components
    assert components["engagement"] == {"raw": 17.0, "normalised": 56.67, "weight": 20.0, "share": 0.2353, "absent": False}
    assert components["satisfaction"] == {"raw": None, "normalised": None, "weight": 15.0, "share": None, "absent": True}


def test_the_set_based_upsert_equals_the_orm_upsert():
    """The ORM path (every database but PostgreSQL) and the unnest statement write the same rows."""
    _channel()
    model = services.score_model_current()
    scores = scoring.compute_scores(on_date=ON, model=model)
    now = timezone.now()
    fastpaths.snapshots_write(scores, model=model, on_date=ON, now=now, use_fast_path=False)
    orm = _rows()
    assert len(orm) == 4
    ScoreSnapshot.objects.all().delete()
    fastpaths.snapshots_write(scores, model=model, on_date=ON, now=now)
    assert _rows() == orm
    assert set(ScoreSnapshot.objects.values_list("computed_at", flat=True)) == {now}


def test_a_rerun_rewrites_score_band_components_model_and_time():
    worked, *_others = _channel()
    services.scores_recompute(on_date=ON)
    first = ScoreSnapshot.objects.get(partner=worked, date=ON)
    copy = services.score_model_activate(score_model=services.score_model_copy(score_model=first.score_model))
    SalesMonthFactory(partner=worked, month=date(2026, 2, 1), revenue=Decimal("100000"))  # 250,000 of revenue: sales 100
    services.scores_recompute(on_date=ON)
    again = ScoreSnapshot.objects.get(partner=worked, date=ON)
    assert ScoreSnapshot.objects.filter(date=ON).count() == 4
    assert again.score_model_id == copy.pk
    assert again.components["sales"]["normalised"] == 100.0
    assert again.score > first.score
    assert again.computed_at > first.computed_at


def _series(partner, scores):
    model = services.score_model_current()
    for day, score in scores.items():
        ScoreSnapshot.objects.create(
            partner=partner,
            date=day,
            score_model=model,
            score=Decimal(score),
            band=model.band_for(Decimal(score)),
            components={"engagement": {"normalised": 80.0, "absent": False}},
        )


def test_alerts_compare_with_the_latest_of_equal_peaks_and_the_latest_earlier_score():
    partner = PartnerFactory(joined_on=date(2024, 1, 1))  # scores 33.33
    ScoreModel.objects.create(version=1, is_active=True, alert_below=50, alert_drop_points=15)
    # Two equal peaks (25 and 12 days back): the later one is the reference; the latest earlier score is 55.
    _series(partner, {ON - timedelta(days=days): score for days, score in [(25, "90"), (12, "90"), (8, "70"), (2, "55")]})
    services.scores_recompute(on_date=ON)
    alerts = {alert.kind: alert for alert in Alert.objects.filter(partner=partner)}
    assert alerts[AlertKind.SHARP_DROP].reference_score == Decimal("90")
    assert alerts[AlertKind.SHARP_DROP].message.startswith("Loyalty score dropped 56.67 points in 12 days, to 33.33.")
    assert alerts[AlertKind.BELOW_THRESHOLD].reference_score == Decimal("55")
