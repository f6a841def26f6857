"""The beat schedule of kpis, stored by django-celery-beat (editable in admin).

Registered in the app's `ready()`; `core.schedules.ensure_schedules` creates them after migrate.
"""

SCHEDULES = {
    # name: (task, crontab minute, crontab hour)
    "KPIs: nightly loyalty-score recompute": ("kpis.tasks.nightly_recompute", "0", "2"),
    "KPIs: channel overview figures refresh": ("kpis.tasks.refresh_channel_cube", "*/10", "*"),
}
