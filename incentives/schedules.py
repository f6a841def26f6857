"""The beat schedules of incentives, stored by django-celery-beat (editable in admin).

Registered in the app's `ready()`; `core.schedules.ensure_schedules` creates them after migrate.
"""

SCHEDULES = {
    # name: (task, crontab minute, crontab hour)
    "Incentives: close ended periods": ("incentives.tasks.close_ended_periods", "30", "3"),
    "Incentives: expire points": ("incentives.tasks.expire_points", "45", "3"),
}
