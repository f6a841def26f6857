"""Celery tasks of incentives: a few lines each over `services` and `notifications`."""

from celery import shared_task
from django_scopes import scopes_disabled

from . import notifications, services

RETRY = {"autoretry_for": (ConnectionError, OSError), "retry_backoff": True, "max_retries": 5}


@shared_task
def close_ended_periods():
    """Beat (nightly): close every ended period; recalculate closed ones whose sales changed (adjustments)."""
    with scopes_disabled():
        return len(services.periods_close_due())


@shared_task
def close_period(*, period_id, user_id=None):
    """The manager's "close period" button, run off the request."""
    from django.contrib.auth import get_user_model

    from .models import ProgramPeriod

    with scopes_disabled():
        period = ProgramPeriod.objects.get(pk=period_id)
        user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        return len(services.period_close(period=period, by=user).created)


@shared_task
def expire_points():
    """Beat (nightly): expire points lots whose date has come."""
    with scopes_disabled():
        return services.points_expire()


@shared_task(**RETRY)
def notify_tier_change(*, tier_change_id):
    with scopes_disabled():
        notifications.tier_changed(tier_change_id=tier_change_id)
