"""The nightly loyalty-score job as Celery runs it: eagerly in-process, from the beat schedule, and
fanned out in chunks through a real worker on Redis."""

import json
import logging
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from celery.signals import task_postrun
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config import celery_app
from incentives.models import TierRule
from kpis import services, tasks
from kpis.models import Alert, AlertKind, ScoreSnapshot
from partners.models import InteractionKind, PartnerStatus
from tests.cases.factories import CaseFactory
from tests.partners.factories import InteractionFactory, ManagerFactory, PartnerFactory, TierFactory
from tests.sales.factories import SalesMonthFactory

from .factories import ON, at, build_world

COMPONENTS = {"engagement": {"normalised": 80.0, "absent": False}, "growth": {"normalised": 70.0, "absent": False}}


def _snapshots(day):
    return {s.partner_id: (s.score, s.band, s.components) for s in ScoreSnapshot.objects.filter(date=day)}


def _alerts():
    return sorted(Alert.objects.values_list("partner_id", "date", "kind", "score", "reference_score", "message"))


def _earlier(partner, day, score):
    ScoreSnapshot.objects.create(
        partner=partner, date=day, score_model=services.score_model_current(), score=Decimal(score), band="watch", components=COMPONENTS
    )


# Eager (CELERY_TASK_ALWAYS_EAGER in test settings): the beat entry point does the whole night.


@pytest.mark.django_db
def test_the_nightly_task_scores_every_partner_in_the_channel_re_tiers_and_alerts(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    joined = today - timedelta(days=400)
    bronze, gold = TierFactory(rank=1, name="Bronze"), TierFactory(rank=2, name="Gold")
    TierRule.objects.create(tier=bronze)
    TierRule.objects.create(tier=gold, min_loyalty_score=35)
    quiet = PartnerFactory(tier=bronze, joined_on=joined)  # engagement 0, case load 0: 1000 / 30 = 33.33
    engaged = PartnerFactory(tier=bronze, joined_on=joined)  # one event: 3 of 30 points -> 10; 1200 / 30 = 40
    InteractionFactory(partner=engaged, kind=InteractionKind.EVENT_ATTENDED, occurred_at=at(today - timedelta(days=10)))
    falling = PartnerFactory(tier=bronze, joined_on=joined, account_manager=ManagerFactory(email="maria@vendor.test"))
    _earlier(falling, today - timedelta(days=1), 60)
    PartnerFactory(status=PartnerStatus.CHURNED, joined_on=joined)
    PartnerFactory(status=PartnerStatus.APPLICANT, joined_on=None)

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.nightly_recompute.delay()
    assert result.get() == 1  # one chunk of KPIS_CHUNK_SIZE (1000)

    first = _snapshots(today)
    assert {pid: score for pid, (score, _band, _components) in first.items()} == {
        quiet.pk: Decimal("33.33"),
        engaged.pk: Decimal("40.00"),
        falling.pk: Decimal("33.33"),
    }
    assert {band for _score, band, _components in first.values()} == {"at_risk"}
    engaged.refresh_from_db()
    quiet.refresh_from_db()
    assert (engaged.tier, quiet.tier) == (gold, bronze)
    kinds = {(pid, kind) for pid, _day, kind, *_rest in _alerts()}
    assert kinds == {
        (quiet.pk, AlertKind.BELOW_THRESHOLD),  # no earlier snapshot and below 50
        (engaged.pk, AlertKind.BELOW_THRESHOLD),
        (falling.pk, AlertKind.BELOW_THRESHOLD),  # 60 yesterday
        (falling.pk, AlertKind.SHARP_DROP),  # 26.67 points under 60
    }
    assert [message.to for message in mail.outbox] == [["maria@vendor.test"], ["maria@vendor.test"]]

    alerts = _alerts()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.nightly_recompute.delay().get() == 1
    assert ScoreSnapshot.objects.count() == 4  # 3 today + falling's yesterday: an upsert, no duplicate
    assert _snapshots(today) == first
    assert _alerts() == alerts
    assert len(mail.outbox) == 2
    assert services.recompute_lock_acquire() is not None  # released by the chord's last task


@pytest.mark.django_db
def test_the_nightly_task_skips_while_another_run_holds_the_lock(caplog):
    build_world(PartnerFactory(joined_on=date(2024, 1, 1)))
    token = services.recompute_lock_acquire()

    with caplog.at_level(logging.WARNING, logger="kpis.tasks"):
        result = tasks.nightly_recompute.delay(on_date=ON.isoformat())

    assert result.get() == "skipped"
    assert "Loyalty-score recompute for 2026-06-15 skipped: another run holds the lock." in caplog.messages
    assert not ScoreSnapshot.objects.exists()
    assert not Alert.objects.exists()
    assert cache.get(services.LOCK_KEY) == token  # the refused run left the holder's lock alone


@pytest.mark.django_db
def test_the_beat_schedule_exists_after_migrate_and_names_a_registered_task():
    entry = PeriodicTask.objects.get(name="KPIs: nightly loyalty-score recompute")

    assert entry.enabled
    assert (entry.crontab.minute, entry.crontab.hour, entry.crontab.day_of_week) == ("0", "2", "*")
    assert str(entry.crontab.timezone) == settings.TIME_ZONE
    assert json.loads(entry.kwargs) == {}  # no date: the task scores "today"
    celery_app.loader.import_default_modules()  # what a worker does at start-up: autodiscovery
    assert entry.task in celery_app.tasks


@pytest.mark.django_db
def test_the_channel_cube_refresh_runs_every_ten_minutes_after_migrate():
    entry = PeriodicTask.objects.get(name="KPIs: channel overview figures refresh")

    assert entry.enabled
    assert (entry.crontab.minute, entry.crontab.hour, entry.crontab.day_of_week) == ("*/10", "*", "*")
    celery_app.loader.import_default_modules()
    assert entry.task == "kpis.tasks.refresh_channel_cube"
    assert entry.task in celery_app.tasks


# A real worker: the beat task, its chunk tasks and the chord's finishing task cross Redis.


class WorkerRuns:
    """Records the tasks the worker ran (name, kwargs, thread); `finished` is set by the chord's last task."""

    def __init__(self):
        self.runs = []
        self.finished = threading.Event()

    def __call__(self, sender=None, kwargs=None, **extra):
        self.runs.append((sender.name, kwargs, threading.current_thread()))
        if sender.name == tasks.finish_recompute.name:
            self.finished.set()

    def chunks(self):
        return [(kwargs["first_id"], kwargs["last_id"]) for name, kwargs, _thread in self.runs if name == tasks.recompute_chunk.name]


def _five_partners():
    """Five partners with different figures, two of them falling from earlier scores."""
    partners = [build_world(PartnerFactory(joined_on=date(2024, 1, 1)))]
    for index in range(4):
        partner = PartnerFactory(joined_on=date(2024, 1, 1))
        SalesMonthFactory(partner=partner, month=date(2025, 9 + index, 1), revenue=Decimal(40000 * (index + 1)))
        for _ in range(index):
            InteractionFactory(partner=partner, kind=InteractionKind.TRAINING_COMPLETED, occurred_at=at(date(2026, 5, 20)))
        partners.append(partner)
    CaseFactory(partner=partners[2], opened_at=at(date(2026, 6, 1)))
    _earlier(partners[1], ON - timedelta(days=3), 90)
    _earlier(partners[3], ON - timedelta(days=100), 75)
    return partners


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_chunked_run_through_a_real_worker_equals_the_single_run(redis_worker, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    settings.KPIS_CHUNK_SIZE = 2
    ids = sorted(partner.pk for partner in _five_partners())
    runs = WorkerRuns()
    task_postrun.connect(runs, weak=False)
    try:
        result = tasks.nightly_recompute.delay(on_date=ON.isoformat())
        assert result.get(timeout=30) == 3
        assert runs.finished.wait(timeout=30)
    finally:
        task_postrun.disconnect(runs)

    assert type(result.backend).__name__ == "RedisBackend"
    assert runs.chunks() == [(ids[0], ids[1]), (ids[2], ids[3]), (ids[4], ids[4])]
    assert threading.current_thread() not in {thread for _name, _kwargs, thread in runs.runs}
    chunked, chunked_alerts = _snapshots(ON), _alerts()
    assert sorted(chunked) == ids
    assert len({score for score, _band, _components in chunked.values()}) == 5
    assert {(pid, kind) for pid, _day, kind, *_rest in chunked_alerts} >= {(ids[1], AlertKind.SHARP_DROP)}
    assert cache.get(services.LOCK_KEY) is None  # released by finish_recompute

    ScoreSnapshot.objects.filter(date=ON).delete()
    Alert.objects.all().delete()
    single = services.scores_recompute(on_date=ON)
    assert (single.snapshots, single.chunks) == (5, 1)
    assert _snapshots(ON) == chunked
    assert _alerts() == chunked_alerts

    # The lock was released: a second run through the worker starts, and upserts the same snapshots.
    again = WorkerRuns()
    task_postrun.connect(again, weak=False)
    try:
        assert tasks.nightly_recompute.delay(on_date=ON.isoformat()).get(timeout=30) == 3
        assert again.finished.wait(timeout=30)
    finally:
        task_postrun.disconnect(again)
    assert ScoreSnapshot.objects.filter(date=ON).count() == 5
    assert _snapshots(ON) == chunked
    assert _alerts() == chunked_alerts


class ErrbackRuns:
    """Set when the chord's error callback (`recompute_failed`) has run in the worker."""

    def __init__(self):
        self.done = threading.Event()
        self.retval = None

    def __call__(self, sender=None, retval=None, **extra):
        if sender.name == tasks.recompute_failed.name:
            self.retval = retval
            self.done.set()


def _fail_chunk(monkeypatch, failing_first_id, before_raise=None):
    """Make the chunk starting at `failing_first_id` raise inside the worker thread (a module attribute the task reads)."""
    real = services.score_chunk_recompute

    def score_chunk_recompute(*, first_id=None, **kwargs):
        if first_id == failing_first_id:
            if before_raise is not None:
                before_raise()
            raise ValueError("broken figures")
        return real(first_id=first_id, **kwargs)

    monkeypatch.setattr(services, "score_chunk_recompute", score_chunk_recompute)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_failed_chunk_releases_the_lock_through_the_chord_error_callback(redis_worker, settings, monkeypatch, caplog):
    settings.KPIS_CHUNK_SIZE = 2
    ids = sorted(partner.pk for partner in _five_partners())
    _fail_chunk(monkeypatch, ids[2])
    runs, errback = WorkerRuns(), ErrbackRuns()
    task_postrun.connect(runs, weak=False)
    task_postrun.connect(errback, weak=False)
    try:
        with caplog.at_level(logging.ERROR, logger="kpis.tasks"):
            assert tasks.nightly_recompute.delay(on_date=ON.isoformat()).get(timeout=30) == 3
            assert errback.done.wait(timeout=30)
    finally:
        task_postrun.disconnect(runs)
        task_postrun.disconnect(errback)

    assert errback.retval is True
    assert not runs.finished.is_set()  # the chord's finishing task never ran
    assert cache.get(services.LOCK_KEY) is None
    assert f"Loyalty-score chunk of partners {ids[2]}..{ids[3]} for 2026-06-15 failed: ValueError('broken figures')" in caplog.messages
    assert "Loyalty-score recompute for 2026-06-15 failed, tiers were not re-evaluated; lock released." in caplog.messages
    # The two other chunks ran to the end and kept their snapshots; the failing chunk wrote none.
    assert sorted(_snapshots(ON)) == [ids[0], ids[1], ids[4]]

    # The next run is not refused: it starts at once and, the chunk fixed, scores everyone.
    monkeypatch.undo()
    again = WorkerRuns()
    task_postrun.connect(again, weak=False)
    try:
        assert tasks.nightly_recompute.delay(on_date=ON.isoformat()).get(timeout=30) == 3
        assert again.finished.wait(timeout=30)
    finally:
        task_postrun.disconnect(again)
    assert sorted(_snapshots(ON)) == ids
    assert cache.get(services.LOCK_KEY) is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_chord_error_callback_leaves_a_newer_runs_lock_alone(redis_worker, settings, monkeypatch, caplog):
    settings.KPIS_CHUNK_SIZE = 2
    ids = sorted(partner.pk for partner in _five_partners())
    newer = []

    def lock_expires_and_another_run_takes_it():
        cache.delete(services.LOCK_KEY)
        newer.append(services.recompute_lock_acquire())

    _fail_chunk(monkeypatch, ids[0], before_raise=lock_expires_and_another_run_takes_it)
    errback = ErrbackRuns()
    task_postrun.connect(errback, weak=False)
    try:
        with caplog.at_level(logging.ERROR, logger="kpis.tasks"):
            assert tasks.nightly_recompute.delay(on_date=ON.isoformat()).get(timeout=30) == 3
            assert errback.done.wait(timeout=30)
    finally:
        task_postrun.disconnect(errback)

    assert errback.retval is False
    assert newer[0] is not None
    assert cache.get(services.LOCK_KEY) == newer[0]
    assert (
        "Loyalty-score recompute for 2026-06-15 failed, tiers were not re-evaluated; "
        "the lock was no longer this run's and was left alone." in caplog.messages
    )
    assert sorted(_snapshots(ON)) == [ids[2], ids[3], ids[4]]
    cache.delete(services.LOCK_KEY)


@pytest.mark.django_db
def test_a_failing_chunk_in_eager_mode_releases_the_lock_and_names_its_range(settings, monkeypatch, caplog):
    settings.KPIS_CHUNK_SIZE = 2
    ids = sorted(partner.pk for partner in _five_partners())
    _fail_chunk(monkeypatch, ids[2])

    with caplog.at_level(logging.ERROR, logger="kpis.tasks"), pytest.raises(ValueError, match="broken figures"):
        tasks.nightly_recompute.delay(on_date=ON.isoformat())

    assert f"Loyalty-score chunk of partners {ids[2]}..{ids[3]} for 2026-06-15 failed: ValueError('broken figures')" in caplog.messages
    assert cache.get(services.LOCK_KEY) is None
    assert services.recompute_lock_release(token="another-run") is False
