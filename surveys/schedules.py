"""The beat schedules of the feedback loop, stored by django-celery-beat (editable in admin).

Created after migrate when missing; an existing schedule, possibly edited by an admin, is kept.
"""

SCHEDULES = {
    # name: (task, minutes between runs)
    "Surveys: open due waves and pulse surveys": ("surveys.tasks.open_due_waves", 15),
    "Surveys: send reminders": ("surveys.tasks.send_survey_reminders", 60),
}


def ensure_schedules(**kwargs):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (task, minutes) in SCHEDULES.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period=IntervalSchedule.MINUTES)
        PeriodicTask.objects.create(name=name, task=task, interval=interval)
