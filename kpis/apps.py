from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = _("KPIs and loyalty score")

    def ready(self):
        from sales.signals import rollups_changed

        from .schedules import ensure_schedules
        from .tasks import refresh_channel_cube_after_import

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="kpis.ensure_schedules")
        rollups_changed.connect(refresh_channel_cube_after_import, dispatch_uid="kpis.refresh_channel_cube_after_import")
