from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """What every app shares and no app owns. Its `ready()` creates the registered beat schedules
    after every migrate (core.schedules); apps register theirs in their own `ready()`."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from .schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="core.ensure_schedules")
