"""The beat schedule of partners, stored by django-celery-beat (editable in admin).

Registered in the app's `ready()`; `core.schedules.ensure_schedules` creates them after migrate.
"""

SCHEDULES = {
    # name: (task, crontab minute, crontab hour)
    "Partners: purge idempotency keys": ("partners.tasks.purge_idempotency_keys", "15", "4"),
}
