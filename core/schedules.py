"""The one schedule registry: every app's beat schedules, stored by django-celery-beat (editable in admin).

Each app declares its schedules in its own `schedules.py` and registers them in `AppConfig.ready()`
(`register_crontabs` for a time of day, `register_intervals` for "every N minutes"). After every
migrate, `ensure_schedules` creates the ones that are missing; an existing schedule, possibly edited
by an admin, is kept as it is.
"""

_crontabs = {}  # name: (task, crontab minute, crontab hour)
_intervals = {}  # name: (task, minutes between runs)


def register_crontabs(schedules):
    """Register {name: (task, minute, hour)}: a crontab in the project's time zone."""
    _crontabs.update(schedules)


def register_intervals(schedules):
    """Register {name: (task, minutes)}: a run every so many minutes."""
    _intervals.update(schedules)


def registered():
    """Every registered schedule name and its task."""
    return {name: spec[0] for name, spec in (_crontabs | _intervals).items()}


def ensure_schedules(**kwargs):
    """post_migrate: create each registered schedule that does not exist yet (by name)."""
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    existing = set(PeriodicTask.objects.filter(name__in=registered()).values_list("name", flat=True))
    for name, (task, minute, hour) in _crontabs.items():
        if name in existing:
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab)
    for name, (task, minutes) in _intervals.items():
        if name in existing:
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
        PeriodicTask.objects.create(name=name, task=task, interval=interval)
