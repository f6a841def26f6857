"""The nightly recompute: upsert, re-runs for past days, the lock, chunks, alerts, tiers, query counts."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from kpis import services, tasks
from kpis.models import Alert, AlertKind, ScoreModel, ScoreSnapshot
from partners.models import InteractionKind
from tests.cases.factories import CaseFactory
from tests.partners.factories import InteractionFactory, ManagerFactory, PartnerFactory
from tests.sales.factories import SalesMonthFactory

from .factories import ON, at, build_world

pytestmark = pytest.mark.django_db


def _snapshots(day=ON):
    return {s.partner_id: (s.score, s.band, s.components) for s in ScoreSnapshot.objects.filter(date=day)}


def _many(count):
    partners = []
    for index in range(count):
        partner = PartnerFactory(joined_on=date(2024, 1, 1))
        SalesMonthFactory(partner=partner, month=date(2025, 9, 1), revenue=Decimal(1000 * (index + 1)))
        InteractionFactory(partner=partner, kind=InteractionKind.EVENT_ATTENDED, occurred_at=at(date(2026, 6, 1)))
        partners.append(partner)
    return partners


def test_recompute_writes_one_snapshot_per_partner_and_upserts_on_rerun():
    partner = build_world(PartnerFactory(joined_on=date(2024, 1, 1)))
    result = services.scores_recompute(on_date=ON)
    assert result.snapshots == 1
    snapshot = ScoreSnapshot.objects.get(partner=partner, date=ON)
    assert snapshot.score == Decimal("56.28")
    assert snapshot.score_model.version == 1
    assert snapshot.score_model.is_active
    services.scores_recompute(on_date=ON)
    assert ScoreSnapshot.objects.filter(partner=partner, date=ON).count() == 1


def test_rerun_for_a_past_day_gives_the_same_result_after_newer_data_arrives():
    partner = build_world(PartnerFactory(joined_on=date(2024, 1, 1)))
    services.scores_recompute(on_date=ON)
    before = _snapshots()
    # Data dated after the day: a sale month, activity, a case; none of it may change ON's score.
    SalesMonthFactory(partner=partner, month=date(2026, 7, 1), revenue=Decimal("5000000"))
    InteractionFactory(partner=partner, kind=InteractionKind.TRAINING_COMPLETED, occurred_at=at(date(2026, 6, 16)))
    CaseFactory(partner=partner, opened_at=at(date(2026, 6, 20)))
    services.scores_recompute(on_date=ON + timedelta(days=30))
    services.scores_recompute(on_date=ON)
    assert _snapshots() == before


def test_a_second_concurrent_run_is_refused():
    PartnerFactory()
    token = services.recompute_lock_acquire()
    assert token is not None
    assert services.recompute_lock_acquire() is None
    with pytest.raises(services.RecomputeLocked):
        services.scores_recompute(on_date=ON)
    assert tasks.nightly_recompute(on_date=ON.isoformat()) == "skipped"
    assert not ScoreSnapshot.objects.exists()
    services.recompute_lock_release(token=token)
    services.scores_recompute(on_date=ON)
    assert ScoreSnapshot.objects.count() == 1
    assert services.recompute_lock_acquire() is not None  # the finished run released it


def test_chunked_run_equals_single_run():
    _many(7)
    build_world(PartnerFactory(joined_on=date(2024, 1, 1)))
    services.scores_recompute(on_date=ON)
    single = _snapshots()
    ScoreSnapshot.objects.all().delete()
    result = services.scores_recompute(on_date=ON, chunk=3)
    assert result.chunks == 3
    assert _snapshots() == single
    ScoreSnapshot.objects.all().delete()
    tasks.nightly_recompute(on_date=ON.isoformat())  # the beat task: a chord of chunk tasks (eager here)
    assert _snapshots() == single
    assert services.recompute_lock_acquire() is not None  # the chord's last task released the lock


def test_partner_ids_limit_the_run():
    first, second = _many(2)
    services.scores_recompute(on_date=ON, partner_ids=[second.pk])
    assert set(_snapshots()) == {second.pk}


def test_recompute_query_count_does_not_grow_with_partners(django_assert_num_queries):
    services.score_model_current()
    _many(3)
    # model, partners in channel, sales history, new customers, new countries and categories (one query: MarketFirstSale), interactions,
    # certifications, cases, satisfaction, earlier snapshots (the window's latest and peak, older ones), earlier alerts,
    # savepoint, upsert, release, then the day's channel figures: read the snapshots, upsert ChannelDay
    with django_assert_num_queries(18) as small:
        services.scores_recompute(on_date=ON)
    _many(27)
    ScoreSnapshot.objects.all().delete()
    with django_assert_num_queries(len(small.captured_queries)):
        services.scores_recompute(on_date=ON)
    assert ScoreSnapshot.objects.filter(date=ON).count() == 30


def _score_series(partner, scores, start):
    model = services.score_model_current()
    for offset, score in enumerate(scores):
        ScoreSnapshot.objects.create(
            partner=partner,
            date=start + timedelta(days=offset),
            score_model=model,
            score=Decimal(score),
            band=model.band_for(Decimal(score)),
            components={"engagement": {"normalised": 80.0, "absent": False}, "growth": {"normalised": 70.0, "absent": False}},
        )


def test_below_threshold_alert_once_per_fall_with_e_mail(django_capture_on_commit_callbacks):
    manager = ManagerFactory(email="maria@vendor.test")
    partner = PartnerFactory(account_manager=manager, joined_on=date(2024, 1, 1))  # no sales: scores 33.33
    ScoreModel.objects.create(version=1, is_active=True, alert_drop_points=50)  # only the threshold can fire
    today = timezone.localdate()
    _score_series(partner, [60], today - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.scores_recompute(on_date=today)
    alert = Alert.objects.get(partner=partner)
    assert alert.kind == AlertKind.BELOW_THRESHOLD
    assert (alert.score, alert.reference_score) == (Decimal("33.33"), Decimal("60"))
    assert alert.message.startswith("Loyalty score 33.33 is below 50. Score fell 27 points: engagement down 80")
    assert alert.components[0] == {"name": "engagement", "delta": -80.0, "from": 80.0, "to": 0.0}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["maria@vendor.test"]
    assert partner.name in mail.outbox[0].subject
    alert.refresh_from_db()
    assert alert.notified_at is not None
    # The next night it is still below: no new alert; re-running today: no duplicate.
    with django_capture_on_commit_callbacks(execute=True):
        services.scores_recompute(on_date=today)
        services.scores_recompute(on_date=today + timedelta(days=1))
    assert Alert.objects.filter(partner=partner).count() == 1
    assert len(mail.outbox) == 1


def test_sharp_drop_alert_within_the_window_only_once():
    partner = PartnerFactory(joined_on=date(2024, 1, 1))
    SalesMonthFactory(partner=partner, month=date(2025, 9, 1), revenue=Decimal("250000"))  # scores 60 with no growth data
    ScoreModel.objects.create(version=1, is_active=True, alert_below=10)
    _score_series(partner, [90, 80], ON - timedelta(days=20))
    services.scores_recompute(on_date=ON)
    snapshot = ScoreSnapshot.objects.get(partner=partner, date=ON)
    alert = Alert.objects.get(partner=partner)
    assert alert.kind == AlertKind.SHARP_DROP
    assert alert.reference_score == Decimal("90")
    assert alert.message.startswith(f"Loyalty score dropped {Decimal(90) - snapshot.score} points in 20 days")
    services.scores_recompute(on_date=ON + timedelta(days=1))
    assert Alert.objects.filter(partner=partner).count() == 1  # the same fall is not alerted every night


def test_no_drop_alert_for_a_drop_within_the_limit():
    partner = PartnerFactory(joined_on=date(2024, 1, 1))
    ScoreModel.objects.create(version=1, is_active=True, alert_below=10, alert_drop_points=30)
    _score_series(partner, [60], ON - timedelta(days=3))
    services.scores_recompute(on_date=ON)  # 33.33: a drop of 26.67
    assert not Alert.objects.exists()


def test_tiers_are_re_evaluated_with_the_scores_on_today_only():
    from incentives.models import TierRule
    from tests.partners.factories import TierFactory

    bronze, gold = TierFactory(rank=1, name="Bronze"), TierFactory(rank=2, name="Gold")
    TierRule.objects.create(tier=bronze)
    TierRule.objects.create(tier=gold, min_loyalty_score=30)
    partner = PartnerFactory(tier=bronze, joined_on=date(2024, 1, 1))
    services.scores_recompute(on_date=ON)  # a past day: tiers stay
    partner.refresh_from_db()
    assert partner.tier == bronze
    result = services.scores_recompute(on_date=timezone.localdate())
    partner.refresh_from_db()
    assert result.tier_changes == 1
    assert partner.tier == gold


def test_inactive_only_score_models_are_reported():
    ScoreModel.objects.create(version=1, is_active=False)
    PartnerFactory()
    with pytest.raises(ValidationError, match="No score model is active"):
        services.scores_recompute(on_date=ON)


def test_score_model_copy_and_activate():
    first = services.score_model_current()
    second = services.score_model_copy(score_model=first)
    assert (second.version, second.is_active, second.weights) == (2, False, first.weights)
    services.score_model_activate(score_model=second)
    first.refresh_from_db()
    assert not first.is_active
    assert ScoreModel.objects.active().get() == second


def test_score_model_rejects_bad_weights():
    model = ScoreModel(version=5, weights={"sales": -1}, parameters={})
    with pytest.raises(ValidationError) as error:
        model.full_clean()
    assert "weights" in error.value.message_dict


def test_schedule_registered_at_two():
    from django_celery_beat.models import PeriodicTask

    from core.schedules import ensure_schedules

    ensure_schedules()
    task = PeriodicTask.objects.get(task="kpis.tasks.nightly_recompute")
    assert (task.crontab.hour, task.crontab.minute) == ("2", "0")


# The alert rules on hand-made snapshot series. A partner without sales or activity scores 33.33
# (engagement 0 x 20 + case load 100 x 10, over 30), so every computed day below is 33.33.


def _quiet_partner():
    return PartnerFactory(joined_on=date(2024, 1, 1))


def _alerts(partner, kind):
    return list(Alert.objects.filter(partner=partner, kind=kind).order_by("date").values_list("date", "reference_score"))


def test_below_threshold_on_a_14_day_cadence_for_a_year_alerts_once():
    partner = _quiet_partner()
    ScoreModel.objects.create(version=1, is_active=True, alert_drop_points=90)  # only the threshold can fire
    start = ON - timedelta(days=364)
    _score_series(partner, [60], start)
    for step in range(1, 27):
        services.scores_recompute(on_date=start + timedelta(days=14 * step))
    assert ScoreSnapshot.objects.filter(partner=partner).count() == 27
    assert _alerts(partner, AlertKind.BELOW_THRESHOLD) == [(start + timedelta(days=14), Decimal("60"))]


def test_below_threshold_is_not_raised_again_after_a_gap_longer_than_the_drop_window():
    partner = _quiet_partner()
    ScoreModel.objects.create(version=1, is_active=True, alert_drop_points=90)
    start = ON - timedelta(days=200)
    _score_series(partner, [60], start)
    for offset in (45, 100, 200):  # 45, 55 and 100 days after the previous snapshot
        services.scores_recompute(on_date=start + timedelta(days=offset))
    assert _alerts(partner, AlertKind.BELOW_THRESHOLD) == [(start + timedelta(days=45), Decimal("60"))]


def test_below_threshold_fires_again_after_a_recovery_whatever_its_age():
    partner = _quiet_partner()
    ScoreModel.objects.create(version=1, is_active=True, alert_drop_points=90)
    first = ON - timedelta(days=150)
    services.scores_recompute(on_date=first)  # no earlier snapshot and below: alerted
    _score_series(partner, [70], first + timedelta(days=10))  # recovered
    services.scores_recompute(on_date=ON)  # 140 days later, below again
    assert _alerts(partner, AlertKind.BELOW_THRESHOLD) == [(first, None), (ON, Decimal("70"))]


def test_below_threshold_compares_with_the_latest_earlier_snapshot_not_the_newest():
    partner = _quiet_partner()
    ScoreModel.objects.create(version=1, is_active=True, alert_drop_points=90)
    _score_series(partner, [40], ON - timedelta(days=40))
    _score_series(partner, [80], ON + timedelta(days=5))  # a later day, already scored: not "earlier"
    services.scores_recompute(on_date=ON)  # a backfill of a day between them
    assert not Alert.objects.exists()


def test_sharp_drop_on_a_14_day_cadence_alerts_once_per_window():
    partner = _quiet_partner()
    ScoreModel.objects.create(version=1, is_active=True, alert_below=10, alert_drop_points=15)
    start = ON - timedelta(days=84)
    _score_series(partner, [90], start)
    for step in range(1, 7):
        services.scores_recompute(on_date=start + timedelta(days=14 * step))
    # Day 14: 56.67 under 90. Day 28: 90 is still in the window but day 14's alert too. Day 42 on: no high score left.
    assert _alerts(partner, AlertKind.SHARP_DROP) == [(start + timedelta(days=14), Decimal("90"))]
    alert = Alert.objects.get(kind=AlertKind.SHARP_DROP)
    assert alert.message.startswith("Loyalty score dropped 56.67 points in 14 days, to 33.33.")


def test_sharp_drop_ignores_a_peak_older_than_the_window():
    partner = _quiet_partner()
    ScoreModel.objects.create(version=1, is_active=True, alert_below=10, alert_drop_points=15)
    _score_series(partner, [90], ON - timedelta(days=31))
    _score_series(partner, [40], ON - timedelta(days=10))
    services.scores_recompute(on_date=ON)  # 33.33: 6.67 under the window's highest (40)
    assert not Alert.objects.exists()


def test_sharp_drop_fires_again_once_the_last_drop_alert_left_the_window():
    partner = _quiet_partner()
    ScoreModel.objects.create(version=1, is_active=True, alert_below=10, alert_drop_points=15)
    first = ON - timedelta(days=45)
    _score_series(partner, [90], first - timedelta(days=1))
    services.scores_recompute(on_date=first)  # drop alert
    _score_series(partner, [85], first + timedelta(days=10))  # back up
    services.scores_recompute(on_date=first + timedelta(days=30))  # dropped again, but alerted 30 days ago
    assert len(_alerts(partner, AlertKind.SHARP_DROP)) == 1
    services.scores_recompute(on_date=ON)  # 45 days on: day 30 was no alert, 85 is 35 days old
    assert len(_alerts(partner, AlertKind.SHARP_DROP)) == 1
    _score_series(partner, [80], ON + timedelta(days=5))
    services.scores_recompute(on_date=ON + timedelta(days=20))  # 31 days after the alert: a new fall
    assert _alerts(partner, AlertKind.SHARP_DROP) == [(first, Decimal("90")), (ON + timedelta(days=20), Decimal("80"))]
