"""Celery tasks of incentives: a few lines each over `services` and `notifications`."""

from celery import shared_task

from core.tasks import RETRY, ChannelTask

from . import notifications, services


@shared_task(base=ChannelTask)
def close_ended_periods():
    """Beat (nightly): close every ended period; recalculate closed ones whose sales changed (adjustments)."""
    return len(services.periods_close_due())


@shared_task(base=ChannelTask)
def close_period(*, period_id, user_id=None):
    """The manager's "close period" button, run off the request."""
    from django.contrib.auth import get_user_model

    from .models import ProgramPeriod

    period = ProgramPeriod.objects.get(pk=period_id)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return len(services.period_close(period=period, by=user).created)


@shared_task(base=ChannelTask)
def expire_points():
    """Beat (nightly): expire points lots whose date has come."""
    return services.points_expire()


@shared_task(base=ChannelTask, **RETRY)
def notify_tier_change(*, tier_change_id):
    notifications.tier_changed(tier_change_id=tier_change_id)
