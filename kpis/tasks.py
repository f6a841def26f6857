"""Celery tasks of kpis: the nightly recompute as a chord of chunk tasks, the channel cube refresh, alert e-mails."""

import logging
from datetime import date

from celery import chord, group, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.tasks import RETRY, ChannelTask

from . import notifications, services
from .models import ScoreModel

logger = logging.getLogger(__name__)
CUBE_LOCK_KEY = "kpis:channel-cube-refresh"
CUBE_QUEUED_KEY = "kpis:channel-cube-refresh-queued"


@shared_task(base=ChannelTask)
def nightly_recompute(*, on_date=None):
    """Beat (02:00): take the lock, fan the partners out in id-range chunks, finish when all are done.

    A second run while one holds the lock is skipped (logged). The finishing task releases the lock;
    if a chunk fails for good the chord never reaches it, so `recompute_failed` (the finishing
    task's error callback) releases it instead and the next run need not wait KPIS_LOCK_SECONDS.
    """
    day = date.fromisoformat(on_date) if on_date else timezone.localdate()
    token = services.recompute_lock_acquire()
    if token is None:
        logger.warning("Loyalty-score recompute for %s skipped: another run holds the lock.", day)
        return "skipped"
    try:
        model = services.score_model_current()
        ranges = services.chunk_ranges(on_date=day, size=getattr(settings, "KPIS_CHUNK_SIZE", 1000))
        finish = finish_recompute.si(on_date=day.isoformat(), token=token)
        if not ranges:
            finish.delay()
            return 0
        chunks = (recompute_chunk.si(on_date=day.isoformat(), first_id=first, last_id=last, model_id=model.pk) for first, last in ranges)
        chord(group(chunks))(finish.on_error(recompute_failed.si(on_date=day.isoformat(), token=token)))
    except Exception:
        services.recompute_lock_release(token=token)
        raise
    return len(ranges)


@shared_task(base=ChannelTask, **RETRY)
def recompute_chunk(*, on_date, first_id, last_id, model_id=None):
    """Score the partners with ids first_id..last_id (an upsert: safe to retry).

    Every chunk of a run scores with the model version the run started with (`model_id`), so a
    version activated mid-run cannot make one night's snapshots differ from the single run. A
    chunk that raises is logged with its id range, so the partners whose figures broke can be found.
    """
    try:
        model = ScoreModel.objects.get(pk=model_id) if model_id is not None else None
        result = services.score_chunk_recompute(on_date=date.fromisoformat(on_date), first_id=first_id, last_id=last_id, model=model)
    except Exception as exc:
        logger.exception("Loyalty-score chunk of partners %s..%s for %s failed: %r", first_id, last_id, on_date, exc)
        raise
    return len(result.scores)


@shared_task(base=ChannelTask)
def finish_recompute(*, on_date, token):
    """After every chunk: re-evaluate tiers, then release the lock."""
    try:
        changes = len(services.scores_finish(on_date=date.fromisoformat(on_date)))
    finally:
        services.recompute_lock_release(token=token)
    refresh_channel_cube.delay()
    return changes


@shared_task(base=ChannelTask)
def refresh_channel_cube():
    """Rebuild the overview's channel cube: every 10 minutes (beat), after the nightly scores, after a
    sales import, and when a manager asks. A refresh that finds another one running is skipped (logged)."""
    cache.delete(CUBE_QUEUED_KEY)
    if not cache.add(CUBE_LOCK_KEY, "1", timeout=getattr(settings, "KPIS_CUBE_LOCK_SECONDS", 600)):
        logger.info("Channel cube refresh skipped: another refresh is running.")
        return "skipped"
    try:
        return services.channel_cube_refresh().cells
    finally:
        cache.delete(CUBE_LOCK_KEY)


@shared_task(base=ChannelTask)
def recompute_failed(*, on_date, token):
    """Error callback of the chord (a chunk or the finishing task failed): release this run's lock, never a newer run's."""
    released = services.recompute_lock_release(token=token)
    logger.error(
        "Loyalty-score recompute for %s failed, tiers were not re-evaluated; %s",
        on_date,
        "lock released." if released else "the lock was no longer this run's and was left alone.",
    )
    return released


@shared_task(base=ChannelTask, **RETRY)
def notify_alert(*, alert_id):
    notifications.alert_raised(alert_id=alert_id)


def _enqueue_refresh_after_commit():
    if cache.add(CUBE_QUEUED_KEY, "1", timeout=300):
        refresh_channel_cube.delay()


def refresh_channel_cube_after_import(sender, **kwargs):
    """Receiver of `sales.signals.rollups_changed`: refresh the cube once the import has committed.

    One commit callback per transaction however many batches the import rebuilt (a callback rolled
    back with its savepoint is gone from the list, so it is registered again), and one queued
    refresh until it starts.
    """
    connection = transaction.get_connection()
    pending = [callback for _savepoints, callback, _robust in connection.run_on_commit]
    if connection.in_atomic_block and _enqueue_refresh_after_commit in pending:
        return
    transaction.on_commit(_enqueue_refresh_after_commit)
