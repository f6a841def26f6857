"""The beat schedules of the feedback loop, stored by django-celery-beat (editable in admin).

Registered in the app's `ready()`; `core.schedules.ensure_schedules` creates them after migrate.
"""

SCHEDULES = {
    # name: (task, minutes between runs)
    "Surveys: open due waves and pulse surveys": ("surveys.tasks.open_due_waves", 15),
    "Surveys: send reminders": ("surveys.tasks.send_survey_reminders", 60),
}
