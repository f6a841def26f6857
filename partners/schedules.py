"""The beat schedule of partners, stored by django-celery-beat (editable in admin).

Created after migrate when missing; an existing schedule, possibly edited by an admin, is kept.
"""

SCHEDULES = {
    # name: (task, crontab minute, crontab hour)
    "Partners: purge idempotency keys": ("partners.tasks.purge_idempotency_keys", "15", "4"),
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
