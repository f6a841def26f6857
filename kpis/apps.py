from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = _("KPIs and loyalty score")

    def ready(self):
        from core.schedules import register_crontabs
        from incentives.providers import register_score_provider
        from sales.signals import rollups_changed

        from .schedules import SCHEDULES
        from .selectors import latest_scores
        from .tasks import refresh_channel_cube_after_import

        register_crontabs(SCHEDULES)
        register_score_provider(latest_scores)
        rollups_changed.connect(refresh_channel_cube_after_import, dispatch_uid="kpis.refresh_channel_cube_after_import")
