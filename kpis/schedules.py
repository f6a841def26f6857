"""The beat schedule of kpis, stored by django-celery-beat (editable in admin).

Created after migrate when missing; an existing schedule, possibly edited by an admin, is kept.
"""

SCHEDULES = {
    # name: (task, crontab minute, crontab hour)
    "KPIs: nightly loyalty-score recompute": ("kpis.tasks.nightly_recompute", "0", "2"),
    "KPIs: channel overview figures refresh": ("kpis.tasks.refresh_channel_cube", "*/10", "*"),
}


def ensure_schedules(**kwargs):
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    for name, (task, minute, hour) in SCHEDULES.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone=settings.TIME_ZONE
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab)
