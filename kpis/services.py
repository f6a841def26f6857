"""Every write of kpis: the loyalty-score recompute, its lock, alerts and score-model versions.

Public functions (keyword-only):

- ``scores_recompute(*, on_date, partner_ids=None, chunk=None, progress=None) -> RecomputeResult``
  the whole run under the lock: snapshots (upsert), alerts, then tier re-evaluation when
  ``on_date`` is today. Raises ``RecomputeLocked`` when another run holds the lock.
- ``score_chunk_recompute(*, on_date, first_id=None, last_id=None, partner_ids=None, model=None)
  -> ChunkResult`` one chunk (partner id range) without the lock; the nightly chord's unit of work.
- ``scores_finish(*, on_date) -> list`` the step after every chunk: the day's channel figures
  (``channel_day_refresh(*, on_date)``, stored in `ChannelDay`), then tier re-evaluation.
- ``chunk_ranges(*, on_date, size, partner_ids=None) -> list[tuple[int, int]]`` id ranges of chunks.
- ``recompute_lock_acquire() -> str | None`` / ``recompute_lock_release(*, token) -> bool``.
- ``score_model_current() -> ScoreModel`` the active version (creates v1 with the code's defaults
  when no version exists at all).
- ``score_model_activate(*, score_model) -> ScoreModel`` / ``score_model_copy(*, score_model) -> ScoreModel``.
- ``alert_acknowledge(*, alert, user) -> Alert``.
- ``channel_cube_refresh(*, today=None) -> ChannelCube`` rebuild the overview's channel cube
  (`kpis.cube`) from the tables, in one transaction; ``channel_cube_ensure`` builds it if it never was.

The bulk writes (snapshot upsert, alert insert, cube cells) are `kpis.fastpaths`: a PostgreSQL
statement and its ORM fallback each; nothing here reads the database vendor.
"""

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scopes_disabled

from core.tasks import enqueue_after_commit
from incentives.services import audit, state_of
from partners.models import Partner

from . import cube, fastpaths, scoring, selectors
from . import definitions as kpi
from .models import Alert, AlertKind, ChannelCube, ChannelDay, ChannelMonth, PartnerSet, ScoreModel, ScoreSnapshot
from .scoring import gettext

LOCK_KEY = "kpis:scores-recompute-lock"


class RecomputeLocked(ValidationError):
    """Another recompute holds the lock; this one did nothing."""


@dataclass
class ChunkResult:
    scores: dict = field(default_factory=dict)  # {partner_id: Decimal}
    alert_ids: list = field(default_factory=list)


@dataclass
class RecomputeResult:
    on_date: object
    snapshots: int = 0
    alerts: int = 0
    tier_changes: int = 0
    chunks: int = 0


# --- Lock ----------------------------------------------------------------------------------------


def recompute_lock_acquire():
    """A token when the lock was free, None when a run holds it.

    The lock is a cache key added atomically (SET NX on Redis, shared by every worker; in-process
    without Redis, which is enough where tasks run eagerly). It expires after
    KPIS_LOCK_SECONDS so a crashed run cannot block the next night for ever.
    """
    token = uuid.uuid4().hex
    timeout = getattr(settings, "KPIS_LOCK_SECONDS", 3 * 3600)
    return token if cache.add(LOCK_KEY, token, timeout=timeout) else None


def recompute_lock_release(*, token):
    """True when the lock was this token's and is now free; a lock another run holds is left alone.

    get-then-delete is not atomic, but only a run whose lock expired mid-way could lose its key to another.
    """
    if cache.get(LOCK_KEY) != token:
        return False
    cache.delete(LOCK_KEY)
    return True


# --- Score model -----------------------------------------------------------------------------------


def score_model_current():
    model = ScoreModel.objects.active().first()
    if model is not None:
        return model
    if ScoreModel.objects.exists():
        raise ValidationError(_("No score model is active: activate a version in the admin."))
    with transaction.atomic():
        return ScoreModel.objects.create(version=1, name=gettext("Default"), is_active=True, activated_at=timezone.now())


RECIPE_FIELDS = ("weights", "parameters", "healthy_min", "watch_min", "alert_below", "alert_drop_points", "alert_drop_days")
SCORE_MODEL_FIELDS = ("version", "name", "notes", *RECIPE_FIELDS)
SCORE_MODEL_STATE = ("version", "name", "is_active", *RECIPE_FIELDS)


def _audit(*, by, action, score_model, before=None):
    audit(actor=by, action=action, obj=score_model, before=before, after=state_of(score_model, SCORE_MODEL_STATE))


@transaction.atomic
def score_model_save(*, score_model=None, by=None, **fields):
    """Create a score model version, or change one; the recipe of a version that scored snapshots is
    frozen, so every stored score stays explainable by the recipe that made it."""
    unknown = set(fields) - set(SCORE_MODEL_FIELDS)
    if unknown:
        raise TypeError(f"Unknown score model fields: {sorted(unknown)}")
    before = None
    if score_model is None or score_model.pk is None:
        score_model = ScoreModel()
    else:
        score_model = ScoreModel.objects.select_for_update().get(pk=score_model.pk)
        before = state_of(score_model, SCORE_MODEL_STATE)
        if score_model.is_used and any(
            fields.get(name, getattr(score_model, name)) != getattr(score_model, name) for name in RECIPE_FIELDS
        ):
            raise ValidationError(_("This version has scored partners, so its recipe cannot change: copy it as a new version."))
    for name, value in fields.items():
        setattr(score_model, name, value)
    score_model.full_clean()
    score_model.save()
    _audit(by=by, action="score_model_create" if before is None else "score_model_update", score_model=score_model, before=before)
    return score_model


@transaction.atomic
def score_model_delete(*, score_model, by=None):
    """Delete a version that never scored anyone and is not the active one."""
    if score_model.is_active or score_model.is_used:
        raise ValidationError(_("Only an inactive version that never scored a partner can be deleted."))
    audit(actor=by, action="score_model_delete", obj=score_model, before=state_of(score_model, SCORE_MODEL_STATE))
    score_model.delete()


@transaction.atomic
def score_model_activate(*, score_model, by=None):
    score_model.full_clean()
    before = state_of(score_model, SCORE_MODEL_STATE)
    ScoreModel.objects.filter(is_active=True).exclude(pk=score_model.pk).update(is_active=False)
    score_model.is_active = True
    score_model.activated_at = timezone.now()
    score_model.save(update_fields=["is_active", "activated_at"])
    _audit(by=by, action="score_model_activate", score_model=score_model, before=before)
    return score_model


@transaction.atomic
def score_model_copy(*, score_model, by=None):
    """A new inactive version with the same recipe, to edit without changing past snapshots' version."""
    latest = ScoreModel.objects.aggregate(v=Max("version"))["v"] or 0
    copy = ScoreModel.objects.create(
        version=latest + 1,
        name=score_model.name,
        is_active=False,
        notes=score_model.notes,
        **{name: getattr(score_model, name) for name in RECIPE_FIELDS},
    )
    _audit(by=by, action="score_model_copy", score_model=copy)
    return copy


# --- Recompute -------------------------------------------------------------------------------------


def _condition(first_id, last_id):
    return kpi.partner_q(id_range=(first_id, last_id)) if first_id is not None else kpi.EVERY


def chunk_ranges(*, on_date, size, partner_ids=None):
    """Inclusive (first id, last id) ranges of at most `size` partners in the channel; one query."""
    condition = kpi.partner_q(ids=partner_ids) if partner_ids is not None else kpi.EVERY
    ids = [row["id"] for row in kpi.partners_in_channel(on_date=on_date, condition=condition)]
    return [(ids[start], ids[min(start + size, len(ids)) - 1]) for start in range(0, len(ids), size)]


def score_chunk_recompute(*, on_date, first_id=None, last_id=None, partner_ids=None, model=None):
    """Score one chunk and write its snapshots (upsert) and alerts; 12 queries whatever its size."""
    model = model or score_model_current()
    condition = _condition(first_id, last_id)
    scores = scoring.compute_scores(on_date=on_date, model=model, condition=condition, partner_ids=partner_ids)
    result = ChunkResult(scores={pid: item.score for pid, item in scores.items()})
    if not scores:
        return result
    if partner_ids is not None:
        condition &= Q(partner_id__in=list(partner_ids))
    window_start = on_date - timedelta(days=model.alert_drop_days)
    # Scores only: a night reads alert_drop_days snapshots per partner, and decoding every one's
    # components JSON cost most of the run's time and memory (bench/kpis.py). The components of
    # the few snapshots an alert compares with are read afterwards, in one query.
    earlier = _earlier_scores(condition, on_date=on_date, window_start=window_start)
    raised = {
        (row["partner_id"], row["date"], row["kind"])
        for row in Alert.objects.filter(condition, date__gte=window_start, date__lte=on_date).values("partner_id", "date", "kind")
    }
    dropped = {pid for pid, day, kind in raised if kind == AlertKind.SHARP_DROP and day < on_date}
    now = timezone.now()
    with transaction.atomic():
        fastpaths.snapshots_write(scores, model=model, on_date=on_date, now=now)
        plans = [
            (item, plan)
            for pid, item in scores.items()
            for plan in _alert_plans(item, earlier.get(pid, []), raised, dropped, model=model, on_date=on_date, window_start=window_start)
        ]
        components = _reference_components(
            condition, [(item.partner_id, reference["date"]) for item, (_kind, reference) in plans if reference]
        )
        alerts = [_alert(item, kind, reference, components, model=model, on_date=on_date, now=now) for item, (kind, reference) in plans]
        result.alert_ids = fastpaths.alerts_write(alerts)
        if result.alert_ids and on_date >= timezone.localdate() - timedelta(days=1):
            from . import tasks

            for alert_id in result.alert_ids:
                enqueue_after_commit(tasks.notify_alert, alert_id=alert_id)
    return result


def _earlier_scores(condition, *, on_date, window_start):
    """{partner_id: [{partner_id, date, score}, oldest first]}: of the snapshots before `on_date`,
    the most recent one and the drop window's highest (every day it was reached); 2 queries.

    Those are all `_alert_plans` compares with, so a night reads about two rows per partner
    instead of alert_drop_days: the window's latest day and highest score per partner are
    aggregated in the database (an index-only scan of (date, partner, score)) and joined back to
    the window. A partner without a snapshot in the window gets its most recent older one, an index
    lookup on (partner, date), so a year of daily history is not read to find it.
    """
    fields = ("partner_id", "date", "score")
    window_sql, window_params = (
        ScoreSnapshot.objects.filter(condition, date__gte=window_start, date__lt=on_date).values(*fields).order_by().query.sql_with_params()
    )
    sql = f"""
        SELECT w.partner_id, w.date, w.score
        FROM ({window_sql}) w
        JOIN (SELECT partner_id, MAX(date) AS last, MAX(score) AS peak FROM ({window_sql}) x GROUP BY partner_id) a
            ON a.partner_id = w.partner_id
        WHERE w.date = a.last OR w.score = a.peak
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*window_params, *window_params])
        rows = [dict(zip(fields, row, strict=True)) for row in cursor.fetchall()]
    latest = ScoreSnapshot.objects.filter(partner_id=OuterRef("pk"), date__lt=on_date).order_by("-date").values("pk")[:1]
    previous = Partner.objects.filter(kpi.partner_q_to(condition, "id")).values(snapshot=Subquery(latest))
    rows += ScoreSnapshot.objects.filter(condition, pk__in=previous, date__lt=window_start).values(*fields).order_by()
    earlier = {}
    for row in sorted(rows, key=lambda row: row["date"]):
        row["date"] = kpi.as_date(row["date"])
        row["score"] = Decimal(str(row["score"]))
        earlier.setdefault(row["partner_id"], []).append(row)
    return earlier


def _alert_plans(item, earlier, raised, dropped, *, model, on_date, window_start):
    """[(kind, reference snapshot row or None)] of the alerts one fresh score raises; once per fall (docs/kpis.md, "Alerts").

    Below threshold: the score is under `alert_below` and the partner's most recent earlier
    snapshot, whatever its age, was not (or there is none): a partner that stays below is not
    alerted again however sparse its snapshots. Sharp drop: the score is more than
    `alert_drop_points` under the highest score of the drop window and no sharp-drop alert was
    raised in the window before the day. An alert already raised for the day and kind (a re-run)
    is not raised again.
    """
    plans = []
    pid = item.partner_id
    threshold = Decimal(model.alert_below)
    previous = earlier[-1] if earlier else None
    crossed = item.score < threshold and (previous is None or previous["score"] >= threshold)
    if crossed and (pid, on_date, AlertKind.BELOW_THRESHOLD) not in raised:
        plans.append((AlertKind.BELOW_THRESHOLD, previous))
    recent = [row for row in earlier if row["date"] >= window_start]
    if recent:
        peak = max(recent, key=lambda row: (row["score"], row["date"]))
        if (
            peak["score"] - item.score > model.alert_drop_points
            and pid not in dropped
            and (pid, on_date, AlertKind.SHARP_DROP) not in raised
        ):
            plans.append((AlertKind.SHARP_DROP, peak))
    return plans


def _reference_components(condition, pairs):
    """{(partner_id, date): components} of the given earlier snapshots; one query, none without pairs."""
    by_date = {}
    for pid, day in pairs:
        by_date.setdefault(day, set()).add(pid)
    if not by_date:
        return {}
    wanted = Q()
    for day, pids in by_date.items():
        wanted |= Q(date=day, partner_id__in=sorted(pids))
    rows = ScoreSnapshot.objects.filter(condition).filter(wanted).values_list("partner_id", "date", "components")
    return {(pid, day): components for pid, day, components in rows}


def _alert(item, kind, reference, components, *, model, on_date, now):
    """The Alert of one plan, with the words and the components that moved most since `reference`."""
    moves = scoring.moved_components(item.components, components[(item.partner_id, reference["date"])]) if reference else []
    if kind == AlertKind.BELOW_THRESHOLD:
        message = gettext("Loyalty score %(score)s is below %(threshold)s.") % {
            "score": item.score,
            "threshold": Decimal(model.alert_below),
        }
    else:
        message = gettext("Loyalty score dropped %(points)s points in %(days)s days, to %(score)s.") % {
            "points": reference["score"] - item.score,
            "days": (on_date - reference["date"]).days,
            "score": item.score,
        }
    if reference:
        message += " " + scoring.explain_change(score=item.score, previous_score=reference["score"], moves=moves) + "."
    return Alert(
        partner_id=item.partner_id,
        date=on_date,
        kind=kind,
        score=item.score,
        reference_score=reference["score"] if reference else None,
        message=message,
        components=moves,
        created_at=now,
    )


def channel_day_refresh(*, on_date):
    """Store the channel figures of `on_date` (`ChannelDay`) from its snapshots; 2 queries.

    Run after every chunk of a day is written (a chunk alone sees part of the channel), so the
    scorecard and the portal read one row instead of every partner's snapshot.
    """
    figures = selectors.channel_day_figures(on_date=on_date)
    fields = ["partners", "median_score", "score_sum", "bands", "histogram", "components"]
    ChannelDay.objects.bulk_create(
        [ChannelDay(date=on_date, computed_at=timezone.now(), **{name: figures[name] for name in fields})],
        update_conflicts=True,
        unique_fields=["date"],
        update_fields=[*fields, "computed_at"],
    )


def scores_finish(*, on_date):
    """The step after every chunk: the day's channel figures, then tier re-evaluation with every
    partner's latest score on or before `on_date`, only for today.

    Re-running a past day must not move today's tiers, so for an earlier `on_date` no tier moves.
    """
    from incentives.services import tiers_evaluate

    channel_day_refresh(on_date=on_date)
    if on_date != timezone.localdate():
        return []
    return tiers_evaluate(loyalty_scores=selectors.latest_scores(on_date=on_date), today=on_date)


def scores_recompute(*, on_date, partner_ids=None, chunk=None, progress=None):
    """Recompute the loyalty score of every partner in the channel (or of `partner_ids`) for `on_date`.

    Only data dated on or before `on_date` counts, so re-running a past day gives the same
    snapshots. With `chunk`, partners are scored `chunk` at a time (by id range), which equals the
    single run. `progress(done, total)` is called after each chunk. Raises RecomputeLocked when
    another run holds the lock.
    """
    if chunk is not None and chunk < 1:
        raise ValidationError({"chunk": _("The chunk size must be at least 1.")})
    token = recompute_lock_acquire()
    if token is None:
        raise RecomputeLocked(_("Another score recompute is running; try again when it has finished."))
    try:
        model = score_model_current()
        ranges = chunk_ranges(on_date=on_date, size=chunk, partner_ids=partner_ids) if chunk else [(None, None)]
        result = RecomputeResult(on_date=on_date, chunks=len(ranges))
        for index, (first_id, last_id) in enumerate(ranges, start=1):
            part = score_chunk_recompute(on_date=on_date, first_id=first_id, last_id=last_id, partner_ids=partner_ids, model=model)
            result.snapshots += len(part.scores)
            result.alerts += len(part.alert_ids)
            if progress is not None:
                progress(index, len(ranges))
        result.tier_changes = len(scores_finish(on_date=on_date))
        return result
    finally:
        recompute_lock_release(token=token)


# --- Alerts ------------------------------------------------------------------------------------------


def alert_acknowledge(*, alert, user):
    """Mark an alert as seen by a manager; acknowledging twice keeps the first."""
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(acknowledged_at=timezone.now(), acknowledged_by=user)
    alert.refresh_from_db()
    return alert


# --- The channel cube --------------------------------------------------------------------------------


def channel_cube_ensure(*, today=None):
    """Build the cube if it was never built (the first overview of a new install, page or API); later
    reads take the last build, which the schedule keeps fresh. One query when it exists."""
    if not ChannelCube.objects.filter(pk=1).exists():
        channel_cube_refresh(today=today)


def channel_cube_refresh(*, today=None):
    """Rebuild the channel cube (`kpis.cube`) from the tables as they are now; about 20 queries.

    The figures are read first, then every cell and set is replaced in one transaction that
    starts by locking the cube's state row, so two refreshes write one after the other and a
    reader sees one whole build, never half of one.
    """
    started = time.monotonic()
    today = today or timezone.localdate()
    with scopes_disabled():
        figures = cube.compute(today=today)
    sets = [PartnerSet(name=name, bits=bytes(bits)) for name, bits in figures.sets.items()]
    state = {
        "built_at": timezone.now(),
        "built_on": today,
        "first_month": figures.first_month,
        "last_month": figures.last_month,
        "partners": figures.partners,
        "cells": len(figures.cells),
    }
    with transaction.atomic():
        ChannelCube.objects.get_or_create(pk=1, defaults=state)
        ChannelCube.objects.select_for_update().get(pk=1)
        ChannelMonth.objects.all().delete()
        PartnerSet.objects.all().delete()
        fastpaths.cells_write(figures.cells)
        PartnerSet.objects.bulk_create(sets, batch_size=200)
        state["seconds"] = Decimal(str(round(time.monotonic() - started, 3)))
        ChannelCube.objects.filter(pk=1).update(**state)
    return ChannelCube.objects.get(pk=1)
